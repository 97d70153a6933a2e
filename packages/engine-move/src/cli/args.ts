/**
 * The command line of `engine-move`, read into plain data (no I/O), so every
 * rule is unit-tested without a socket. Connection options are vdsm-client's
 * (`--insecure | --pki-dir DIR`, `--timeout S`); `--hosts` lists every host
 * of the pool the orchestrator may call (any of them may be the SPM).
 */
import { DEFAULT_PKI_DIR } from '@vdsm-kit/client';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isUuid } from '../ids.js';
import { DB_ENV, defaultDbPath } from '../store/open-store.js';
import { COPY_PATH_CHOICES } from '../store/records.js';
import type { CopyPathChoice } from '../store/records.js';

export const USAGE_EXIT_CODE = 2;

/** The call timeout: the engine's vdsTimeout. */
export const DEFAULT_CALL_TIMEOUT_S = 180;
export const DEFAULT_POLL_INTERVAL_S = 10;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface HostTarget {
  readonly host: string;
  readonly port: number;
}

export interface ConnectionArgs {
  readonly hosts: readonly HostTarget[];
  /** Plain TCP (`--insecure`), or mutual TLS with the PKI in `pkiDir`. */
  readonly tls: { readonly pkiDir: string } | null;
  readonly callTimeoutMs: number;
}

export interface MoveArgs {
  readonly command: 'move';
  readonly connection: ConnectionArgs;
  readonly db: string;
  readonly poolId: string;
  readonly diskId: string;
  readonly srcDomainId: string;
  readonly dstDomainId: string;
  readonly wipeAfterDelete: boolean;
  readonly discard: boolean;
  readonly legacy: boolean;
  /** The copy path (issue 12): sdm, spm or auto. */
  readonly copyPath: CopyPathChoice;
  /** HOST:PORT names of hosts never to copy on. */
  readonly excludeHosts: readonly string[];
  readonly copyRetries: number;
  readonly pollIntervalMs: number;
  readonly json: boolean;
}

/** `submit`: the arguments of `move`; records the move and prints its id. */
export interface SubmitArgs extends Omit<MoveArgs, 'command'> {
  readonly command: 'submit';
}

export interface WorkerArgs {
  readonly command: 'worker';
  readonly connection: ConnectionArgs;
  readonly db: string;
  readonly pollIntervalMs: number;
  readonly leaseMs: number;
  readonly maxMoves: number;
  /** Serve /metrics on 127.0.0.1 at this port (0 picks one). */
  readonly metricsPort?: number;
}

export interface WaitArgs {
  readonly command: 'wait';
  readonly db: string;
  readonly moveIds: readonly string[];
  readonly json: boolean;
}

export interface ResumeArgs {
  readonly command: 'resume';
  readonly connection: ConnectionArgs;
  readonly db: string;
  readonly pollIntervalMs: number;
  readonly json: boolean;
}

export interface StatusArgs {
  readonly command: 'status';
  readonly db: string;
  readonly diskId?: string;
  readonly json: boolean;
}

export interface CancelArgs {
  readonly command: 'cancel';
  readonly db: string;
  readonly moveId: string;
}

export interface AuditArgs {
  readonly command: 'audit';
  readonly db: string;
  readonly moveId?: string;
  readonly json: boolean;
}

export interface MigrateArgs {
  readonly command: 'migrate';
  readonly db: string;
}

export type EngineMoveArgs = MoveArgs | SubmitArgs | WorkerArgs | WaitArgs | ResumeArgs | StatusArgs | CancelArgs | AuditArgs | MigrateArgs;

/** A worker's lease period: the default. */
export const DEFAULT_LEASE_S = 30;
export const DEFAULT_MAX_MOVES = 100;

export type ParseOutcome =
  | { readonly kind: 'run'; readonly args: EngineMoveArgs }
  | { readonly kind: 'exit'; readonly code: number; readonly stdout: string; readonly stderr: string };

export { defaultDbPath };

/** The store `--db` means when not given: ENGINE_MOVE_DB, else the default SQLite file. */
export function defaultDb(env: NodeJS.ProcessEnv = process.env): string {
  return env[DB_ENV] ? env[DB_ENV] : defaultDbPath(env);
}

function uuid(what: string) {
  return (value: string): string => {
    if (!isUuid(value)) throw new InvalidArgumentError(`${what} must be a UUID, got '${value}'`);
    return value.toLowerCase();
  };
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new InvalidArgumentError(`expected a number of seconds > 0, got '${value}'`);
  return seconds;
}

