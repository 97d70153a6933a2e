/**
 * Tests only: what the copy-side storage tests (move, copy, create, clone,
 * sync) share on top of storage-test-bed.ts: a fixture with domains too
 * small for a copy, a second roomy file domain and a small disk with data
 * at scattered offsets; waiting for a task to end; volume file paths.
 */
import { TASK_DONE_STATES } from '@vdsm-kit/client/api';
import { volumePath } from '../data/layout.js';
import type { FixtureInput } from '../model/fixture.js';
import { storageTestFixture, TEST_IDS } from './storage-test-bed.js';
import type { StorageTestBed, StorageTestFixtureOptions } from './storage-test-bed.js';
import type { TaskRow } from '../tasks/task-repo.js';

const MiB = 1024 * 1024;

/** Ids of `copyTestFixture()`: `storageTestFixture`'s plus the domains and disk below. */
export const COPY_IDS = {
  ...TEST_IDS,
  /** A second NFS domain, 10 GiB. */
  roomyFileDomain: 'c0c0c0c0-0000-4000-8000-000000000001',
  /** An NFS domain of 1 MiB: too small for `smallImage`'s data. */
  tinyFileDomain: 'c0c0c0c0-0000-4000-8000-000000000002',
  /** An iSCSI domain of one 128 MiB extent. */
  oneExtentBlockDomain: 'c0c0c0c0-0000-4000-8000-000000000003',
  /** A 128 MiB RAW sparse disk on the master NFS domain with about 1.4 MiB of data in three places. */
  smallImage: 'c0c0c0c0-0000-4000-8000-0000000000a1',
  smallVolume: 'c0c0c0c0-0000-4000-8000-0000000000b1',
} as const;

/** Capacity of `smallImage` (one extent, so its copy on a block domain has the same size). */
export const SMALL_DISK_SIZE = 128 * MiB;

/** The bytes of data `smallImage` holds. */
export const SMALL_DISK_DATA = MiB + 300 * 1024 + 64 * 1024;

/** `storageTestFixture(options)` plus the domains and the disk of `COPY_IDS`. */
export function copyTestFixture(options: StorageTestFixtureOptions = {}): FixtureInput {
  const fixture = storageTestFixture(options);
  return {
    ...fixture,
    domains: [
      ...(fixture.domains ?? []),
      { id: COPY_IDS.roomyFileDomain, name: 'nfs-roomy', kind: 'file', type: 'NFS', capacity: '10 GiB' },
      { id: COPY_IDS.tinyFileDomain, name: 'nfs-tiny', kind: 'file', type: 'NFS', capacity: '1 MiB' },
      { id: COPY_IDS.oneExtentBlockDomain, name: 'iscsi-small', kind: 'block', type: 'ISCSI', capacity: '128 MiB' },
    ],
    disks: [
      ...(fixture.disks ?? []),
      {
        id: COPY_IDS.smallImage,
        domain: COPY_IDS.fileDomain,
        capacity: SMALL_DISK_SIZE,
        description: 'small disk',
        volumes: [
          {
            id: COPY_IDS.smallVolume,
            format: 'RAW',
            allocation: 'SPARSE',
            data: [
              { offset: 0, pattern: 0x11, length: '1 MiB' },
              // Unaligned, in the middle of a hole.
              { offset: 50 * MiB + 123, hex: 'c0ffee', length: '300 KiB' },
              { offset: SMALL_DISK_SIZE - 64 * 1024, pattern: 'tail', length: '64 KiB' },
            ],
          },
        ],
      },
    ],
  };
}

/** Waits (real time, firing due timers) until the task is done; returns its row. */
export async function waitForTask(bed: StorageTestBed, taskId: string, timeoutMs = 20_000): Promise<TaskRow> {
  await bed.waitFor(() => {
    const state = bed.tasks.getRecord(taskId)?.state;
    return state !== undefined && TASK_DONE_STATES.has(state);
  }, timeoutMs);
  const row = bed.tasks.getRecord(taskId);
  if (row === undefined) throw new Error(`task ${taskId} vanished`);
  return row;
}

/** The file of volume `vol` of image `img` on `sd` in the bed's state folder. */
export function volumeFile(bed: StorageTestBed, sd: string, img: string, vol: string): string {
  return volumePath(bed.stateDir, sd, img, vol);
}
