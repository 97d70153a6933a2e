/**
 * `POST /reset`: puts the state back to what the fake started from, for the
 * whole fake or for one pool (so parallel tests on different pools do not
 * disturb each other). Fault rules are not here: they have no pool, so the
 * control plane clears them on a full reset only.
 *
 * Per pool reset, in order:
 * 1. the pool's tasks are recovered (`TaskManager.recover`: running jobs are
 *    let go of and rolled back, the pool's locks released), then every done
 *    task of the pool is cleared;
 * 2. every volume row and file of the pool's domains is removed;
 * 3. the fixture's pool, hosts, domains and volumes of that pool are written
 *    again (files first, rows last in one transaction, as the startup does).
 * A full reset does the same for every pool and then re-seeds through the
 * startup's own `applyFixture` + `assignDefaultSpm`; HSM tasks (no pool) are
 * stopped and cleared too.
 */
import { rm } from 'node:fs/promises';
import { imagesDir } from '../data/layout.js';
import { fixtureFiles } from '../host/fixture-files.js';
import { assignDefaultSpm } from '../host/host-roster.js';
import type { StorageHost } from '../host/storage-host.js';
import { applyFixture, dataChunks, planFixture } from '../model/fixture.js';
import type { FixtureInput } from '../model/fixture.js';
import { isDone } from '../tasks/task-states.js';
import { ControlError } from './control-api.js';

/** What `resetState` did. */
export interface StateResetResult {
  readonly pools: readonly string[];
  readonly tasksCleared: number;
  readonly volumesRestored: number;
}

/**
 * Resets every pool (`poolId` undefined) or one pool to `fixture`.
 *
 * @throws ControlError 'not_found' for a pool neither the state nor the fixture has.
 */
export async function resetState(storage: StorageHost, fixture: FixtureInput, poolId?: string): Promise<StateResetResult> {
  const { store, tasks } = storage;
  const plan = planFixture(fixture);
  const pools = poolId === undefined ? store.listPools().map((pool) => pool.id) : [poolId];
  if (poolId !== undefined && store.getPool(poolId) === undefined && !plan.pools.some((pool) => pool.id === poolId)) {
    throw new ControlError('not_found', `no pool ${poolId}`);
  }

  // 1. Tasks: stop and roll back, then forget.
  for (const pool of pools) await tasks.recover(pool);
  let tasksCleared = 0;
  for (const id of Object.keys(tasks.getAllTasks())) {
    const row = tasks.getRecord(id);
    if (row === undefined) continue;
    const inScope = row.poolId === null ? poolId === undefined : pools.includes(row.poolId);
    if (!inScope) continue;
    if (row.poolId === null && !isDone(row.state)) stopQuietly(storage, id);
    try {
      tasks.clear(id);
      tasksCleared += 1;
    } catch {
      // A task left waiting for recovery (waitrecover) cannot be cleared; it stays visible in /tasks.
    }
  }

  // 2. Volumes: every file and row of the pool's domains (as they are now, and as the fixture has them).
  const domainIds = new Set([
    ...store.listDomains().filter((domain) => pools.includes(domain.poolId)).map((domain) => domain.id),
    ...plan.domains.filter((domain) => pools.includes(domain.poolId) || poolId === undefined).map((domain) => domain.id),
  ]);
  for (const domainId of domainIds) {
    store.transaction(() => {
      for (const image of store.listImages(domainId, { includeRemoved: true })) store.deleteImageRows(domainId, image);
    });
    await rm(imagesDir(storage.stateDir, domainId), { recursive: true, force: true });
  }

  // 3. Seed again.
  const files = fixtureFiles(storage.stateDir);
  if (poolId === undefined) {
    await applyFixture(store, fixture, files);
    assignDefaultSpm(store, fixture);
    return { pools, tasksCleared, volumesRestored: plan.volumes.length };
  }
  const domains = plan.domains.filter((domain) => domain.poolId === poolId);
  const inPool = new Set(domains.map((domain) => domain.id));
  const volumes = plan.volumes.filter((volume) => inPool.has(volume.record.domainId));
  for (const { record, parent, data } of volumes) {
    const domain = domains.find((candidate) => candidate.id === record.domainId);
    if (domain === undefined) continue;
    await files.createVolume(domain, record, parent);
    for (const entry of data) for (const [offset, bytes] of dataChunks(entry)) await files.writeData(domain, record, offset, bytes);
  }
  store.transaction(() => {
    for (const pool of plan.pools) if (pool.id === poolId) store.upsertPool(pool);
    for (const host of plan.hosts) if (host.poolId === poolId) store.upsertHost(host);
    for (const domain of domains) store.upsertDomain(domain);
    for (const { record } of volumes) store.insertVolume(record);
  });
  return { pools, tasksCleared, volumesRestored: volumes.length };
}

function stopQuietly(storage: StorageHost, taskId: string): void {
  try {
    storage.tasks.stop(taskId);
  } catch {
    // Already aborting: clear drops an HSM task in any state anyway.
  }
}