export function parseHosts(text: string): HostTarget[] {
  const hosts = text.split(',').map((entry) => {
    const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry.trim());
    const port = match ? Number(match[2]) : NaN;
    if (!match || !(port >= 1 && port <= 65535)) throw new InvalidArgumentError(`'${entry}' is not HOST:PORT`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (hosts.length === 0) throw new InvalidArgumentError('at least one HOST:PORT is needed');
  return hosts;
}

function connectionOptions(command: Command): Command {
  return command
    .requiredOption('--hosts <host:port,...>', "the pool's hosts (the SPM is found among them)", parseHosts)
    .addOption(new Option('--insecure', 'plain TCP instead of mutual TLS'))
    .addOption(new Option('--pki-dir <dir>', 'VDSM PKI directory (keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem)').default(DEFAULT_PKI_DIR))
    .addOption(new Option('--timeout <seconds>', 'per-call timeout').default(DEFAULT_CALL_TIMEOUT_S).argParser(positiveSeconds))
    .addOption(new Option('--poll-interval <seconds>', 'one task status poll per pool per interval').default(DEFAULT_POLL_INTERVAL_S).argParser(positiveSeconds));
}

function dbOptionOf(command: Command, env: NodeJS.ProcessEnv): Command {
  return command.addOption(
    new Option('--db <file|url>', `the move store: an SQLite file or a postgres:// URL (else $${DB_ENV})`).default(
      defaultDb(env),
      env[DB_ENV] ? `$${DB_ENV}` : '$XDG_STATE_HOME/engine-move/moves.sqlite',
    ),
  );
}

function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new InvalidArgumentError(`expected an integer >= 0, got '${value}'`);
  return number;
}

/** `--exclude-host` values, each HOST:PORT as `--hosts` names them, accumulated over repeats. */
function hostList(value: string, previous: string[] = []): string[] {
  return [...previous, ...parseHosts(value).map((target) => `${target.host}:${target.port}`)];
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !(number >= 1) || !Number.isSafeInteger(number)) throw new InvalidArgumentError(`expected an integer >= 1, got '${value}'`);
  return number;
}

