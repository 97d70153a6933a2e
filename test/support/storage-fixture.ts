/**
 * The pool the storage suites run against, as a fixture object for
 * `startFakeVdsm({ fixture })` or a JSON file for `fake-vdsm serve --fixture`.
 *
 * One pool (host 1 is the SPM), domains for every error path of issue 3
 * (a second file domain to copy to, a file domain too small for a copy, a
 * block domain too small for one, an unreachable one), and disks: the 1 GiB
 * sparse RAW disk with data at scattered offsets (the default fixture's ids,
 * more data), a small disk for quick copies, and preallocated block disks
 * to wipe. Ids are fixed so failures name the same things every run.
 */
import type { VdsmClient } from '@vdsm-kit/client';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import type { FixtureInput } from '@vdsm-kit/fake-vdsm';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Every id of `storageFixture()`. */
export const IDS = {
  pool: DEFAULT_IDS.pool,
  /** nfs-data: the master file domain, 100 GiB; holds the data disk. */
  fileDomain: DEFAULT_IDS.fileDomain,
  /** iscsi-data: block, 100 GiB, discard; holds the block disks. */
  blockDomain: DEFAULT_IDS.blockDomain,
  /** nfs-data2: a second file domain, 100 GiB, empty: where copies go. */
  fileDomain2: 'a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2',
  /** nfs-small: a file domain that fills during a copy of the data disk. */
  smallFileDomain: 'b3b3b3b3-b3b3-4b3b-8b3b-b3b3b3b3b3b3',
  /** iscsi-small: a block domain with fewer free extents than the data disk needs. */
  smallBlockDomain: 'c4c4c4c4-c4c4-4c4c-8c4c-c4c4c4c4c4c4',
  /** nfs-gone: in the pool, but unreachable from the hosts. */
  unreachableDomain: 'd5d5d5d5-d5d5-4d5d-8d5d-d5d5d5d5d5d5',
  /** The 1 GiB sparse RAW disk with data (on nfs-data). */
  dataImage: DEFAULT_IDS.image,
  dataVolume: DEFAULT_IDS.volume,
  /** A 64 MiB sparse RAW disk with 1 MiB of data (on nfs-data). */
  smallImage: 'e6e6e6e6-e6e6-4e6e-8e6e-e6e6e6e6e6e6',
  smallVolume: 'f7f7f7f7-f7f7-4f7f-8f7f-f7f7f7f7f7f7',
  /** Two 256 MiB preallocated RAW disks (two extents each) on iscsi-data. */
  blockImageA: '1a1a1a1a-1a1a-41a1-81a1-1a1a1a1a1a1a',
  blockVolumeA: '2b2b2b2b-2b2b-42b2-82b2-2b2b2b2b2b2b',
  blockImageB: '3c3c3c3c-3c3c-43c3-83c3-3c3c3c3c3c3c',
  blockVolumeB: '4d4d4d4d-4d4d-44d4-84d4-4d4d4d4d4d4d',
  /** An image no domain has. */
  missingImage: '5e5e5e5e-5e5e-45e5-85e5-5e5e5e5e5e5e',
  /** A pool and a domain nobody knows. */
  unknownPool: '6f6f6f6f-6f6f-46f6-86f6-6f6f6f6f6f6f',
  unknownDomain: '7a7a7a7a-7a7a-47a7-87a7-7a7a7a7a7a7a',
} as const;

/** Capacity of the data disk. */
export const DATA_DISK_BYTES = 1 * GiB;
/** One piece of the data disk's data. */
const PIECE_BYTES = 2 * MiB;
/** How many pieces: 12 x 2 MiB = 24 MiB of data in 1 GiB. */
const PIECES = 12;
/** Capacity of each block disk: two 128 MiB extents. */
export const BLOCK_DISK_BYTES = 256 * MiB;
/** Capacity of nfs-small: far less than the data disk's 24 MiB of data. */
export const SMALL_FILE_DOMAIN_BYTES = 8 * MiB;

/** A data entry of the fixture. */
interface DataEntry {
  readonly offset: number;
  readonly length: number;
  readonly pattern: string | number;
}

/**
 * The data disk's pieces: spread over the whole disk, one at offset 0, one
 * unaligned (not on a 4 KiB boundary), one ending at the disk's last byte;
 * each with its own text so a piece copied to the wrong place is caught.
 */
export function dataDiskPieces(capacity = DATA_DISK_BYTES, pieces = PIECES, pieceBytes = PIECE_BYTES): DataEntry[] {
  const slot = Math.floor((capacity - pieceBytes) / (pieces - 1) / (4 * KiB)) * 4 * KiB;
  return Array.from({ length: pieces }, (_, index) => {
    let offset = index * slot;
    if (index === pieces - 1) offset = capacity - pieceBytes;
    else if (index === Math.floor(pieces / 2)) offset += 12_345;
    return { offset, length: pieceBytes, pattern: index === 0 ? 0xf0 : `piece ${index} of the vdsm-kit data disk ` };
  });
}

