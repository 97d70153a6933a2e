/**
 * The invariant oracle (`GET /invariants`): what must hold between the
 * database, the files and the tasks whenever no test is in the middle of
 * breaking it. It only reads; host/reconcile.ts is the pass that REPAIRS
 * the same file/row pairing at startup (its walk mutates as it goes, so it
 * cannot be reused read-only; this walk shares its layout helpers).
 *
 * Checked:
 * - file-without-row: a volume file under `<sd>/images/<img>/` (or a
 *   `_remove_me_` folder) that no row of that image claims, or claims from
 *   the other side of a delete;
 * - row-without-file: a volume row whose file is not where the row says;
 * - illegal-outside-task: an ILLEGAL live volume while its pool has no task
 *   that is not done (tasks are not tied to volumes in the store, so the
 *   pool is the finest scope that can be told apart);
 * - orphan-lock: a held lock whose owner task is gone or done;
 * - multiple-spm: a pool whose SPM host is not one of the pool's hosts, or a
 *   host id that is SPM of a pool it is not connected to (the store keeps one
 *   SPM column per pool, so two SPMs show up as a role held where it cannot be).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeLegality } from '@vdsm-kit/client/api';
import { UUID_PATTERN, imageDir, imagesDir, parseImageDirName, removedImageDir, zeroedImageDir } from '../data/layout.js';
import type { StorageHost } from '../host/storage-host.js';
import { isFile } from '../storage/volume-locations.js';
import { isDone } from '../tasks/task-states.js';
import type { InvariantReport, InvariantViolation } from './control-api.js';

/** Runs every check (module comment) and returns every violation found. */
export async function checkInvariants(storage: StorageHost): Promise<InvariantReport> {
  const violations: InvariantViolation[] = [];
  await checkFilesAndRows(storage, violations);
  checkIllegalVolumes(storage, violations);
  checkLocks(storage, violations);
  checkSpm(storage, violations);
  return { ok: violations.length === 0, violations };
}

async function checkFilesAndRows(storage: StorageHost, violations: InvariantViolation[]): Promise<void> {
  const { store, stateDir } = storage;
  for (const domain of store.listDomains()) {
    const images = imagesDir(stateDir, domain.id);
    for (const name of await listDir(images)) {
      const entry = parseImageDirName(name);
      if (entry === undefined) continue; // Not ours: reconcile leaves it alone too.
      for (const file of await listDir(join(images, name))) {
        const path = join(images, name, file);
        if (!UUID_PATTERN.test(file) || !(await isFile(path))) continue;
        const row = store.getVolume(domain.id, file);
        const claimed = row !== undefined && row.imageId === entry.imgUUID && row.removed === (entry.kind !== 'image');
        if (!claimed) {
          violations.push({ kind: 'file-without-row', message: `volume file ${path} has no row claiming it`, domainId: domain.id, imageId: entry.imgUUID, volumeId: file, path });
        }
      }
    }
    for (const volume of store.listVolumes(domain.id, undefined, { includeRemoved: true })) {
      const dirs = volume.removed
        ? [removedImageDir(stateDir, domain.id, volume.imageId), zeroedImageDir(stateDir, domain.id, volume.imageId)]
        : [imageDir(stateDir, domain.id, volume.imageId)];
      let found = false;
      for (const dir of dirs) if (await isFile(join(dir, volume.id))) found = true;
      if (!found) {
        violations.push({
          kind: 'row-without-file',
          message: `volume ${volume.id} of image ${volume.imageId} on ${domain.id} has a row but no file`,
          domainId: domain.id,
          imageId: volume.imageId,
          volumeId: volume.id,
          removed: volume.removed,
        });
      }
    }
  }
}

function checkIllegalVolumes(storage: StorageHost, violations: InvariantViolation[]): void {
  const { store, tasks } = storage;
  const rows = Object.keys(tasks.getAllTasks()).map((id) => tasks.getRecord(id)).filter((row) => row !== undefined);
  // HSM tasks have no pool: one that is running could be working on any pool's volumes.
  const hsmBusy = rows.some((row) => row.poolId === null && !isDone(row.state));
  const busyPools = new Set(rows.filter((row) => row.poolId !== null && !isDone(row.state)).map((row) => row.poolId));
  for (const domain of store.listDomains()) {
    if (hsmBusy || busyPools.has(domain.poolId)) continue;
    for (const volume of store.listVolumes(domain.id)) {
      if (volume.legality !== VolumeLegality.Illegal) continue;
      violations.push({
        kind: 'illegal-outside-task',
        message: `volume ${volume.id} of image ${volume.imageId} on ${domain.id} is ILLEGAL and no task of pool ${domain.poolId} is running`,
        domainId: domain.id,
        imageId: volume.imageId,
        volumeId: volume.id,
      });
    }
  }
}

function checkLocks(storage: StorageHost, violations: InvariantViolation[]): void {
  for (const lock of storage.locks.held()) {
    const owner = storage.tasks.getRecord(lock.owner);
    if (owner !== undefined && !isDone(owner.state)) continue;
    violations.push({
      kind: 'orphan-lock',
      message: `lock ${lock.namespace}/${lock.name} (${lock.mode}) is held by ${owner === undefined ? 'no task' : `task ${lock.owner}, which is ${owner.state}`}`,
      ...lock,
    });
  }
}

function checkSpm(storage: StorageHost, violations: InvariantViolation[]): void {
  const { store } = storage;
  const spmPools = new Map<number, string[]>();
  for (const pool of store.listPools()) {
    if (pool.spmHostId === null) continue;
    spmPools.set(pool.spmHostId, [...(spmPools.get(pool.spmHostId) ?? []), pool.id]);
    const host = store.getHost(pool.spmHostId);
    if (host?.poolId !== pool.id) {
      violations.push({
        kind: 'multiple-spm',
        message: `pool ${pool.id} names host ${pool.spmHostId} as SPM, but that host is ${host === undefined ? 'unknown' : `connected to ${host.poolId ?? 'no pool'}`}`,
        poolId: pool.id,
        hostId: pool.spmHostId,
      });
    }
  }
}

/** The names in `dir`, sorted; none when it does not exist. */
async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}