function port(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got '${value}'`);
  return number;
}

function jsonOption(command: Command): Command {
  return command.addOption(new Option('--json', 'one JSON object per line (the last one the outcome)'));
}

interface ConnectionOpts {
  hosts: HostTarget[];
  insecure?: true;
  pkiDir: string;
  timeout: number;
  pollInterval: number;
}

function toConnection(command: Command, opts: ConnectionOpts): ConnectionArgs {
  if (opts.insecure && command.getOptionValueSource('pkiDir') === 'cli') {
    throw new UsageError('--insecure and --pki-dir do not go together (--insecure means no TLS)');
  }
  return { hosts: opts.hosts, tls: opts.insecure ? null : { pkiDir: opts.pkiDir }, callTimeoutMs: Math.round(opts.timeout * 1000) };
}

export function parseArgs(argv: readonly string[], helpWidth = 80, env: NodeJS.ProcessEnv = process.env): ParseOutcome {
  const dbOption = (command: Command): Command => dbOptionOf(command, env);
  let stdout = '';
  let stderr = '';
  let parsed: EngineMoveArgs | undefined;
  const output = {
    writeOut: (text: string) => (stdout += text),
    writeErr: (text: string) => (stderr += text),
    getOutHelpWidth: () => helpWidth,
    getErrHelpWidth: () => helpWidth,
  };
  const program = new Command('engine-move')
    .description('Moves oVirt disks between storage domains through VDSM: a copy, then a delete of the source.')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError(true)
    .exitOverride()
    .configureOutput(output);

  const setup = (command: Command): Command => command.helpOption('-h, --help', 'show this help').showHelpAfterError(true).exitOverride().configureOutput(output);

  for (const name of ['move', 'submit'] as const) {
    const description =
      name === 'move'
        ? 'move a disk and wait for the outcome (exit 0 moved, 1 failed or cancelled)'
        : 'record a move for the workers and print its id at once';
    jsonOption(dbOption(connectionOptions(setup(program.command(name).description(description)))))
      .requiredOption('--pool <id>', 'storage pool', uuid('--pool'))
      .requiredOption('--disk <id>', 'disk (image group)', uuid('--disk'))
      .requiredOption('--from <id>', 'source storage domain', uuid('--from'))
      .requiredOption('--to <id>', 'target storage domain', uuid('--to'))
      .option('--wipe', "wipe after delete: the source is zeroed before it is freed (block domains)")
      .option('--discard', 'discard the freed blocks')
      .option('--legacy', 'the old single verb (Image.move operation move), for comparison')
      .addOption(
        new Option('--path <path>', 'copy by SDM host jobs (sdm), by the SPM (spm), or sdm when the domains (V3+) and hosts allow it (auto)')
          .choices(COPY_PATH_CHOICES)
          .default('auto'),
      )
      .addOption(new Option('--exclude-host <host:port>', 'never copy on this host (repeatable, or a comma list)').argParser(hostList).default([]))
      .addOption(new Option('--copy-retries <n>', 'SDM path: try a failed volume copy again on another host up to N times').default(0).argParser(nonNegativeInteger))
      .action(function (this: Command) {
        const opts = this.opts<
          ConnectionOpts & { db: string; pool: string; disk: string; from: string; to: string; wipe?: true; discard?: true; legacy?: true; json?: true } & {
            path: CopyPathChoice;
            excludeHost: string[];
            copyRetries: number;
          }
        >();
        if (opts.from === opts.to) throw new UsageError('--from and --to name the same domain');
        if (opts.legacy === true && opts.path === 'sdm') throw new UsageError('--legacy is the SPM\'s single verb; it cannot take --path sdm');
        parsed = {
          command: name,
          connection: toConnection(this, opts),
          db: opts.db,
          poolId: opts.pool,
          diskId: opts.disk,
          srcDomainId: opts.from,
          dstDomainId: opts.to,
          wipeAfterDelete: opts.wipe === true,
          discard: opts.discard === true,
          legacy: opts.legacy === true,
          copyPath: opts.path,
          excludeHosts: opts.excludeHost,
          copyRetries: opts.copyRetries,
          pollIntervalMs: Math.round(opts.pollInterval * 1000),
          json: opts.json === true,
        };
      });
  }

  dbOption(connectionOptions(setup(program.command('worker').description('claim and run the moves of the store until SIGTERM (several may share a postgres:// store)'))))
    .addOption(new Option('--lease <seconds>', 'lease period: a dead worker\'s moves are taken over within two').default(DEFAULT_LEASE_S).argParser(positiveSeconds))
    .addOption(new Option('--max-moves <n>', 'moves held at once').default(DEFAULT_MAX_MOVES).argParser(positiveInteger))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus /metrics on 127.0.0.1:PORT (0 picks one)').argParser(port))
    .action(function (this: Command) {
      const opts = this.opts<ConnectionOpts & { db: string; lease: number; maxMoves: number; metricsPort?: number }>();
      if (opts.lease < 0.1) throw new UsageError('--lease must be at least 0.1 s');
      parsed = {
        command: 'worker',
        connection: toConnection(this, opts),
        db: opts.db,
        pollIntervalMs: Math.round(opts.pollInterval * 1000),
        leaseMs: Math.round(opts.lease * 1000),
        maxMoves: opts.maxMoves,
        ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
      };
    });

  jsonOption(dbOption(setup(program.command('wait').description('wait for moves to end (exit 0 when all moved, 1 otherwise)'))))
    .argument('<move...>', 'move ids', (value: string, previous: string[] = []) => [...previous, uuid('move')(value)])
    .action(function (this: Command, moveIds: string[]) {
      const opts = this.opts<{ db: string; json?: true }>();
      parsed = { command: 'wait', db: opts.db, moveIds, json: opts.json === true };
    });

  jsonOption(dbOption(connectionOptions(setup(program.command('resume').description('pick up every unfinished move in the store and run it to its end')))))
    .action(function (this: Command) {
      const opts = this.opts<ConnectionOpts & { db: string; json?: true }>();
      parsed = { command: 'resume', connection: toConnection(this, opts), db: opts.db, pollIntervalMs: Math.round(opts.pollInterval * 1000), json: opts.json === true };
    });

  jsonOption(dbOption(setup(program.command('status').description('list the moves in the store'))))
    .option('--disk <id>', 'only this disk', uuid('--disk'))
    .action(function (this: Command) {
      const opts = this.opts<{ db: string; disk?: string; json?: true }>();
      parsed = { command: 'status', db: opts.db, ...(opts.disk ? { diskId: opts.disk } : {}), json: opts.json === true };
    });

  dbOption(setup(program.command('cancel').description('ask a move to stop (the process running it stops the copy and cleans the target)')))
    .argument('<move>', 'move id', uuid('move'))
    .action(function (this: Command, moveId: string) {
      parsed = { command: 'cancel', db: this.opts<{ db: string }>().db, moveId };
    });

  jsonOption(dbOption(setup(program.command('audit').description("the audit log (oVirt's audit type numbers)"))))
    .option('--move <id>', 'only this move', uuid('--move'))
    .action(function (this: Command) {
      const opts = this.opts<{ db: string; move?: string; json?: true }>();
      parsed = { command: 'audit', db: opts.db, ...(opts.move ? { moveId: opts.move } : {}), json: opts.json === true };
    });

  dbOption(setup(program.command('migrate').description('bring the store\'s schema up to date and print its version (every command also does at start)'))).action(
    function (this: Command) {
      parsed = { command: 'migrate', db: this.opts<{ db: string }>().db };
    },
  );

  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return { kind: 'exit', code, stdout, stderr };
    }
    if (error instanceof UsageError) return { kind: 'exit', code: USAGE_EXIT_CODE, stdout, stderr: `${stderr}error: ${error.message}\n` };
    throw error;
  }
  if (!parsed) {
    return { kind: 'exit', code: USAGE_EXIT_CODE, stdout, stderr: `${stderr}${program.helpInformation()}` };
  }
  return { kind: 'run', args: parsed };
}
