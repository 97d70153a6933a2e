/**
 * Where an SDM copy can run, and which path a move takes (issue 12). Any host
 * connected to the pool may run `SDM.copy_data` (a host that is not gets 313,
 * vdsm-sdm.md s1.2); the engine picks one at random (s5.2), we take the least
 * busy: the fewest of our jobs in flight on it (every move's, from the store),
 * the SPM counting half a job more, since its tasks already load it. A host
 * the user excluded is never taken.
 */
import type { CallOptions, VdsmApi } from '@vdsm-kit/client';
import type { PoolHost } from '../tasks/pool-host.js';

/** VDSM's first domain version with SDM host jobs (volume leases, generations): V3. */
export const MIN_SDM_DOMAIN_VERSION = 3;

/** The hosts that answer and say they are connected to the pool, in the given order. */
export async function connectedHosts(hosts: readonly PoolHost[], poolId: string, options: CallOptions = {}): Promise<PoolHost[]> {
  const answers = await Promise.allSettled(hosts.map((host) => host.api.Host.getConnectedStoragePools(undefined, options)));
  return hosts.filter((_, index) => {
    const answer = answers[index]!;
    return answer.status === 'fulfilled' && answer.value.includes(poolId);
  });
}

/**
 * The least busy host among `up` not in `avoid`, or undefined. `busy` is the
 * number of our SDM jobs in flight by host name; ties keep the hosts' order.
 */
export function leastBusy(up: readonly PoolHost[], avoid: ReadonlySet<string>, busy: ReadonlyMap<string, number>, spmName?: string): PoolHost | undefined {
  let best: { host: PoolHost; load: number } | undefined;
  for (const host of up) {
    if (avoid.has(host.name)) continue;
    const load = (busy.get(host.name) ?? 0) + (host.name === spmName ? 0.5 : 0);
    if (!best || load < best.load) best = { host, load };
  }
  return best?.host;
}

/** Whether both domains are recent enough for SDM host jobs (StorageDomain.getInfo `version`, a string on the wire). */
export async function domainsAllowSdm(api: VdsmApi, domainIds: readonly string[]): Promise<{ ok: boolean; versions: number[] }> {
  const versions = await Promise.all(domainIds.map(async (id) => Number((await api.StorageDomain.getInfo({ storagedomainID: id })).version)));
  return { ok: versions.every((version) => version >= MIN_SDM_DOMAIN_VERSION), versions };
}
