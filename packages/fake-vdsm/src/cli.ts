#!/usr/bin/env node
/**
 * `fake-vdsm serve`: a fake VDSM storage host (or several) as a process. When
 * it is ready it prints exactly one JSON line on stdout,
 *
 *   {"event":"ready","stomp":{"host":"127.0.0.1","port":N},"ws":"ws://...","control":"http://127.0.0.1:N","state":"DIR",
 *    "hosts":[{"id":1,"stomp":{"host":"127.0.0.1","port":N},"ws":"ws://..."}, ...]}
 *
 * and nothing else ever goes to stdout: logs are JSON lines on stderr.
 * SIGINT or SIGTERM close every connection, let go of running jobs without
 * changing their persisted state (a restart on the same `--state` recovers
 * them as after a crash) and exit 0; a failure to start exits 1 with the
 * reason on stderr.
 *
 * The other subcommands drive a running fake through its control API
 * (docs/faults.md): `fault add|list|rm|log`, `inspect`, `reset`, `clock
 * advance`, `crash`, `restart`, `invariants`, `calls`, `metrics`. They take `--control URL`
 * (default: $FAKE_VDSM_CONTROL) and `--token T` (default:
 * $FAKE_VDSM_CONTROL_TOKEN), print the answer as JSON on stdout, and exit 1
 * with the error on stderr.
 */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { readFile } from 'node:fs/promises';
import { ManualClock } from '@vdsm-kit/client/clock';
import { startFakeVdsm } from './index.js';
import type { FakeVdsm } from './index.js';
import { MAX_HOST_ID } from './host/host-roster.js';
import { LOG_LEVELS, createStderrLogger } from './logger.js';
import type { LogLevel, Logger } from './logger.js';
import { ControlClient } from './control/control-client.js';
import { MAX_CALL_LOG_CAPACITY } from './control/call-log.js';
import { readScenarioFile } from './control/scenario.js';
import type { Scenario } from './control/scenario.js';
import { formatCallLines } from './control/call-lines.js';

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
  readonly maxTasks?: number;
  readonly jobAutodelete?: number;
  readonly frameTimeout?: number;
  readonly disconnectLinger?: number;
  readonly maxQueuedReplies?: number;
  readonly maxBufferedFrames?: number;
  readonly logLevel: LogLevel;
  readonly scenario?: string;
  readonly seed?: number;
  readonly controlPort: number;
  readonly controlToken?: string;
  readonly manualClock?: boolean;
  readonly callLog?: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

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

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seed)) throw new InvalidArgumentError('expected a seed, an integer >= 0');
  return seed;
}

function parseCallLogSize(value: string): number {
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > MAX_CALL_LOG_CAPACITY) throw new InvalidArgumentError(`expected a number of calls 1-${MAX_CALL_LOG_CAPACITY}`);
  return size;
}

/** A finite number greater than 0 (`0.01`, `1e-3`, `250`). */
function parsePositive(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return number;
}

/** Any finite number (`-1`, `0`, `3600`, `0.5`). */
function parseFiniteNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('expected a number');
  return number;
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('expected an integer of at least 1');
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
  .option('--max-tasks <n>', 'storage tasks that may wait for a worker, VDSM\'s [irs] max_tasks; one more is refused with 405 (default 500)', parsePositiveInteger)
  .option('--job-autodelete <s>', 'an ended SDM host job stays listed by Host.getJobs this long, seconds of storage time, VDSM\'s [jobs] autodelete_delay; negative: for good (default 3600)', parseFiniteNumber)
  .option('--frame-timeout <ms>', 'a STOMP frame not finished this long after its first byte gets an ERROR and a close (default 60000)', parsePositive)
  .option('--disconnect-linger <ms>', 'after a DISCONNECT with receipt, close the connection if the client has not within this long (default 10000)', parsePositive)
  .option('--max-queued-replies <KiB>', 'stop reading a connection while this much of its replies waits to be written (default 1024)', parsePositive)
  .option('--max-buffered-frames <MiB>', 'unfinished frames of all connections together; a frame going over gets an ERROR (default 128)', parsePositive)
  .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(LOG_LEVELS).default('info'))
  .addOption(new Option('--scenario <file>', 'scenario JSON: {fixture?, faults?, seed?} (docs/faults.md)').conflicts('fixture'))
  .option('--seed <n>', 'seed of the fault engine PRNG (overrides the scenario\'s; default: random, logged)', parseSeed)
  .option('--control-port <port>', 'control API port on 127.0.0.1 (0 picks a free one; the URL is the ready line\'s "control")', parsePort, 0)
  .option('--control-token <token>', 'bearer token the control API requires')
  .option('--call-log <n>', 'JSON-RPC calls the call log keeps (GET /calls; default 1000)', parseCallLogSize)
  .addOption(new Option('--manual-clock', 'time moves only by `fake-vdsm clock advance` (storage and protocol alike)').conflicts('timeScale'))
  .action(async (options: ServeOptions) => {
    await serve(options);
  });

