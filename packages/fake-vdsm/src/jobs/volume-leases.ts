/**
 * The volume leases SDM jobs take (sanlock resources on the domain's
 * `leases` volume, or `<volume>.lease` on a file domain; vdsm-sdm.md §1.3):
 * exclusive, across hosts, never waited for. One table for the process,
 * since all its hosts see one storage; memory only, because sanlock frees a
 * lease when its holder's process dies.
 *
 * Only domains with volume leases have them (VDSM `hasVolumeLeases()`: a
 * shared domain of format 3 or newer, SANLock); LOCALFS and V1/V2 domains
 * lock nothing here, and `Volume.getInfo` shows no `lease` for them.
 */
import { StorageDomainType, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { VolumeLease } from '@vdsm-kit/client/api';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { storageError } from '../storage/storage-error.js';
import type { VdsmError } from '@vdsm-kit/client/api';

/** The first domain format whose domains hold volume leases in sanlock. */
const FIRST_SANLOCK_VERSION = 3;

/** A block domain's `leases` LV: 1 MiB slots, volume leases from slot 100 on (VDSM's `LEASES_SLOTS`). */
const BLOCK_LEASE_SLOT_BYTES = 1024 * 1024;
const BLOCK_FIRST_VOLUME_SLOT = 100;

/** True when volumes of `domain` have sanlock leases. */
export function hasVolumeLeases(domain: DomainRecord): boolean {
  return domain.type !== StorageDomainType.LocalFs && domain.version >= FIRST_SANLOCK_VERSION;
}

/** Who holds the leases of the process's volumes. */
export class VolumeLeases {
  /** `<sd>/<vol>` -> sanlock host id of the holder. */
  readonly #holders = new Map<string, number>();

  /**
   * Takes the lease of `volumeId` on `domainId` for `hostId` (sanlock
   * `acquire`, which does not wait); returns the function that frees it.
   *
   * @throws VdsmError 651 `Cannot obtain lock` when another holder has it.
   */
  acquire(domainId: string, volumeId: string, lease: VolumeLease, hostId: number): () => void {
    const key = `${domainId}/${volumeId}`;
    if (this.#holders.has(key)) throw leaseBusyError(domainId, volumeId, lease);
    this.#holders.set(key, hostId);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (this.#holders.get(key) === hostId) this.#holders.delete(key);
    };
  }

  /** The host ids holding the lease of `volumeId` (sanlock `read_resource_owners`): `[]` or `[id]`. */
  owners(domainId: string, volumeId: string): number[] {
    const holder = this.#holders.get(`${domainId}/${volumeId}`);
    return holder === undefined ? [] : [holder];
  }

  /** Every lease is freed (the process is gone). */
  clear(): void {
    this.#holders.clear();
  }
}

/** sanlock's SANLK_ACQUIRE_IDLIVE: the lease is held by a host that is alive. */
const SANLK_ACQUIRE_IDLIVE = -243;

/** clusterlock.py `SANLock.acquire`'s AcquireLockFailure(sd, e.errno, "Cannot acquire <lease>", str(e)). */
function leaseBusyError(domainId: string, volumeId: string, lease: VolumeLease): VdsmError {
  const err = `(${SANLK_ACQUIRE_IDLIVE}, 'Sanlock resource not acquired', 'Lease is held by another host')`;
  const out = `Cannot acquire Lease(name='${volumeId}', path='${lease.path}', offset=${lease.offset})`;
  return storageError(VdsmErrorCode.AcquireLockFailure, `id=${domainId}, rc=${SANLK_ACQUIRE_IDLIVE}, out=${out}, err=${err}`);
}

/**
 * `Volume.getInfo` `lease` (volume.py `getLeaseStatus`): where the lease
 * lives and who holds it. `version` is the lease's sanlock version, which
 * the fake does not count: null, as for a lease never acquired.
 */
export function volumeLeaseInfo(domain: DomainRecord, volume: VolumeRecord, volumePath: string, owners: number[]): VolumeLease {
  if (domain.kind === 'block') {
    return { path: `/dev/${domain.id}/leases`, offset: (BLOCK_FIRST_VOLUME_SLOT + metadataSlot(volume)) * BLOCK_LEASE_SLOT_BYTES, owners, version: null };
  }
  return { path: `${volumePath}.lease`, offset: 0, owners, version: null };
}

/**
 * The volume's slot in the `leases` LV. VDSM keeps it in the LV's `MD_<n>`
 * tag; the fake keeps no slot numbers, so a stable one is drawn from the
 * volume id (what matters to a reader is that it is the same every time).
 */
function metadataSlot(volume: VolumeRecord): number {
  return Number.parseInt(volume.id.slice(0, 4), 16) % 1900;
}
