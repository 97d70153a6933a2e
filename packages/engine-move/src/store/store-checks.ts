/**
 * What must hold before a move is recorded, checked the same way by every
 * store inside its creating transaction (so the answer cannot change between
 * the check and the write).
 */
import { MoveStoreError } from './move-store.js';
import type { Transition } from './move-store.js';
import type { Fence } from './leases.js';
import type { DiskRecord, MoveRecord, MoveRequest } from './records.js';
import { COPY_PATH_CHOICES } from './records.js';

/** A disk as discovered must be a chain: at least one volume, positions 0..n-1, parents inside the disk. */
export function checkDisk(disk: DiskRecord): void {
  if (disk.volumes.length === 0) throw new MoveStoreError('UNKNOWN_DISK', `Disk ${disk.diskId} has no volumes`);
  const ids = new Set(disk.volumes.map((v) => v.volumeId));
  const positions = disk.volumes.map((v) => v.position).sort((a, b) => a - b);
  positions.forEach((position, index) => {
    if (position !== index) {
      throw new MoveStoreError('UNKNOWN_DISK', `Disk ${disk.diskId}'s volume positions are not 0..${disk.volumes.length - 1}`);
    }
  });
  for (const v of disk.volumes) {
    if (v.diskId !== disk.diskId) {
      throw new MoveStoreError('UNKNOWN_DISK', `Volume ${v.volumeId} is listed under disk ${disk.diskId} but names ${v.diskId}`);
    }
    if (v.parentId !== null && !ids.has(v.parentId)) {
      throw new MoveStoreError('UNKNOWN_DISK', `Volume ${v.volumeId}'s parent ${v.parentId} is not a volume of disk ${disk.diskId}`);
    }
  }
}

export function checkNewMove(request: MoveRequest, disk: DiskRecord | undefined, active: MoveRecord | undefined): void {
  if (request.srcDomainId === request.dstDomainId) {
    throw new MoveStoreError('BAD_REQUEST', `Source and target are the same domain (${request.srcDomainId})`);
  }
  if (request.copyPath !== undefined && !(COPY_PATH_CHOICES as readonly string[]).includes(request.copyPath)) {
    throw new MoveStoreError('BAD_REQUEST', `copyPath must be one of ${COPY_PATH_CHOICES.join(', ')}, got ${JSON.stringify(request.copyPath)}`);
  }
  if (request.copyRetries !== undefined && !(Number.isInteger(request.copyRetries) && request.copyRetries >= 0)) {
    throw new MoveStoreError('BAD_REQUEST', `copyRetries must be an integer >= 0, got ${JSON.stringify(request.copyRetries)}`);
  }
  if (request.excludeHosts !== undefined && !request.excludeHosts.every((host) => typeof host === 'string' && host.length > 0)) {
    throw new MoveStoreError('BAD_REQUEST', 'excludeHosts must be host names');
  }
  if (request.mode === 'legacy' && request.copyPath === 'sdm') {
    throw new MoveStoreError('BAD_REQUEST', 'The legacy single verb is an SPM task; it cannot take the SDM path');
  }
  if (!disk) throw new MoveStoreError('UNKNOWN_DISK', `Disk ${request.diskId} is not known to the store`);
  if (active) {
    throw new MoveStoreError(
      'DISK_ALREADY_MOVING',
      `Disk ${request.diskId} is already being moved by move ${active.moveId} (${active.state}); nothing was changed`,
    );
  }
  if (disk.poolId !== request.poolId) {
    throw new MoveStoreError('UNKNOWN_DISK', `Disk ${request.diskId} belongs to pool ${disk.poolId}, not ${request.poolId}`);
  }
  const elsewhere = disk.volumes.filter((v) => v.domainId !== request.srcDomainId);
  if (elsewhere.length > 0) {
    throw new MoveStoreError(
      'DISK_NOT_ON_SOURCE',
      `Disk ${request.diskId} is on domain ${elsewhere[0]!.domainId}, not on the source ${request.srcDomainId}`,
    );
  }
  const notOk = disk.volumes.filter((v) => v.status !== 'OK');
  if (notOk.length > 0) {
    throw new MoveStoreError(
      'DISK_NOT_OK',
      `Disk ${request.diskId} has volume ${notOk[0]!.volumeId} ${notOk[0]!.status}; only a disk whose volumes are all OK is moved`,
    );
  }
}

/** A move only reaches 'done' with a result, given now or earlier. */
export function checkTransitionEnd(t: Transition, currentResult: string | null): void {
  if (t.to === 'done' && t.move?.result === undefined && currentResult === null) {
    throw new MoveStoreError('BAD_TRANSITION', `Move ${t.moveId} ${t.from} -> done without a result`);
  }
}

/** A fenced write goes through only while its owner and epoch still hold the move. */
export function checkFence(t: { readonly moveId: string; readonly fence?: Fence }, held: { readonly owner: string | null; readonly epoch: number }): void {
  const { fence } = t;
  if (!fence) return;
  if (held.owner !== fence.owner || held.epoch !== fence.epoch) {
    const holder = held.owner === null ? 'nobody (released)' : `${held.owner} epoch ${held.epoch}`;
    throw new MoveStoreError(
      'FENCED',
      `Move ${t.moveId} is held by ${holder}, not ${fence.owner} epoch ${fence.epoch}: the write was refused and nothing changed`,
    );
  }
}

/** A placeholder that would take the pool past its shared submission window is refused. */
export function checkWindow(moveId: string, poolId: string, inFlight: number, limit: number | undefined): void {
  if (limit === undefined) return;
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new MoveStoreError('BAD_TRANSITION', `windowLimit must be an integer >= 1, got ${limit}`);
  if (inFlight >= limit) {
    throw new MoveStoreError(
      'WINDOW_FULL',
      `Pool ${poolId} already has ${inFlight} tasks in flight (window ${limit}): move ${moveId}'s task waits; nothing changed`,
    );
  }
}

/** A lease period the store accepts: whole milliseconds, at least 1. */
export function checkLeaseMs(leaseMs: number): void {
  if (!(Number.isSafeInteger(leaseMs) && leaseMs >= 1)) throw new MoveStoreError('BAD_REQUEST', `leaseMs must be an integer >= 1, got ${leaseMs}`);
}

export function checkClaimLimit(limit: number): void {
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new MoveStoreError('BAD_REQUEST', `claim limit must be an integer >= 1, got ${limit}`);
}
