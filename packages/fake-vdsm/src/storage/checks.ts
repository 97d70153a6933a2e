/**
 * The synchronous checks storage verbs make before they schedule a job, with
 * VDSM's codes and words (vdsm-wire.md §8, §9, §12). The texts come from the
 * client's error table (`vdsmMessage`), never spelled here.
 *
 * Who counts as "connected" and "SPM" is the serving host's view
 * (`ctx.hostId`): the hosts table says which pool a host is connected to and
 * the pools table which host holds the SPM role.
 */
import { pyTuple, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { VdsmError } from '@vdsm-kit/client/api';
import { storageError } from './storage-error.js';
import { domainConditionHolds } from '../faults/domain-faults.js';
import type { DomainRecord, PoolRecord } from '../model/records.js';
import type { StorageContext } from './context.js';

/** Re-exported: most storage modules take it from here with the checks. */
export { storageError } from './storage-error.js';

/** 268 `Image does not exist in domain: 'image=<img>, domain=<sd>'` (a preset string, not a tuple). */
export function imageDoesNotExistError(imgUUID: string, sdUUID: string): VdsmError {
  return storageError(VdsmErrorCode.ImageDoesNotExistInSD, `image=${imgUUID}, domain=${sdUUID}`);
}

/** 304 `Cannot find master domain: 'spUUID=<sp>, msdUUID=<sd>'` (a preset string, exception.py `StoragePoolMasterNotFound`). */
export function masterNotFoundError(spUUID: string, msdUUID: string): VdsmError {
  return storageError(VdsmErrorCode.StoragePoolMasterNotFound, `spUUID=${spUUID}, msdUUID=${msdUUID}`);
}

/** The pool the serving host is connected to, or undefined (a host is connected to one pool at most). */
export function connectedPoolId(ctx: StorageContext): string | undefined {
  return ctx.store.getHost(ctx.hostId)?.poolId ?? undefined;
}

/**
 * The pool `spUUID`, when the serving host is connected to it (VDSM's
 * `HSM.getPool`).
 *
 * @throws VdsmError 309 `Unknown pool id, pool not connected: ('<sp>',)` otherwise.
 */
export function requireConnectedPool(ctx: StorageContext, spUUID: string): PoolRecord {
  const pool = connectedPoolId(ctx) === spUUID ? ctx.store.getPool(spUUID) : undefined;
  if (pool === undefined) throw storageError(VdsmErrorCode.StoragePoolUnknown, pyTuple(spUUID));
  return pool;
}

/**
 * The domain `sdUUID` as VDSM's `sdCache.produce` finds it: known and
 * reachable from this host. Its status (active, attached ...) is not checked,
 * as VDSM does not check it either (§8.1 step 3).
 *
 * A `domainUnreachable` fault rule in force makes it unreachable.
 *
 * @throws VdsmError 358 `Storage domain does not exist: ('<sd>',)` when unknown or unreachable.
 */
export function requireDomain(ctx: StorageContext, sdUUID: string): DomainRecord {
  const domain = ctx.store.getDomain(sdUUID);
  if (domain === undefined || !domain.reachable || domainConditionHolds(ctx, sdUUID, 'domainUnreachable')) {
    throw storageError(VdsmErrorCode.StorageDomainDoesNotExist, pyTuple(sdUUID));
  }
  return domain;
}

/**
 * The domain for a getter that reads its metadata (StorageDomain.getInfo /
 * getStats): 358 as `requireDomain` for an unknown or unreachable row, and
 * 379 `Domain is either partially accessible or entirely inaccessible:
 * ('<sd>',)` while a `domainUnreachable` fault rule is in force (the domain is
 * known but its metadata cannot be read, vdsm-wire.md §5).
 */
export function requireReadableDomain(ctx: StorageContext, sdUUID: string): DomainRecord {
  const domain = ctx.store.getDomain(sdUUID);
  if (domain === undefined || !domain.reachable) throw storageError(VdsmErrorCode.StorageDomainDoesNotExist, pyTuple(sdUUID));
  if (domainConditionHolds(ctx, sdUUID, 'domainUnreachable')) throw storageError(VdsmErrorCode.StorageDomainAccessError, pyTuple(sdUUID));
  return domain;
}

/** True when the serving host is connected to `spUUID` and holds its SPM role. */
export function isSpm(ctx: StorageContext, spUUID: string | undefined): boolean {
  if (spUUID === undefined || connectedPoolId(ctx) !== spUUID) return false;
  return ctx.store.getPool(spUUID)?.spmHostId === ctx.hostId;
}

/**
 * How VDSM words "not SPM" depends on where the check sits (§12):
 * - `schedule`: `_spmSchedule` / `validateSPM` -> `Not SPM: ('<sp>',)`;
 * - `secure`: a `@secured` pool method (`SecureError`, e.g. the early
 *   `Image.delete` rename) -> exactly `Not SPM`;
 * - `getAll`: `Host.getAllTasksStatuses/Info` -> `Not SPM: ()`.
 */
export type NotSpmForm = 'schedule' | 'secure' | 'getAll';

/**
 * Refuses unless the serving host is the SPM of `spUUID` (pass the host's
 * connected pool, possibly undefined, for the `getAll` form).
 *
 * @throws VdsmError 654 worded as `form` says.
 */
export function requireSpm(ctx: StorageContext, spUUID: string | undefined, form: NotSpmForm): void {
  if (isSpm(ctx, spUUID)) return;
  const code = VdsmErrorCode.SpmStatusError;
  if (form === 'secure') throw storageError(code);
  if (form === 'getAll' || spUUID === undefined) throw storageError(code, pyTuple());
  throw storageError(code, pyTuple(spUUID));
}

/**
 * 349 `Discard is not supported by storage domain: 'sdUUID=<sd>, reason=file
 * storage domain'` (fileSD.py / fileVolume.py raise it for any discard).
 */
export function discardNotSupportedError(sdUUID: string): VdsmError {
  return storageError(VdsmErrorCode.DiscardIsNotSupported, `sdUUID=${sdUUID}, reason=file storage domain`);
}
