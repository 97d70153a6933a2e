/**
 * What `fake-vdsm serve` seeds without `--fixture`: one pool with a master
 * NFS domain and an iSCSI domain (100 GiB each), one host (the SPM), and a
 * sparse RAW 1 GiB disk on the NFS domain with data at a few scattered
 * offsets. The ids are fixed (and easy to type) so commands in the README
 * can be copy-pasted; docs/fixture.md lists them.
 */
import type { FixtureInput } from './fixture-schema.js';

/** The default fixture's ids. */
export const DEFAULT_IDS = {
  pool: '11111111-1111-4111-8111-111111111111',
  /** The master domain (NFS, file). */
  fileDomain: '22222222-2222-4222-8222-222222222222',
  /** The iSCSI (block) domain. */
  blockDomain: '33333333-3333-4333-8333-333333333333',
  /** The disk's image on the NFS domain. */
  image: '44444444-4444-4444-8444-444444444444',
  /** The disk's only volume. */
  volume: '55555555-5555-4555-8555-555555555555',
  /** Host 1's uuid. */
  host: '66666666-6666-4666-8666-666666666666',
} as const;

/**
 * The default fixture, as it would be written in a file (a fresh object per
 * call, so a caller may change it). Its data (about 5 MiB in four places,
 * one unaligned, one ending at the disk's last byte) makes a copy's checksum
 * and its kept holes worth checking.
 */
export function defaultFixture(): FixtureInput {
  return {
  pools: [{ id: DEFAULT_IDS.pool, name: 'Default' }],
  hosts: [{ id: 1, uuid: DEFAULT_IDS.host, name: 'host-1' }],
  domains: [
    { id: DEFAULT_IDS.fileDomain, name: 'nfs-data', kind: 'file', type: 'NFS', role: 'Master', capacity: '100 GiB' },
    { id: DEFAULT_IDS.blockDomain, name: 'iscsi-data', kind: 'block', type: 'ISCSI', capacity: '100 GiB', discard: true },
  ],
  disks: [
    {
      id: DEFAULT_IDS.image,
      domain: DEFAULT_IDS.fileDomain,
      capacity: '1 GiB',
      description: '{"DiskAlias":"demo-disk","DiskDescription":"fake-vdsm default disk"}',
      volumes: [
        {
          id: DEFAULT_IDS.volume,
          format: 'RAW',
          allocation: 'SPARSE',
          data: [
            { offset: 0, pattern: 0xf0, length: '1 MiB' },
            { offset: '100 MiB', pattern: 'vdsm-kit ', length: '4 MiB' },
            { offset: 536_883_257, hex: 'deadbeef', length: '64 KiB' },
            { offset: 1_073_676_288, base64: 'ZW5kIG9mIGRpc2sK', length: '64 KiB' },
          ],
        },
      ],
    },
  ],
  };
}