async function serve(options: ServeOptions): Promise<void> {
  const logger = createStderrLogger(options.logLevel);
  let vdsm: FakeVdsm;
  try {
    const scenario: Scenario | undefined = options.scenario === undefined ? undefined : await readScenarioFile(options.scenario);
    vdsm = await startFakeVdsm({
      host: options.host,
      port: options.port,
      stateDir: options.state,
      pkiDir: options.pkiDir,
      tls: await tlsFromFiles(options),
      tlsOnly: options.tlsOnly ?? false,
      hosts: options.hosts,
      fixture: scenario?.fixture ?? options.fixture,
      timeScale: options.timeScale,
      ...(options.manualClock ? { clock: new ManualClock(Date.now()) } : {}),
      wipeBytesPerSecond: options.wipeRate === undefined ? undefined : options.wipeRate * MiB,
      maxTasks: options.maxTasks,
      ...(options.jobAutodelete === undefined ? {} : { jobAutodeleteMs: options.jobAutodelete * 1000 }),
      connectionLimits: {
        frameTimeoutMs: options.frameTimeout,
        disconnectLingerMs: options.disconnectLinger,
        maxQueuedReplyBytes: options.maxQueuedReplies === undefined ? undefined : options.maxQueuedReplies * KiB,
        maxBufferedFrameBytes: options.maxBufferedFrames === undefined ? undefined : options.maxBufferedFrames * MiB,
      },
      logger,
      controlPort: options.controlPort,
      controlToken: options.controlToken,
      // A crash (POST /crash, a {crash: true} fault) kills this process; a supervisor restarts it on the same --state.
      crashExitsProcess: true,
      ...(options.callLog === undefined ? {} : { callLogCapacity: options.callLog }),
      // The same seed fires the same faults (--seed wins over the scenario's).
      ...(options.seed ?? scenario?.seed) === undefined ? {} : { seed: options.seed ?? scenario?.seed },
      ...(scenario === undefined ? {} : { faults: scenario.faults }),
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

// ---- control subcommands: a running fake's control API over HTTP ----

interface ControlOptions {
  readonly control?: string;
  readonly token?: string;
}

/** Adds `--control` and `--token` to a control subcommand. */
function withControl(command: Command): Command {
  return command
    .option('--control <url>', 'control API URL (default: $FAKE_VDSM_CONTROL)')
    .option('--token <token>', 'control API bearer token (default: $FAKE_VDSM_CONTROL_TOKEN)');
}

/**
 * Runs `operation` on a ControlClient from the command's options; prints its
 * answer (as JSON, or as it is when `print` gives text), or the error and exit 1.
 */
async function runControl<T>(command: Command, operation: (client: ControlClient) => Promise<T>, print?: (result: T) => string): Promise<void> {
  const options = command.optsWithGlobals<ControlOptions>();
  const url = options.control ?? process.env['FAKE_VDSM_CONTROL'];
  if (url === undefined || url === '') {
    process.stderr.write('fake-vdsm: give --control URL or set FAKE_VDSM_CONTROL (the ready line\'s "control")\n');
    process.exitCode = 1;
    return;
  }
  const token = options.token ?? process.env['FAKE_VDSM_CONTROL_TOKEN'];
  const client = new ControlClient(url, token === undefined || token === '' ? {} : { token });
  try {
    const result = await operation(client);
    process.stdout.write(print === undefined ? `${JSON.stringify(result ?? { ok: true }, null, 2)}\n` : print(result));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    process.stderr.write(`fake-vdsm: ${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

function parseJsonArgument(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON, e.g. \'{"match":{"method":"Image.move"},"action":{"error":851}}\'');
  }
}

function parseMs(value: string): number {
  const ms = Number(value);
  if (value.trim() === '' || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('expected milliseconds >= 0');
  return ms;
}

const fault = program.command('fault').description('fault rules of a running fake');
withControl(fault.command('add').argument('<rule>', 'one rule as JSON', parseJsonArgument).description('add a fault rule (printed with its id)')).action(
  async (rule: unknown, _options: unknown, command: Command) => runControl(command, (client) => client.addFault(rule)),
);
withControl(fault.command('list').description('the rules, in order')).action(async (_options: unknown, command: Command) =>
  runControl(command, (client) => client.listFaults()),
);
withControl(fault.command('rm').argument('<id>').description('remove a rule')).action(async (id: string, _options: unknown, command: Command) =>
  runControl(command, async (client) => {
    if (!(await client.removeFault(id))) throw new Error(`no fault rule ${id}`);
    return { removed: 1 };
  }),
);
withControl(fault.command('log').description('every firing so far')).action(async (_options: unknown, command: Command) =>
  runControl(command, (client) => client.faultLog()),
);

const INSPECT_TARGETS = ['hosts', 'domains', 'images', 'volumes', 'tasks', 'locks', 'jobs'] as const;
withControl(
  program
    .command('inspect')
    .description('show the fake\'s state')
    .addArgument(new Argument('<what>').choices(INSPECT_TARGETS))
    .option('--domain <sdUUID>', 'the domain (images, volumes)')
    .option('--image <imgUUID>', 'the image (volumes)')
    .option('--host <id>', 'the host (jobs; default every host)', parsePositiveInteger),
).action(async (what: (typeof INSPECT_TARGETS)[number], options: { domain?: string; image?: string; host?: number }, command: Command) =>
  runControl(command, async (client) => {
    switch (what) {
      case 'hosts':
        return client.listHosts();
      case 'domains':
        return client.listDomains();
      case 'tasks':
        return client.listTasks();
      case 'locks':
        return client.listLocks();
      case 'jobs':
        return client.listJobs(options.host);
      case 'images':
      case 'volumes': {
        if (options.domain === undefined) throw new Error(`inspect ${what} needs --domain`);
        return what === 'images' ? client.listImages(options.domain) : client.listVolumes(options.domain, options.image);
      }
    }
  }),
);
withControl(program.command('reset').description('restore the fixture state (everything, or one pool with --pool)').option('--pool <spUUID>')).action(
  async (options: { pool?: string }, command: Command) => runControl(command, (client) => client.reset(options.pool === undefined ? {} : { pool: options.pool })),
);
const clock = program.command('clock').description('the fake\'s manual clock (serve --manual-clock)');
withControl(clock.command('advance').argument('<ms>', 'milliseconds', parseMs).description('move time forward')).action(
  async (ms: number, _options: unknown, command: Command) => runControl(command, (client) => client.advanceClock(ms)),
);
withControl(
  program
    .command('abort-job')
    .argument('<host>', 'the VDSM host id running the job', parsePositiveInteger)
    .argument('<jobId>', "the SDM job's id")
    .description('abort an SDM host job (VDSM has no verb for it): it ends aborted, its destination left as the copy left it'),
).action(async (host: number, jobId: string, _options: unknown, command: Command) => runControl(command, (client) => client.abortJob(host, jobId)));
withControl(
  program
    .command('crash')
    .description('crash the fake (under serve: the process SIGKILLs itself), or with --host one host alone (its jobs lost, the others live on)')
    .option('--host <id>', 'crash this host only (not its pool\'s SPM)', parsePositiveInteger),
).action(async (options: { host?: number }, command: Command) =>
  runControl(command, (client) => (options.host === undefined ? client.crash() : client.crashHost(options.host))),
);
withControl(
  program
    .command('restart')
    .description('start a crashed in-process fake again (recovery runs), or with --host a host crashed alone')
    .option('--host <id>', 'restart this host only, on its port, with no jobs', parsePositiveInteger),
).action(async (options: { host?: number }, command: Command) =>
  runControl(command, (client) => (options.host === undefined ? client.restart() : client.restartHost(options.host))),
);
withControl(program.command('invariants').description('check the state; exit 1 when an invariant is violated')).action(
  async (_options: unknown, command: Command) =>
    runControl(command, async (client) => {
      const report = await client.invariants();
      if (!report.ok) process.exitCode = 1;
      return report;
    }),
);

function parseSince(value: string): number {
  const since = Number(value);
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('expected a call seq, a whole number >= 0 (the "next" of the last listing)');
  return since;
}

withControl(
  program
    .command('calls')
    .description('the recent JSON-RPC calls the fake answered, oldest first (one line each; --json: the page with its "next" cursor)')
    .option('--method <name>', 'only calls of this method, e.g. Image.move')
    .option('--since <seq>', 'only calls after this seq (the "next" of an earlier --json listing)', parseSince)
    .option('--json', 'print the page as JSON: {calls, next, dropped}')
    .option('--clear', 'empty the call log instead (prints {"removed": N})'),
).action(async (options: { method?: string; since?: number; json?: boolean; clear?: boolean }, command: Command) => {
  if (options.clear) return runControl(command, async (client) => ({ removed: await client.clearCalls() }));
  const query = { ...(options.method === undefined ? {} : { method: options.method }), ...(options.since === undefined ? {} : { since: options.since }) };
  return runControl(command, (client) => client.listCalls(query), options.json ? undefined : formatCallLines);
});
withControl(program.command('metrics').description('the fake\'s metrics, in the Prometheus text format')).action(async (_options: unknown, command: Command) =>
  runControl(command, (client) => client.metrics(), (text) => text),
);

await program.parseAsync(process.argv);
