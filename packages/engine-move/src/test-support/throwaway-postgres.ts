/**
 * A PostgreSQL server for tests, real and thrown away. With
 * `ENGINE_MOVE_TEST_PG` (the URL of an existing server, as .ci/run and
 * `npm run pg:start` export it) each caller gets a database of its own on it,
 * created now and dropped at `stop()`. Without it, `initdb` and `pg_ctl` from
 * PostgreSQL 15 (Debian's `postgresql` package) run a server of our own on a
 * temporary data folder, on 127.0.0.1 and a free port, no unix socket; as the
 * `postgres` user when we are root (initdb refuses root).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const TEST_PG_ENV = 'ENGINE_MOVE_TEST_PG';
export const POSTGRES_BIN = process.env['ENGINE_MOVE_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** Why a server of our own cannot be started here, or undefined if it can. */
export function missingPostgres(): string | undefined {
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) return `PostgreSQL 15 is not installed (${POSTGRES_BIN}/initdb; Debian: postgresql)`;
  if (process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser')) return 'running as root without runuser to start PostgreSQL as postgres';
  return undefined;
}

/** Why no PostgreSQL at all can be had (neither ENGINE_MOVE_TEST_PG nor binaries). */
export function missingAnyPostgres(): string | undefined {
  return process.env[TEST_PG_ENV] ? undefined : missingPostgres();
}

/** A server we started: its data folder, superuser URL, and a way to restart and stop it. */
export interface PostgresServer {
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  /** `pg_ctl restart -m fast`: every session is cut, the server is back when this resolves. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
async function pgTool(tool: string, args: readonly string[]): Promise<string> {
  const path = join(POSTGRES_BIN, tool);
  const [command, argv] = process.getuid?.() === 0 ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', path, ...args]] : [path, [...args]];
  try {
    return (await run(command, argv, { encoding: 'utf8' })).stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${tool} failed: ${(stderr || stdout || String(error)).trim()}`);
  }
}

/**
 * initdb into `folder` (created if not given), then start on a free loopback port.
 * @throws Error naming what is missing when PostgreSQL cannot run here.
 */
export async function startPostgresServer(folder?: string): Promise<PostgresServer> {
  const missing = missingPostgres();
  if (missing) throw new Error(missing);
  const root = folder ?? mkdtempSync(join(tmpdir(), 'engine-move-pg-'));
  const dataDir = join(root, 'data');
  if (process.getuid?.() === 0) chownSync(root, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
  const user = 'postgres';
  await pgTool('initdb', ['-D', dataDir, '--auth=trust', `--username=${user}`, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  // fsync off: a throwaway server; a restart (clean shutdown) still loses nothing.
  const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories= -c fsync=off -c max_connections=200`;
  const ctl = (action: string, extra: readonly string[] = []): Promise<string> =>
    pgTool('pg_ctl', [action, '-D', dataDir, '-w', '-t', '60', '-l', join(dataDir, 'server.log'), '-o', serverOptions, ...extra]);
  await ctl('start');
  return {
    url: `postgres://${user}@127.0.0.1:${port}/postgres`,
    dataDir,
    port,
    restart: async () => {
      await ctl('restart', ['-m', 'fast']);
    },
    stop: () => stopPostgresServer(root),
  };
}

/** Stops the server whose data is in `folder`/data, if it runs, and removes `folder`. */
export async function stopPostgresServer(folder: string): Promise<void> {
  const dataDir = join(folder, 'data');
  if (existsSync(dataDir)) await pgTool('pg_ctl', ['stop', '-D', dataDir, '-w', '-m', 'immediate']).catch(() => undefined);
  rmSync(folder, { recursive: true, force: true });
}

/** A server and databases of our own on it, each dropped at `stop()`. */
export interface ThrowawayPostgres {
  /** A fresh database's URL. */
  createDatabase(): Promise<string>;
  /** The server we started (undefined when ENGINE_MOVE_TEST_PG gave one we must not restart). */
  readonly server: PostgresServer | undefined;
  stop(): Promise<void>;
}

/** One plain connection for `action` (a test's own look at the database), closed after. */
export async function withPgClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * ENGINE_MOVE_TEST_PG's server, or one of our own (always our own with
 * `ownServer`, for tests that restart it).
 */
export async function startThrowawayPostgres(options: { readonly ownServer?: boolean } = {}): Promise<ThrowawayPostgres> {
  const shared = options.ownServer ? undefined : process.env[TEST_PG_ENV];
  const server = shared ? undefined : await startPostgresServer();
  const serverUrl = shared ?? server!.url;
  const created: string[] = [];
  const admin = <T>(action: (client: pg.Client) => Promise<T>): Promise<T> => withPgClient(serverUrl, action);
  return {
    server,
    createDatabase: async () => {
      // A name of our own making (DDL takes no parameters): lower-case hex only.
      const name = `engine_move_test_${randomBytes(8).toString('hex')}`;
      await admin((client) => client.query(`CREATE DATABASE ${name}`));
      created.push(name);
      return databaseUrl(serverUrl, name);
    },
    stop: async () => {
      if (shared) {
        await admin(async (client) => {
          for (const name of created.splice(0)) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      }
      await server?.stop();
    },
  };
}
