/**
 * The fake's state directory: everything that must survive a restart of the
 * fake lives under it, the SQLite state (`fake-vdsm.sqlite`: pools, hosts
 * and their identities, domains, volumes, tasks, locks) and the volume files
 * (`<sdUUID>/images/<imgUUID>/<volUUID>`). Without one, a fresh temporary
 * directory is used and removed again on close.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostIdentity } from './api/host-capabilities.js';

/** VDSM keeps its host id in `/etc/vdsm/vdsm.id`; ours sits in the state directory under the same name. */
export const HOST_ID_FILE = 'vdsm.id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An opened state directory. */
export interface StateDir {
  /** Absolute path. */
  readonly path: string;
  /** True when we made it as a temporary directory (it is removed by `dispose`). */
  readonly temporary: boolean;
  /** Removes a temporary directory; leaves a given one alone. */
  dispose(): Promise<void>;
}

/** Opens `path` (created if missing), or a new temporary directory when `path` is undefined. */
export async function openStateDir(path: string | undefined): Promise<StateDir> {
  if (path === undefined) {
    const temporary = await mkdtemp(join(tmpdir(), 'fake-vdsm-'));
    return { path: temporary, temporary: true, dispose: () => rm(temporary, { recursive: true, force: true }) };
  }
  const absolute = resolve(path);
  await mkdir(absolute, { recursive: true });
  return { path: absolute, temporary: false, dispose: () => Promise.resolve() };
}

/**
 * A host identity kept in `vdsm.id`. `startFakeVdsm` no longer uses it: each
 * host's uuid is its row in the hosts table (seeded by the fixture), the one
 * record of host identities since the storage model arrived.
 *
 * The host's identity: read from `vdsm.id`, or made up and written there on
 * first use, so the host uuid is stable for as long as the state directory lives.
 *
 * @throws Error when the file exists but does not hold a UUID (a state
 *   directory from something else; better to stop than to change identity).
 */
export async function loadHostIdentity(stateDir: string): Promise<HostIdentity> {
  const file = join(stateDir, HOST_ID_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    const uuid = text.trim();
    if (!UUID.test(uuid)) throw new Error(`${file} does not hold a host UUID (found ${JSON.stringify(uuid.slice(0, 60))})`);
    return { uuid: uuid.toLowerCase() };
  }
  const uuid = randomUUID();
  // 'wx': two fakes starting on one fresh directory must not both write it.
  try {
    await writeFile(file, `${uuid}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadHostIdentity(stateDir);
    throw error;
  }
  return { uuid };
}
