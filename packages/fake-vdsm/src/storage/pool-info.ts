/**
 * `StoragePool.getInfo` (hsm.py `getStoragePoolInfo` -> sp.py `getInfo` +
 * `_getDomsStats`) and `StoragePool.getSpmStatus` (hsm.py `getSpmStatus`).
 * Both need this host connected to the pool (309), not the SPM role.
 */
import { SPM_ID_FREE, SpmRole, StorageDomainStatus, StoragePoolStatus } from '@vdsm-kit/client/api';
import type { SpmStatus, StoragePoolDomainInfo, StoragePoolFullInfo } from '@vdsm-kit/client/api';
import { isSpm, masterNotFoundError, requireConnectedPool } from './checks.js';
import type { StorageContext } from './context.js';
import { domainStats } from './domain-getters.js';

/** `StoragePool.getInfo`: `{info, dominfo}`. */
export async function poolInfo(ctx: StorageContext, spUUID: string): Promise<StoragePoolFullInfo> {
  const pool = requireConnectedPool(ctx, spUUID);
  const domains = ctx.store.listDomains(spUUID);
  const master = ctx.store.getDomain(pool.masterDomainId);
  // sp.py getInfo: an unreadable master domain is 304.
  if (master === undefined || !master.reachable) throw masterNotFoundError(spUUID, pool.masterDomainId);
  const dominfo: Record<string, StoragePoolDomainInfo> = {};
  for (const domain of domains) {
    const entry: StoragePoolDomainInfo = { status: domain.status, alerts: [], isoprefix: '' };
    // _getDomsStats: version and sizes only for active domains the monitor
    // reaches; sizes typed as the domain's getStats types them.
    if (domain.status === StorageDomainStatus.Active && domain.reachable) {
      const stats = await domainStats(ctx, domain.id);
      dominfo[domain.id] = { ...entry, version: domain.version, disktotal: stats.disktotal, diskfree: stats.diskfree };
    } else if (domain.status === StorageDomainStatus.Active) {
      // An unreachable domain: the monitor still knows its version, not its sizes.
      dominfo[domain.id] = { ...entry, version: domain.version };
    } else {
      dominfo[domain.id] = entry;
    }
  }
  return {
    info: {
      name: pool.name,
      // No ISO domain in the fake's pools (hsm.py: '' when none is found).
      isoprefix: '',
      pool_status: StoragePoolStatus.Connected,
      lver: pool.lver,
      domains: domains.map((domain) => `${domain.id}:${domain.status}`).join(','),
      master_uuid: pool.masterDomainId,
      version: String(master.version),
      spm_id: pool.spmHostId ?? SPM_ID_FREE,
      type: master.type,
      master_ver: pool.masterVersion,
    },
    dominfo,
  };
}

/**
 * `StoragePool.getSpmStatus`: `spmStatus` is the serving host's own role
 * (sp.py `spmRole`: SPM on the SPM, Free elsewhere), while `spmId` and
 * `spmLver` come from the pool's lease (the cluster lock), so every host
 * can tell who the SPM is.
 */
export function spmStatus(ctx: StorageContext, spUUID: string): SpmStatus {
  const pool = requireConnectedPool(ctx, spUUID);
  return {
    spmId: pool.spmHostId ?? SPM_ID_FREE,
    spmStatus: isSpm(ctx, spUUID) ? SpmRole.Spm : SpmRole.Free,
    spmLver: pool.lver,
  };
}
