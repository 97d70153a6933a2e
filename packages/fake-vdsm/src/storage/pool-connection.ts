/**
 * `StoragePool.connect` / `disconnect` (hsm.py `connectStoragePool`,
 * `disconnectStoragePool`; sp.py `connect`, `getMasterDomain`) and
 * `Host.getConnectedStoragePools`. Which pool a host is connected to is its
 * row's `pool_id`: a fake host is connected to one pool at most, as a VDSM
 * host is.
 */
import { pyTuple, StorageDomainRole, StorageDomainStatus, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import type { HostRecord } from '../model/records.js';
import { connectedPoolId, isSpm, masterNotFoundError, storageError } from './checks.js';
import type { StorageContext } from './context.js';

/**
 * `StoragePool.connect`: connects the serving host to the pool after
 * checking the master domain as sp.py `getMasterDomain` does. Connecting
 * again to the same pool refreshes (the same checks, nothing else).
 * `domainDict` (the engine's memory backend) sets the domains' statuses;
 * `hostID` and `scsiKey` are not used: a fake host's id is fixed.
 *
 * @throws VdsmError 323 `Cannot connect pool, already connected to another
 *   pool: ('<other>',)`; 304 `Cannot find master domain: 'spUUID=..,
 *   msdUUID=..'` when the master is unknown; 324 `Wrong Master domain or its
 *   version: 'SD=.., pool=..'` when it is no master, of another pool, or at
 *   another master version.
 */
export function connectPool(ctx: StorageContext, params: WireParamsOf<'StoragePool.connect'>): void {
  const { storagepoolID: spUUID, masterSdUUID, masterVersion, domainDict, hostID } = params;
  const host = serving(ctx);
  if (host.poolId !== null && host.poolId !== spUUID) {
    throw storageError(VdsmErrorCode.CannotConnectMultiplePools, pyTuple(host.poolId));
  }
  const master = ctx.store.getDomain(masterSdUUID);
  if (master === undefined || !master.reachable) throw masterNotFoundError(spUUID, masterSdUUID);
  const pool = ctx.store.getPool(spUUID);
  if (pool === undefined || master.role !== StorageDomainRole.Master || master.poolId !== spUUID || pool.masterVersion !== masterVersion) {
    throw storageError(VdsmErrorCode.StoragePoolWrongMaster, `SD=${masterSdUUID}, pool=${spUUID}`);
  }
  if (hostID !== ctx.hostId) {
    ctx.logger.warn({ pool: spUUID, hostID, servingHost: ctx.hostId }, 'StoragePool.connect with another host id; the fake keeps its own');
  }
  ctx.store.transaction(() => {
    for (const [sdUUID, status] of Object.entries(domainDict ?? {})) {
      const domain = ctx.store.getDomain(sdUUID);
      // VDSM capitalises the engine's lower-case statuses.
      if (domain?.poolId === spUUID) ctx.store.upsertDomain({ ...domain, status: capitalise(status) });
    }
    if (host.poolId !== spUUID) ctx.store.upsertHost({ ...host, poolId: spUUID });
  });
  ctx.logger.info({ pool: spUUID, host: ctx.hostId }, 'connected to storage pool');
}

/**
 * `StoragePool.disconnect`: a pool the host is not connected to is a no-op
 * (VDSM logs "Already disconnected"); the SPM may not disconnect (656).
 */
export function disconnectPool(ctx: StorageContext, spUUID: string): void {
  if (connectedPoolId(ctx) !== spUUID) {
    ctx.logger.warn({ pool: spUUID, host: ctx.hostId }, 'Already disconnected');
    return;
  }
  if (isSpm(ctx, spUUID)) throw storageError(VdsmErrorCode.IsSpm, pyTuple(spUUID));
  ctx.store.upsertHost({ ...serving(ctx), poolId: null });
  ctx.logger.info({ pool: spUUID, host: ctx.hostId }, 'disconnected from storage pool');
}

/** `Host.getConnectedStoragePools`: `[pool]` or `[]`. */
export function connectedPools(ctx: StorageContext): string[] {
  const poolId = connectedPoolId(ctx);
  return poolId === undefined ? [] : [poolId];
}

/** The serving host's row; a host the fake serves always has one. */
function serving(ctx: StorageContext): HostRecord {
  const host = ctx.store.getHost(ctx.hostId);
  if (host === undefined) throw new Error(`host ${ctx.hostId} has no row in the state database`);
  return host;
}

function capitalise(status: string): StorageDomainStatus {
  return (status.charAt(0).toUpperCase() + status.slice(1).toLowerCase()) as StorageDomainStatus;
}
