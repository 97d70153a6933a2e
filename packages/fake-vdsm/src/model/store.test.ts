import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLANK_UUID, VolumeAllocation, VolumeFormat, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { openStateDatabase } from './db.js';
import type { StateDatabase } from './db.js';
import type { DomainRecord, HostRecord, PoolRecord, VolumeRecord } from './records.js';
import { StateStore } from './store.js';

const POOL = '10000000-0000-4000-8000-000000000001';
const SD_FILE = '20000000-0000-4000-8000-000000000002';
const SD_BLOCK = '30000000-0000-4000-8000-000000000003';
const IMG_1 = '40000000-0000-4000-8000-000000000004';
const IMG_2 = '41000000-0000-4000-8000-000000000004';
const VOL_1 = '50000000-0000-4000-8000-000000000005';
const VOL_2 = '51000000-0000-4000-8000-000000000005';
const VOL_3 = '52000000-0000-4000-8000-000000000005';

const pool: PoolRecord = { id: POOL, name: 'dc', masterDomainId: SD_FILE, masterVersion: 1, spmHostId: null, lver: -1 };
const host: HostRecord = { id: 1, uuid: '60000000-0000-4000-8000-000000000006', name: 'host-1', poolId: POOL };
const fileDomain: DomainRecord = {
  id: SD_FILE,
  poolId: POOL,
  name: 'nfs',
  kind: 'file',
  type: 'NFS',
  domainClass: 'Data',
  role: 'Master',
  status: 'Active',
  version: 5,
  capacity: 100 * 1024 ** 3,
  blockSize: 512,
  discard: false,
  reachable: true,
};
const blockDomain: DomainRecord = { ...fileDomain, id: SD_BLOCK, name: 'iscsi', kind: 'block', type: 'ISCSI', role: 'Regular', blockSize: 4096, discard: true };

function volume(fields: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    domainId: SD_FILE,
    id: VOL_1,
    imageId: IMG_1,
    parentId: BLANK_UUID,
    format: VolumeFormat.RAW,
    allocation: VolumeAllocation.Sparse,
    role: VolumeRole.Leaf,
    diskType: 'DATA',
    capacity: 1024 ** 3,
    legality: VolumeLegality.Legal,
    generation: 0,
    description: '',
    ctime: 1_700_000_000,
    removed: false,
    ...fields,
  };
}