/**
 * The data disk of the crash tests: 1 GiB holding 96 MiB (48 x 2 MiB), so a
 * copy lasts long enough (a few hundred ms) to record progress several
 * times before it ends, at a `--time-scale` of 0.01.
 */
export const CRASH_DATA_DISK = { capacity: DATA_DISK_BYTES, pieces: 48, pieceBytes: PIECE_BYTES } as const;

/** Bytes of data in `dataDiskPieces()`. */
export function dataBytes(entries: readonly DataEntry[]): number {
  return entries.reduce((sum, entry) => sum + entry.length, 0);
}

/** Options of `storageFixture`. */
export interface StorageFixtureOptions {
  /** Hosts 1..N connected to the pool (default 2); host 1 is the SPM. */
  readonly connectedHosts?: number;
  /** Add a host, id N+1, that is not connected to any pool (default true). */
  readonly unconnectedHost?: boolean;
  /** The data disk's capacity and data (default 1 GiB, 12 x 2 MiB). */
  readonly dataDisk?: { readonly capacity: number; readonly pieces: number; readonly pieceBytes: number };
}

/** The suites' fixture (see the module comment). A fresh object per call. */
export function storageFixture(options: StorageFixtureOptions = {}): FixtureInput {
  const connected = options.connectedHosts ?? 2;
  const hosts: NonNullable<FixtureInput['hosts']> = Array.from({ length: connected }, (_, index) => ({
    id: index + 1,
    name: `host-${index + 1}`,
    pool: IDS.pool,
  }));
  if (options.unconnectedHost ?? true) hosts.push({ id: connected + 1, name: `host-${connected + 1}`, pool: null });
  const dataDisk = options.dataDisk ?? { capacity: DATA_DISK_BYTES, pieces: PIECES, pieceBytes: PIECE_BYTES };
  return {
    pools: [{ id: IDS.pool, name: 'Default', spm: 1 }],
    hosts,
    domains: [
      { id: IDS.fileDomain, name: 'nfs-data', kind: 'file', type: 'NFS', role: 'Master', capacity: '100 GiB' },
      { id: IDS.blockDomain, name: 'iscsi-data', kind: 'block', type: 'ISCSI', capacity: '100 GiB', discard: true },
      { id: IDS.fileDomain2, name: 'nfs-data2', kind: 'file', type: 'NFS', capacity: '100 GiB' },
      { id: IDS.smallFileDomain, name: 'nfs-small', kind: 'file', type: 'NFS', capacity: SMALL_FILE_DOMAIN_BYTES },
      { id: IDS.smallBlockDomain, name: 'iscsi-small', kind: 'block', type: 'ISCSI', capacity: '256 MiB' },
      { id: IDS.unreachableDomain, name: 'nfs-gone', kind: 'file', type: 'NFS', capacity: '10 GiB', reachable: false },
    ],
    disks: [
      {
        id: IDS.dataImage,
        domain: IDS.fileDomain,
        capacity: dataDisk.capacity,
        volumes: [
          {
            id: IDS.dataVolume,
            format: 'RAW',
            allocation: 'SPARSE',
            data: dataDiskPieces(dataDisk.capacity, dataDisk.pieces, dataDisk.pieceBytes),
          },
        ],
      },
      {
        id: IDS.smallImage,
        domain: IDS.fileDomain,
        capacity: '64 MiB',
        volumes: [{ id: IDS.smallVolume, format: 'RAW', allocation: 'SPARSE', data: [{ offset: '3 MiB', pattern: 'small disk ', length: '1 MiB' }] }],
      },
      blockDisk(IDS.blockImageA, IDS.blockVolumeA, 'block disk A '),
      blockDisk(IDS.blockImageB, IDS.blockVolumeB, 'block disk B '),
    ],
  };
}

/** A preallocated RAW disk on iscsi-data with data in its first and its last MiB. */
function blockDisk(image: string, volume: string, text: string): NonNullable<FixtureInput['disks']>[number] {
  return {
    id: image,
    domain: IDS.blockDomain,
    capacity: BLOCK_DISK_BYTES,
    volumes: [
      {
        id: volume,
        format: 'RAW',
        allocation: 'PREALLOCATED',
        data: [
          { offset: 0, pattern: text, length: '1 MiB' },
          { offset: BLOCK_DISK_BYTES - MiB, pattern: text, length: '1 MiB' },
        ],
      },
    ],
  };
}

/** `Image.move` params: a copy (operation 1) of `imageID`, by default from nfs-data to nfs-data2. */
export function copyParams(imageID: string, dstSdUUID: string = IDS.fileDomain2, srcSdUUID: string = IDS.fileDomain): Parameters<VdsmClient['Image']['move']>[0] {
  return { imageID, storagepoolID: IDS.pool, storagedomainID: srcSdUUID, dstSdUUID, operation: 1, postZero: false, force: false };
}
