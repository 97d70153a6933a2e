/**
 * One way to open the store from a location a user typed (`--db`,
 * ENGINE_MOVE_DB): a `postgres://` or `postgresql://` URL is the shared
 * PostgreSQL store, anything else a file path of the embedded SQLite store,
 * and nothing the user's default state file. Either store applies its
 * migrations as it opens.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PostgresMoveStore, isPostgresUrl } from './postgres-store.js';
import type { PostgresMoveStoreOptions } from './postgres-store.js';
import { SqliteMoveStore } from './sqlite-store.js';

/** The environment variable naming the store when `--db` is not given. */
export const DB_ENV = 'ENGINE_MOVE_DB';

export type OpenedMoveStore = SqliteMoveStore | PostgresMoveStore;

/**
 * Where the SQLite store lives when nothing is said: the user's state folder
 * (XDG Base Directory: `$XDG_STATE_HOME`, else `~/.local/state`), never the
 * working directory, so `engine-move status` finds the moves from anywhere.
 */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const state = env['XDG_STATE_HOME'] && env['XDG_STATE_HOME'].startsWith('/') ? env['XDG_STATE_HOME'] : join(home, '.local', 'state');
  return join(state, 'engine-move', 'moves.sqlite');
}

export async function openMoveStore(
  location: string | undefined,
  options: Omit<PostgresMoveStoreOptions, 'url' | 'migrations'> = {},
): Promise<OpenedMoveStore> {
  const where = location === undefined || location === '' ? defaultDbPath() : location;
  return isPostgresUrl(where) ? PostgresMoveStore.open({ ...options, url: where }) : SqliteMoveStore.open({ path: where });
}
