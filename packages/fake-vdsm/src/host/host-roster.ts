/**
 * Which hosts a fake process serves, and the SPM role a freshly seeded pool
 * starts with. The hosts table (seeded by the fixture) is the one record of
 * every host's id, uuid and pool; `--hosts N` only adds the hosts it lacks.
 */
import { randomUUID } from 'node:crypto';
import { LVER_INVALID } from '@vdsm-kit/client/api';
import type { FixtureInput } from '../model/fixture.js';
import type { HostRecord } from '../model/records.js';
import type { StateStore } from '../model/store.js';

/** VDSM host ids run 1..2000 (the sanlock lockspace size; the fixture schema's limit too). */
export const MAX_HOST_ID = 2000;

/**
 * Checks a host count: an integer 1..2000.
 *
 * @throws RangeError otherwise.
 */
export function assertHostCount(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOST_ID) {
    throw new RangeError(`the number of hosts must be an integer 1..${MAX_HOST_ID}, not ${count}`);
  }
  return count;
}

/**
 * The hosts to serve: the `count` lowest host ids of the store, adding
 * hosts (`host-<id>`, a random uuid, connected to the pool the existing
 * hosts use, else the first pool) for the ids it lacks. Without `count`
 * every stored host is served (at least one). Hosts beyond `count` stay in
 * the store, as hosts that are down.
 *
 * @throws RangeError when `count` is not an integer 1..2000.
 */
export function ensureHosts(store: StateStore, count?: number): HostRecord[] {
  const stored = store.listHosts();
  const wanted = assertHostCount(count ?? Math.max(1, stored.length));
  if (stored.length >= wanted) return stored.slice(0, wanted);

  const poolId = defaultPoolOf(store, stored);
  const taken = new Set(stored.map((host) => host.id));
  const added: HostRecord[] = [];
  for (let id = 1; stored.length + added.length < wanted; id++) {
    if (taken.has(id)) continue;
    added.push({ id, uuid: randomUUID(), name: `host-${id}`, poolId });
  }
  store.transaction(() => {
    for (const host of added) store.upsertHost(host);
  });
  return [...stored, ...added].sort((a, b) => a.id - b.id);
}

/** The pool new hosts connect to: that of the lowest connected host, else the first pool, else none. */
function defaultPoolOf(store: StateStore, hosts: readonly HostRecord[]): string | null {
  return hosts.find((host) => host.poolId !== null)?.poolId ?? store.listPools()[0]?.id ?? null;
}

/**
 * After seeding: a pool the fixture left without an SPM only because it
 * listed no hosts (its `spm` unset, not `null`) gets the lowest host now
 * connected to it, with lease version 0, as the fixture would have given it
 * had it listed that host (docs/fixture.md `pools[].spm`). A pool whose
 * fixture says `"spm": null` keeps no SPM.
 */
export function assignDefaultSpm(store: StateStore, fixture: FixtureInput): void {
  const unset = new Set((fixture.pools ?? []).filter((pool) => pool.spm === undefined).map((pool) => String(pool.id).toLowerCase()));
  store.transaction(() => {
    for (const pool of store.listPools()) {
      if (!unset.has(pool.id) || pool.spmHostId !== null) continue;
      const spm = store.listHosts(pool.id)[0];
      if (spm !== undefined) store.setSpm(pool.id, spm.id, pool.lver === LVER_INVALID ? 0 : pool.lver);
    }
  });
}