describe('model/store', () => {
  let dir: string;
  let db: StateDatabase;
  let store: StateStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-store-'));
    db = openStateDatabase(dir);
    store = new StateStore(db);
    store.upsertPool(pool);
    store.upsertHost(host);
    store.upsertDomain(fileDomain);
    store.upsertDomain(blockDomain);
  });

  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('pools and hosts', () => {
    it('round-trips records and upserts by id', () => {
      expect(store.getPool(POOL)).to.deep.equal(pool);
      store.upsertPool({ ...pool, name: 'renamed', masterVersion: 2 });
      expect(store.listPools()).to.deep.equal([{ ...pool, name: 'renamed', masterVersion: 2 }]);
      expect(store.getPool(SD_FILE)).to.equal(undefined);

      expect(store.getHost(1)).to.deep.equal(host);
      store.upsertHost({ id: 2, uuid: '61000000-0000-4000-8000-000000000006', name: 'host-2', poolId: null });
      expect(store.listHosts().map((h) => h.id)).to.deep.equal([1, 2]);
      expect(store.listHosts(POOL).map((h) => h.id)).to.deep.equal([1]);
      expect(store.getHost(2)?.poolId).to.equal(null);
      expect(store.getHost(3)).to.equal(undefined);
    });

    it('moves the SPM role and lver, and reports an unknown pool', () => {
      expect(store.setSpm(POOL, 1, 0)).to.equal(true);
      expect(store.getPool(POOL)).to.include({ spmHostId: 1, lver: 0 });
      expect(store.setSpm(POOL, null, 0)).to.equal(true);
      expect(store.getPool(POOL)?.spmHostId).to.equal(null);
      expect(store.setSpm(SD_FILE, 1, 1)).to.equal(false);
    });

    it('refuses a second host with the same uuid', () => {
      expect(() => store.upsertHost({ ...host, id: 2 })).to.throw(/UNIQUE constraint failed: hosts.uuid/);
    });
  });

  describe('domains', () => {
    it('maps booleans and the class column both ways', () => {
      expect(store.getDomain(SD_BLOCK)).to.deep.equal(blockDomain);
      store.upsertDomain({ ...blockDomain, reachable: false, discard: false });
      expect(store.getDomain(SD_BLOCK)).to.include({ reachable: false, discard: false, domainClass: 'Data' });
      expect(db.prepare('SELECT class, discard, reachable FROM domains WHERE id = ?').get(SD_BLOCK)).to.deep.equal({
        class: 'Data',
        discard: 0,
        reachable: 0,
      });
    });

    it('lists all domains or those of one pool', () => {
      expect(store.listDomains().map((d) => d.id)).to.deep.equal([SD_FILE, SD_BLOCK]);
      expect(store.listDomains(POOL)).to.have.length(2);
      expect(store.listDomains(SD_FILE)).to.deep.equal([]);
    });
  });

  describe('volumes', () => {
    beforeEach(() => {
      store.insertVolume(volume({ id: VOL_1, format: VolumeFormat.RAW, role: VolumeRole.Internal }));
      store.insertVolume(volume({ id: VOL_2, parentId: VOL_1, format: VolumeFormat.COW }));
      store.insertVolume(volume({ id: VOL_3, imageId: IMG_2 }));
    });

    it('round-trips a volume record', () => {
      expect(store.getVolume(SD_FILE, VOL_2)).to.deep.equal(volume({ id: VOL_2, parentId: VOL_1, format: VolumeFormat.COW }));
      expect(store.getVolume(SD_BLOCK, VOL_2)).to.equal(undefined);
    });

    it('holds the same volume UUID on two domains apart', () => {
      store.insertVolume(volume({ domainId: SD_BLOCK, id: VOL_1, legality: VolumeLegality.Illegal, allocation: VolumeAllocation.Preallocated }));
      expect(store.getVolume(SD_FILE, VOL_1)?.legality).to.equal('LEGAL');
      expect(store.getVolume(SD_BLOCK, VOL_1)?.legality).to.equal('ILLEGAL');
      expect(() => store.insertVolume(volume({ id: VOL_1 }))).to.throw(/UNIQUE constraint failed/);
    });

    it('lists volumes per domain or image, and image ids', () => {
      expect(store.listVolumes(SD_FILE).map((v) => v.id)).to.deep.equal([VOL_1, VOL_2, VOL_3]);
      expect(store.listVolumes(SD_FILE, IMG_1).map((v) => v.id)).to.deep.equal([VOL_1, VOL_2]);
      expect(store.listVolumes(SD_FILE, '49000000-0000-4000-8000-000000000004')).to.deep.equal([]);
      expect(store.listImages(SD_FILE)).to.deep.equal([IMG_1, IMG_2]);
      expect(store.listImages(SD_BLOCK)).to.deep.equal([]);
    });

    it('hides removed volumes from listings unless asked, but still gets them by id', () => {
      store.transaction(() => {
        store.updateVolume(SD_FILE, VOL_1, { removed: true });
        store.updateVolume(SD_FILE, VOL_2, { removed: true });
      });
      expect(store.listImages(SD_FILE)).to.deep.equal([IMG_2]);
      expect(store.listVolumes(SD_FILE, IMG_1)).to.deep.equal([]);
      expect(store.listVolumes(SD_FILE).map((v) => v.id)).to.deep.equal([VOL_3]);
      expect(store.listImages(SD_FILE, { includeRemoved: true })).to.deep.equal([IMG_1, IMG_2]);
      expect(store.listVolumes(SD_FILE, IMG_1, { includeRemoved: true }).map((v) => v.removed)).to.deep.equal([true, true]);
      expect(store.getVolume(SD_FILE, VOL_1)?.removed).to.equal(true);
    });

    it('updates only the patched fields', () => {
      expect(store.updateVolume(SD_FILE, VOL_2, { legality: VolumeLegality.Illegal, generation: 3 })).to.equal(true);
      expect(store.getVolume(SD_FILE, VOL_2)).to.deep.equal(
        volume({ id: VOL_2, parentId: VOL_1, format: VolumeFormat.COW, legality: VolumeLegality.Illegal, generation: 3 }),
      );
      // Falsy values are values, not "keep".
      store.updateVolume(SD_FILE, VOL_2, { generation: 0, description: '', removed: false });
      expect(store.getVolume(SD_FILE, VOL_2)).to.include({ generation: 0, description: '', removed: false });
      store.updateVolume(SD_FILE, VOL_2, {
        parentId: BLANK_UUID,
        format: VolumeFormat.RAW,
        allocation: VolumeAllocation.Preallocated,
        role: VolumeRole.Shared,
        diskType: 'OVFS',
        capacity: 2048,
        description: 'x',
      });
      expect(store.getVolume(SD_FILE, VOL_2)).to.deep.equal(
        volume({
          id: VOL_2,
          format: VolumeFormat.RAW,
          allocation: VolumeAllocation.Preallocated,
          role: VolumeRole.Shared,
          diskType: 'OVFS',
          capacity: 2048,
          description: 'x',
          legality: VolumeLegality.Illegal,
        }),
      );
      expect(store.updateVolume(SD_BLOCK, VOL_2, { generation: 1 })).to.equal(false);
    });

    it('deletes one volume or every row of an image on one domain', () => {
      store.insertVolume(volume({ domainId: SD_BLOCK, id: VOL_1, allocation: VolumeAllocation.Preallocated }));
      expect(store.deleteVolume(SD_FILE, VOL_3)).to.equal(true);
      expect(store.deleteVolume(SD_FILE, VOL_3)).to.equal(false);
      expect(store.deleteImageRows(SD_FILE, IMG_1)).to.equal(2);
      expect(store.listVolumes(SD_FILE)).to.deep.equal([]);
      expect(store.getVolume(SD_BLOCK, VOL_1)).to.not.equal(undefined);
    });

    it('refuses a volume on an unknown domain', () => {
      expect(() => store.insertVolume(volume({ domainId: '99000000-0000-4000-8000-000000000009' }))).to.throw(/FOREIGN KEY/);
    });
  });

  describe('transaction', () => {
    it('commits what fn wrote and returns its value', () => {
      const result = store.transaction(() => {
        store.setSpm(POOL, 1, 0);
        store.insertVolume(volume());
        return 'done';
      });
      expect(result).to.equal('done');
      expect(store.getPool(POOL)?.spmHostId).to.equal(1);
      expect(store.getVolume(SD_FILE, VOL_1)).to.not.equal(undefined);
    });

    it('rolls everything back when fn throws, and re-throws', () => {
      expect(() =>
        store.transaction(() => {
          store.setSpm(POOL, 1, 5);
          store.insertVolume(volume());
          store.insertVolume(volume()); // duplicate key
        }),
      ).to.throw(/UNIQUE constraint failed/);
      expect(store.getPool(POOL)).to.include({ spmHostId: null, lver: -1 });
      expect(store.getVolume(SD_FILE, VOL_1)).to.equal(undefined);
    });

    it('makes a nested transaction a savepoint', () => {
      store.transaction(() => {
        store.insertVolume(volume());
        expect(() =>
          store.transaction(() => {
            store.insertVolume(volume({ id: VOL_2 }));
            throw new Error('inner fails');
          }),
        ).to.throw('inner fails');
      });
      expect(store.listVolumes(SD_FILE).map((v) => v.id)).to.deep.equal([VOL_1]);
    });

    it('refuses an async fn (file I/O belongs outside the transaction)', () => {
      expect(() => store.transaction(async () => undefined)).to.throw(/cannot return a promise/);
    });

    it('is seen by a second connection to the same file only once committed', () => {
      const otherDb = openStateDatabase(dir);
      const other = new StateStore(otherDb);
      try {
        store.transaction(() => {
          store.insertVolume(volume());
          expect(other.getVolume(SD_FILE, VOL_1)).to.equal(undefined);
        });
        expect(other.getVolume(SD_FILE, VOL_1)).to.deep.equal(volume());
      } finally {
        otherDb.close();
      }
    });
  });
});
