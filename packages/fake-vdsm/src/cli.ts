#!/usr/bin/env node
/**
 * `fake-vdsm serve`: a fake VDSM storage host (or several) as a process. When
 * it is ready it prints exactly one JSON line on stdout,
 *
 *   {"event":"ready","stomp":{"host":"127.0.0.1","port":N},"ws":"ws://...","control":null,"state":"DIR",
 *    "hosts":[{"id":1,"stomp":{"host":"127.0.0.1","port":N},"ws":"ws://..."}, ...]}
 *
 * and nothing else ever goes to stdout: logs are JSON lines on stderr.
 * SIGINT or SIGTERM close every connection, let go of running jobs without
 * changing their persisted state (a restart on the same `--state` recovers
 * them as after a crash) and exit 0; a failure to start exits 1 with the
 * reason on stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { readFile } from 'node:fs/promises';
import { startFakeVdsm } from './index.js';
import type { FakeVdsm } from './index.js';
import { MAX_HOST_ID } from './host/host-roster.js';
import { LOG_LEVELS, createStderrLogger } from './logger.js';
import type { LogLevel, Logger } from './logger.js';

interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly state?: string;
  readonly pkiDir?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCa?: string;
  readonly tlsOnly?: boolean;
  readonly hosts?: number;
  readonly fixture?: string;
  readonly timeScale?: number;
  readonly wipeRate?: number;
  readonly logLevel: LogLevel;
}

const MiB = 1024 * 1024;

/** After a signal, give up on a clean close after this long and exit anyway. */
const SHUTDOWN_GRACE_MS = 5000;

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535 (0 picks a free one)');
  return port;
}

function parseHostCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > MAX_HOST_ID) throw new InvalidArgumentError(`expected a number of hosts 1-${MAX_HOST_ID}`);
  return count;
}

/** A finite number greater than 0 (`0.01`, `1e-3`, `250`). */
function parsePositive(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return number;
}

const program = new Command('fake-vdsm')
  .description('A fake VDSM host: JSON-RPC over STOMP on TCP, mutual TLS and WebSocket, for tests and CI.')
  .showHelpAfterError();

program
  .command('serve')
  .description('Serve until SIGINT/SIGTERM; print one JSON "ready" line on stdout when listening.')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, 54321)
  .option('--state <dir>', 'state directory, created if missing (default: a temporary one, removed on exit)')
  .addOption(new Option('--pki-dir <dir>', 'TLS credentials in VDSM layout (keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem)').conflicts(['tlsCert', 'tlsKey', 'tlsCa']))
  .option('--tls-cert <file>', 'server certificate (PEM); needs --tls-key and --tls-ca')
  .option('--tls-key <file>', 'server private key (PEM)')
  .option('--tls-ca <file>', 'CA that client certificates must be signed by (PEM)')
  .option('--tls-only', 'refuse plain TCP, as a real host does (otherwise one port serves plain and TLS)')
  .option('--hosts <n>', 'hosts to serve, each on its own port (--port, --port+1, ...; all free ports with --port 0) (default: the hosts of the state, at least 1)', parseHostCount)
  .option('--fixture <file>', 'fixture JSON that seeds a fresh state directory (default: the built-in default fixture; see docs/fixture.md)')
  .option('--time-scale <factor>', 'run storage time this much faster or slower: 0.01 makes every wait 100x shorter (default 1)', parsePositive)
  .option('--wipe-rate <MiBps>', 'postZero wipe pace on block domains, MiB of volume size per second (default 100)', parsePositive)
  .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(LOG_LEVELS).default('info'))
  .action(async (options: ServeOptions) => {
    await serve(options);
  });

async function serve(options: ServeOptions): Promise<void> {
  const logger = createStderrLogger(options.logLevel);
  let vdsm: FakeVdsm;
  try {
    vdsm = await startFakeVdsm({
      host: options.host,
      port: options.port,
      stateDir: options.state,
      pkiDir: options.pkiDir,
      tls: await tlsFromFiles(options),
      tlsOnly: options.tlsOnly ?? false,
      hosts: options.hosts,
      fixture: options.fixture,
      timeScale: options.timeScale,
      wipeBytesPerSecond: options.wipeRate === undefined ? undefined : options.wipeRate * MiB,
      logger,
    });
  } catch (error) {
    logger.error({ err: error instanceof Error ? error.message : String(error) }, 'fake-vdsm failed to start');
    process.exitCode = 1;
    return;
  }
  // Handlers first: until a listener exists SIGTERM keeps its default action (die at once), and a
  // parent may send it the moment it reads the line, before this process runs its next statement.
  stopOnSignals(vdsm, logger);
  process.stdout.write(`${JSON.stringify(vdsm.ready)}\n`);
}

/** Reads `--tls-cert/--tls-key/--tls-ca`; all three or none. */
async function tlsFromFiles(options: ServeOptions): Promise<TlsCredentials | undefined> {
  const files = [options.tlsCert, options.tlsKey, options.tlsCa];
  if (files.every((file) => file === undefined)) return undefined;
  if (files.some((file) => file === undefined)) throw new Error('--tls-cert, --tls-key and --tls-ca go together');
  const [cert, key, ca] = await Promise.all(files.map((file) => readFile(file as string)));
  return { cert: cert as Buffer, key: key as Buffer, ca: ca as Buffer };
}

function stopOnSignals(vdsm: FakeVdsm, logger: Logger): void {
  const stop = (signal: NodeJS.Signals): void => {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    logger.info({ signal }, 'Stopping');
    // Normally everything is closed and the process simply ends; this covers a bug that leaves a handle open.
    setTimeout(() => {
      logger.warn({}, 'Shutdown did not finish in time; exiting anyway');
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
    vdsm.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'Error while stopping');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await program.parseAsync(process.argv);
