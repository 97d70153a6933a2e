import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLANK_UUID, VolumeAllocation, VolumeFormat, VolumeRole } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { openStateDatabase } from './db.js';
import type { StateDatabase } from './db.js';
import { DEFAULT_IDS, defaultFixture } from './default-fixture.js';
import { applyFixture, dataChunks, FixtureError, MAX_WRITE_CHUNK, planFixture, readFixtureFile } from './fixture.js';
import type { FixtureFiles, FixtureInput } from './fixture.js';
import type { DomainRecord, VolumeRecord } from './records.js';
import { StateStore } from './store.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const POOL = '455c18ce-cab7-4837-b11e-6b49dc329bd0';
const SD_FILE = 'e976c9ac-def2-4527-9b84-997a2ca89bc7';
const SD_BLOCK = '7fd8dc64-d367-4bd5-af3a-1ce27f0e1ee6';
const IMG = 'bc95fdc5-3e2d-4edf-aa38-751ccf6177de';
const VOL_1 = '4772413a-ee39-42a1-b825-7d12af1a2778';
const VOL_2 = '2be2b4ce-29da-4420-9975-19504ddd5236';
const VOL_3 = '6ab71f2d-2d61-4e38-8feb-864fffb57dbf';

/** A small valid fixture; tests break one thing in it at a time. */
function baseFixture(): FixtureInput {
  return {
    pools: [{ id: POOL }],
    hosts: [{ id: 1 }],
    domains: [
      { id: SD_FILE, kind: 'file' },
      { id: SD_BLOCK, kind: 'block', capacity: '1 GiB' },
    ],
    disks: [{ id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1 }, { id: VOL_2 }] }],
  };
}

/** The issues a fixture is refused with, as `path: reason` lines. */
function problems(input: unknown): string[] {
  try {
    planFixture(input);
  } catch (error) {
    expect(error).to.be.instanceOf(FixtureError);
    return (error as FixtureError).issues.map((issue) => `${issue.path}: ${issue.reason}`);
  }
  expect.fail('the fixture was accepted');
}

/** Remembers every call; `writeData` bytes are copied (the caller reuses its buffer). */
class RecordingFiles implements FixtureFiles {
  readonly calls: string[] = [];
  readonly writes: { volume: string; offset: number; bytes: Buffer }[] = [];
  failOn: string | undefined;

  async createVolume(domain: DomainRecord, volume: VolumeRecord, parent?: VolumeRecord): Promise<void> {
    if (volume.id === this.failOn) throw new Error('disk full');
    this.calls.push(`create ${domain.id}/${volume.id}${parent ? ` on ${parent.id}` : ''}`);
  }

  async writeData(domain: DomainRecord, volume: VolumeRecord, offset: number, bytes: Buffer): Promise<void> {
    this.calls.push(`write ${domain.id}/${volume.id} @${offset} +${bytes.length}`);
    this.writes.push({ volume: volume.id, offset, bytes: Buffer.from(bytes) });
  }

  /** What a reader of `volume` would see in [offset, offset + length), holes as zeros. */
  read(volume: string, offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    for (const write of this.writes) {
      if (write.volume !== volume) continue;
      const start = Math.max(offset, write.offset);
      const end = Math.min(offset + length, write.offset + write.bytes.length);
      if (start < end) write.bytes.copy(out, start - offset, start - write.offset, end - write.offset);
    }
    return out;
  }
}

describe('model/fixture', () => {
  describe('planFixture: defaults', () => {
    it('fills every default of a minimal fixture', () => {
      const plan = planFixture(baseFixture(), { ctime: 1234 });
      expect(plan.pools).to.deep.equal([{ id: POOL, name: 'pool-1', masterDomainId: SD_FILE, masterVersion: 1, spmHostId: 1, lver: 0 }]);
      expect(plan.hosts).to.have.length(1);
      expect(plan.hosts[0]).to.include({ id: 1, name: 'host-1', poolId: POOL });
      expect(plan.hosts[0]?.uuid).to.match(/^[0-9a-f-]{36}$/);
      expect(plan.domains).to.deep.equal([
        {
          id: SD_FILE,
          poolId: POOL,
          name: 'nfs-1',
          kind: 'file',
          type: 'NFS',
          domainClass: 'Data',
          role: 'Master',
          status: 'Active',
          version: 5,
          capacity: 100 * GiB,
          blockSize: 512,
          discard: false,
          reachable: true,
        },
        {
          id: SD_BLOCK,
          poolId: POOL,
          name: 'iscsi-2',
          kind: 'block',
          type: 'ISCSI',
          domainClass: 'Data',
          role: 'Regular',
          status: 'Active',
          version: 5,
          capacity: GiB,
          blockSize: 512,
          discard: true,
          reachable: true,
        },
      ]);
      const common = { domainId: SD_FILE, imageId: IMG, diskType: 'DATA', capacity: GiB, legality: 'LEGAL', generation: 0, description: '', ctime: 1234, removed: false };
      expect(plan.volumes.map((v) => v.record)).to.deep.equal([
        { ...common, id: VOL_1, parentId: BLANK_UUID, format: VolumeFormat.RAW, allocation: VolumeAllocation.Sparse, role: VolumeRole.Internal },
        { ...common, id: VOL_2, parentId: VOL_1, format: VolumeFormat.COW, allocation: VolumeAllocation.Sparse, role: VolumeRole.Leaf },
      ]);
      expect(plan.volumes[1]?.parent).to.equal(plan.volumes[0]?.record);
    });

    it('accepts an empty fixture', () => {
      expect(planFixture({})).to.deep.equal({ pools: [], hosts: [], domains: [], volumes: [] });
    });

    it('preallocates RAW volumes on block domains and rounds capacities up to 4 KiB', () => {
      const fixture = baseFixture();
      fixture.disks = [{ id: IMG, domain: SD_BLOCK, capacity: 1000, volumes: [{ id: VOL_3 }] }];
      expect(planFixture(fixture).volumes[0]?.record).to.include({
        format: VolumeFormat.RAW,
        allocation: VolumeAllocation.Preallocated,
        capacity: 4096,
      });
    });

    it('reads sizes as bytes or with binary units, and lower-cases ids', () => {
      const fixture = baseFixture();
      fixture.domains = [{ id: SD_FILE.toUpperCase(), kind: 'file', capacity: '3 gib' }];
      fixture.disks = [{ id: IMG, domain: SD_FILE, capacity: 8192, volumes: [{ id: VOL_1, data: [{ offset: '4 KiB', pattern: 1, length: '4096' }] }] }];
      const plan = planFixture(fixture);
      expect(plan.domains[0]).to.include({ id: SD_FILE, capacity: 3 * GiB });
      expect(plan.volumes[0]?.data).to.deep.equal([{ offset: 4096, length: 4096, bytes: Buffer.of(1) }]);
    });

    it('leaves the SPM empty on request and then keeps lver at LVER_INVALID', () => {
      const fixture = baseFixture();
      fixture.pools = [{ id: POOL, spm: null }];
      expect(planFixture(fixture).pools[0]).to.include({ spmHostId: null, lver: -1 });
    });

    it('bases a disk on a template volume listed earlier on the same domain', () => {
      const fixture = baseFixture();
      const template = '6326c231-e47c-4e08-b230-998705a27710';
      fixture.disks = [
        { id: 'c91c7443-3b08-498a-8853-272e5fbeadb9', domain: SD_FILE, capacity: '10 GiB', volumes: [{ id: template, role: 'SHARED' }] },
        { id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, parent: template }] },
      ];
      const [base, child] = planFixture(fixture).volumes;
      expect(base?.record).to.include({ role: VolumeRole.Shared, format: VolumeFormat.RAW });
      expect(child?.record).to.include({ parentId: template, format: VolumeFormat.COW, capacity: 10 * GiB, role: VolumeRole.Leaf });
      expect(child?.parent).to.equal(base?.record);
    });
  });

  describe('planFixture: errors', () => {
    it('names the path and the reason of a bad UUID, and of the blank UUID', () => {
      const fixture = baseFixture();
      fixture.disks = [{ id: IMG, domain: SD_FILE, volumes: [{ id: 'not-a-uuid' }, { id: BLANK_UUID }] }];
      expect(problems(fixture)).to.deep.equal([
        'disks[0].volumes[0].id: must be a UUID (8-4-4-4-12 hex digits)',
        `disks[0].volumes[1].id: must not be the blank UUID ${BLANK_UUID} (VDSM reads it as "none")`,
      ]);
    });

    it('reports missing fields, unknown keys, bad enums and bad sizes', () => {
      expect(
        problems({
          pools: [{ id: POOL, colour: 'blue' }],
          domains: [{ id: SD_FILE }, { id: SD_BLOCK, kind: 'block', capacity: '1 GB', blockSize: 1024 }],
          disks: [{ id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, format: 'QCOW2' }] }],
        }),
      ).to.deep.equal([
        'pools[0]: Unrecognized key: "colour"',
        'domains[0].kind: is required',
        'domains[1].capacity: must be a whole number of bytes or a size like "1 GiB" (units B, KiB, MiB, GiB, TiB), not "1 GB"',
        'domains[1].blockSize: must be 512 or 4096',
        'disks[0].volumes[0].format: Invalid option: expected one of "COW"|"RAW"',
      ]);
    });

    it('refuses a document that is not an object', () => {
      expect(problems([])).to.deep.equal(['(root): Invalid input: expected object, received array']);
    });

    it('checks data entries: one source, pattern needs a length, valid hex and base64', () => {
      // Built as parsed JSON would be: some entries are not even of the right types.
      const data = [
        { offset: 0 },
        { offset: 0, hex: 'ab', base64: 'qw==' },
        { offset: 0, pattern: 7 },
        { offset: 0, hex: 'abc' },
        { offset: 0, base64: '!!' },
        { offset: 0, pattern: 300, length: 1 },
        { offset: 0, hex: 'ab', length: 0 },
        { offset: 0, pattern: true, length: 1 },
      ];
      const fixture: unknown = { ...baseFixture(), disks: [{ id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, data }] }] };
      expect(problems(fixture)).to.deep.equal([
        'disks[0].volumes[0].data[0]: needs exactly one of pattern, hex or base64',
        'disks[0].volumes[0].data[1]: needs exactly one of pattern, hex or base64',
        'disks[0].volumes[0].data[2].length: is required with pattern',
        'disks[0].volumes[0].data[3].hex: must be a non-empty even number of hex digits',
        'disks[0].volumes[0].data[4].base64: must be base64',
        'disks[0].volumes[0].data[5].pattern: a byte pattern must be 0..255',
        'disks[0].volumes[0].data[6].length: must be at least 1',
        'disks[0].volumes[0].data[7].pattern: must be a byte (0..255) or a text',
      ]);
    });

    it('checks references between entries', () => {
      const other = '783e58d6-8d92-450e-ba39-93826fa41ae8';
      expect(
        problems({
          pools: [{ id: POOL, spm: 2 }],
          hosts: [{ id: 1 }, { id: 2, pool: other }, { id: 1 }],
          domains: [{ id: SD_FILE, kind: 'file' }],
          disks: [{ id: IMG, domain: other, volumes: [{ id: VOL_1 }] }],
        }),
      ).to.deep.equal([
        'hosts[2].id: duplicate host id 1 (also hosts[0])',
        `hosts[1].pool: unknown pool ${other}`,
        'pools[0].spm: host 2 is not a host of this pool',
        `disks[0].domain: unknown domain ${other}`,
      ]);
    });

    it('needs a pool for every domain and a domain (its master) for every pool', () => {
      const second = '783e58d6-8d92-450e-ba39-93826fa41ae8';
      expect(problems({ domains: [{ id: SD_FILE, kind: 'file' }] })).to.deep.equal([
        'domains[0].pool: is required: a domain belongs to a pool, and the fixture has none',
      ]);
      expect(problems({ pools: [{ id: POOL }, { id: second }], domains: [{ id: SD_FILE, kind: 'file', pool: POOL }, { id: SD_BLOCK, kind: 'block' }] })).to.deep.equal([
        'domains[1].pool: is required: the fixture has 2 pools',
        'pools[1]: has no domain; a pool needs one (its master domain)',
      ]);
    });

    it('allows one master domain per pool', () => {
      const fixture = baseFixture();
      fixture.domains = [
        { id: SD_FILE, kind: 'file', role: 'Master' },
        { id: SD_BLOCK, kind: 'block', role: 'Master' },
      ];
      expect(problems(fixture)).to.deep.equal([`domains[1].role: pool ${POOL} already has a master domain (domains[0])`]);
    });

    it("refuses a type of the other kind and discard on a file domain", () => {
      const fixture = baseFixture();
      fixture.domains = [
        { id: SD_FILE, kind: 'file', type: 'FCP', discard: true },
        { id: SD_BLOCK, kind: 'block', type: 'GLUSTERFS' },
      ];
      expect(problems(fixture)).to.deep.equal([
        'domains[0].type: FCP is block storage, not file',
        'domains[0].discard: file domains do not support discard (VDSM refuses it with 349)',
        'domains[1].type: GLUSTERFS is file storage, not block',
      ]);
    });

    it('checks chains as VDSM does: COW over a parent, no sparse RAW on block, capacity not below the parent', () => {
      const fixture = baseFixture();
      fixture.disks = [
        { id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, capacity: '2 GiB' }, { id: VOL_2, format: 'RAW', capacity: '1 GiB' }] },
        { id: IMG, domain: SD_BLOCK, volumes: [{ id: VOL_3, format: 'RAW', allocation: 'SPARSE' }] },
      ];
      expect(problems(fixture)).to.deep.equal([
        'disks[0].volumes[1].format: a volume with a parent must be COW',
        `disks[0].volumes[1].capacity: ${GiB} is smaller than the parent's capacity ${2 * GiB}`,
        'disks[1].volumes[0].allocation: a RAW volume on a block domain must be PREALLOCATED (VDSM refuses sparse RAW there)',
      ]);
    });

    it('takes a parent only on the first volume, and only a volume listed before on the same domain', () => {
      const fixture = baseFixture();
      fixture.disks = [
        { id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, parent: VOL_3 }, { id: VOL_2, parent: VOL_1 }] },
        { id: 'c91c7443-3b08-498a-8853-272e5fbeadb9', domain: SD_FILE, volumes: [{ id: VOL_3 }] },
      ];
      expect(problems(fixture)).to.deep.equal([
        `disks[0].volumes[0].parent: unknown volume ${VOL_3} on domain ${SD_FILE} (list the template disk first)`,
        'disks[0].volumes[1].parent: only the first volume names a parent; each later one sits on the volume before it',
      ]);
    });

    it('holds an image and a volume once per domain, and allows them on two domains', () => {
      const fixture = baseFixture();
      fixture.disks = [
        { id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1 }] },
        { id: IMG, domain: SD_BLOCK, volumes: [{ id: VOL_1, allocation: 'PREALLOCATED' }] },
      ];
      expect(planFixture(fixture).volumes).to.have.length(2);
      fixture.disks.push({ id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1 }] });
      expect(problems(fixture)).to.deep.equal([
        `disks[2].id: image ${IMG} is already on domain ${SD_FILE} (disks[0])`,
        `disks[2].volumes[0].id: volume ${VOL_1} is already on domain ${SD_FILE} (disks[0].volumes[0])`,
      ]);
    });

    it('refuses data past the capacity and volumes that overfill a block domain', () => {
      const fixture = baseFixture();
      fixture.disks = [
        { id: IMG, domain: SD_FILE, capacity: '1 MiB', volumes: [{ id: VOL_1, data: [{ offset: '1 MiB', hex: '00' }, { offset: 0, hex: 'ff', length: '1 MiB' }] }] },
        // 1 GiB domain: 8 extents; 1 GiB + 1 byte needs 9.
        { id: IMG, domain: SD_BLOCK, capacity: GiB + 1, volumes: [{ id: VOL_3 }] },
      ];
      expect(problems(fixture)).to.deep.equal([
        `disks[0].volumes[0].data[0]: ends at byte ${MiB + 1}, past the volume's capacity ${MiB}`,
        `domains[1].capacity: its volumes need ${9 * 128 * MiB} bytes in whole 128 MiB extents, more than its capacity ${GiB}`,
      ]);
    });

    it('lists every problem in the message, with the source', () => {
      try {
        planFixture({ pools: [{ id: 'x' }], hosts: [{ id: 0 }] }, { source: 'my.json' });
        expect.fail('accepted');
      } catch (error) {
        expect((error as Error).message).to.equal(
          'Invalid fixture my.json (2 problems):\n' +
            '  pools[0].id: must be a UUID (8-4-4-4-12 hex digits)\n' +
            '  hosts[0].id: Too small: expected number to be >=1',
        );
      }
    });
  });

  describe('dataChunks', () => {
    it('repeats a pattern seamlessly across chunks no larger than MAX_WRITE_CHUNK', () => {
      const entry = { offset: 10, length: 2 * MAX_WRITE_CHUNK + 5, bytes: Buffer.from('abc') };
      const chunks = [...dataChunks(entry)];
      expect(chunks.every(([, bytes]) => bytes.length <= MAX_WRITE_CHUNK)).to.equal(true);
      const whole = Buffer.concat(chunks.map(([, bytes]) => Buffer.from(bytes)));
      expect(whole.length).to.equal(entry.length);
      expect(whole.equals(Buffer.alloc(entry.length, 'abc'))).to.equal(true);
      let next = entry.offset;
      for (const [offset, bytes] of chunks) {
        expect(offset).to.equal(next);
        next += bytes.length;
      }
    });

    it('writes literal bytes once when no length repeats them', () => {
      expect([...dataChunks({ offset: 7, length: 2, bytes: Buffer.of(1, 2) })]).to.deep.equal([[7, Buffer.of(1, 2)]]);
    });
  });

  describe('applyFixture', () => {
    let dir: string;
    let db: StateDatabase;
    let store: StateStore;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-fixture-'));
      db = openStateDatabase(dir);
      store = new StateStore(db);
    });

    afterEach(async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('gives the default pool, domains, host and disk', async () => {
      const files = new RecordingFiles();
      await applyFixture(store, defaultFixture(), files, { ctime: 1_700_000_000 });

      expect(store.listPools()).to.deep.equal([
        { id: DEFAULT_IDS.pool, name: 'Default', masterDomainId: DEFAULT_IDS.fileDomain, masterVersion: 1, spmHostId: 1, lver: 0 },
      ]);
      expect(store.listHosts()).to.deep.equal([{ id: 1, uuid: DEFAULT_IDS.host, name: 'host-1', poolId: DEFAULT_IDS.pool }]);
      expect(store.listDomains().map((d) => [d.id, d.name, d.kind, d.type, d.role, d.capacity, d.blockSize, d.discard])).to.deep.equal([
        [DEFAULT_IDS.fileDomain, 'nfs-data', 'file', 'NFS', 'Master', 100 * GiB, 512, false],
        [DEFAULT_IDS.blockDomain, 'iscsi-data', 'block', 'ISCSI', 'Regular', 100 * GiB, 512, true],
      ]);
      expect(store.listImages(DEFAULT_IDS.fileDomain)).to.deep.equal([DEFAULT_IDS.image]);
      expect(store.listImages(DEFAULT_IDS.blockDomain)).to.deep.equal([]);
      expect(store.listVolumes(DEFAULT_IDS.fileDomain, DEFAULT_IDS.image)).to.deep.equal([
        {
          domainId: DEFAULT_IDS.fileDomain,
          id: DEFAULT_IDS.volume,
          imageId: DEFAULT_IDS.image,
          parentId: BLANK_UUID,
          format: VolumeFormat.RAW,
          allocation: VolumeAllocation.Sparse,
          role: VolumeRole.Leaf,
          diskType: 'DATA',
          capacity: GiB,
          legality: 'LEGAL',
          generation: 0,
          description: '{"DiskAlias":"demo-disk","DiskDescription":"fake-vdsm default disk"}',
          ctime: 1_700_000_000,
          removed: false,
        },
      ]);

      // The data plane was asked for one file and the data at the documented offsets.
      expect(files.calls[0]).to.equal(`create ${DEFAULT_IDS.fileDomain}/${DEFAULT_IDS.volume}`);
      expect(files.calls.filter((call) => call.startsWith('create'))).to.have.length(1);
      const vol = DEFAULT_IDS.volume;
      expect(files.read(vol, 0, MiB + 1).equals(Buffer.concat([Buffer.alloc(MiB, 0xf0), Buffer.of(0)]))).to.equal(true);
      expect(files.read(vol, 100 * MiB, 4 * MiB).equals(Buffer.alloc(4 * MiB, 'vdsm-kit '))).to.equal(true);
      expect(files.read(vol, 536_883_257, 64 * 1024).equals(Buffer.alloc(64 * 1024, Buffer.from('deadbeef', 'hex')))).to.equal(true);
      const tail = files.read(vol, GiB - 64 * 1024, 64 * 1024);
      expect(tail.equals(Buffer.alloc(64 * 1024, 'end of disk\n'))).to.equal(true);
      const written = files.writes.reduce((sum, write) => sum + write.bytes.length, 0);
      expect(written).to.equal(MiB + 4 * MiB + 64 * 1024 + 64 * 1024);
    });

    it('validates everything before touching the disk or the database', async () => {
      const files = new RecordingFiles();
      const fixture = defaultFixture();
      fixture.disks?.push({ id: '../../etc', domain: DEFAULT_IDS.fileDomain, volumes: [{ id: 'passwd' }] });
      let caught: unknown;
      try {
        await applyFixture(store, fixture, files);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(FixtureError);
      expect((caught as FixtureError).issues.map((issue) => issue.path)).to.deep.equal(['disks[1].id', 'disks[1].volumes[0].id']);
      expect(files.calls).to.deep.equal([]);
      expect(store.listPools()).to.deep.equal([]);
    });

    it('creates parents before children, passing the parent, then writes rows', async () => {
      const files = new RecordingFiles();
      const fixture = baseFixture();
      fixture.disks = [{ id: IMG, domain: SD_FILE, volumes: [{ id: VOL_1, data: [{ offset: 0, hex: '01' }] }, { id: VOL_2, data: [{ offset: 512, hex: '02' }] }] }];
      await applyFixture(store, fixture, files);
      expect(files.calls).to.deep.equal([
        `create ${SD_FILE}/${VOL_1}`,
        `write ${SD_FILE}/${VOL_1} @0 +1`,
        `create ${SD_FILE}/${VOL_2} on ${VOL_1}`,
        `write ${SD_FILE}/${VOL_2} @512 +1`,
      ]);
      expect(store.listVolumes(SD_FILE, IMG).map((v) => [v.id, v.parentId])).to.deep.equal([
        [VOL_2, VOL_1],
        [VOL_1, BLANK_UUID],
      ]);
    });

    it('writes no row when the data plane fails', async () => {
      const files = new RecordingFiles();
      files.failOn = VOL_2;
      let caught: unknown;
      try {
        await applyFixture(store, baseFixture(), files);
      } catch (error) {
        caught = error;
      }
      expect((caught as Error).message).to.equal('disk full');
      expect(files.calls).to.deep.equal([`create ${SD_FILE}/${VOL_1}`]);
      expect(store.listPools()).to.deep.equal([]);
      expect(store.listVolumes(SD_FILE, undefined, { includeRemoved: true })).to.deep.equal([]);
    });

    it('gives the same state when applied again, replacing changed rows', async () => {
      const fixture = baseFixture();
      await applyFixture(store, fixture, new RecordingFiles(), { ctime: 5 });
      store.updateVolume(SD_FILE, VOL_2, { legality: 'ILLEGAL', generation: 7 });
      store.setSpm(POOL, null, 3);
      const before = { pools: store.listPools(), domains: store.listDomains() };
      await applyFixture(store, fixture, new RecordingFiles(), { ctime: 5 });
      expect(store.getVolume(SD_FILE, VOL_2)).to.include({ legality: 'LEGAL', generation: 0 });
      expect(store.listPools()).to.deep.equal([{ ...before.pools[0], spmHostId: 1, lver: 0 }]);
      expect(store.listDomains()).to.deep.equal(before.domains);
      expect(store.listVolumes(SD_FILE)).to.have.length(2);
    });
  });

  describe('readFixtureFile', () => {
    let dir: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-fixture-file-'));
    });

    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads a valid file', async () => {
      const path = join(dir, 'ok.json');
      await writeFile(path, JSON.stringify(defaultFixture()));
      expect(await readFixtureFile(path)).to.deep.equal(defaultFixture());
    });

    it('names the file for bad JSON and for an invalid fixture', async () => {
      const badJson = join(dir, 'bad.json');
      await writeFile(badJson, '{"pools": [');
      const invalid = join(dir, 'invalid.json');
      await writeFile(invalid, '{"pools": [{"id": 1}]}');
      for (const [path, reason] of [
        [badJson, /\(root\): is not valid JSON/],
        [invalid, /pools\[0\]\.id: must be a UUID/],
      ] as const) {
        let caught: unknown;
        try {
          await readFixtureFile(path);
        } catch (error) {
          caught = error;
        }
        expect(caught).to.be.instanceOf(FixtureError);
        expect((caught as Error).message).to.contain(`Invalid fixture ${path} (1 problem)`).and.match(reason);
      }
    });

    it('accepts the complete example of docs/fixture.md as documented', async () => {
      const doc = await readFile(fileURLToPath(new URL('../../docs/fixture.md', import.meta.url)), 'utf8');
      const example = /## Complete example[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
      expect(example, 'the json block of the example').to.be.a('string');
      const plan = planFixture(JSON.parse(example ?? ''));
      expect(plan.pools).to.have.length(1);
      expect(plan.hosts.map((host) => host.poolId)).to.deep.equal([POOL, POOL]);
      expect(plan.domains.map((domain) => domain.role)).to.deep.equal(['Master', 'Regular', 'Regular']);
      expect(plan.volumes.map((volume) => [volume.record.domainId, volume.record.id, volume.record.format, volume.record.role, volume.record.legality])).to.deep.equal([
        [SD_FILE, '6326c231-e47c-4e08-b230-998705a27710', VolumeFormat.RAW, VolumeRole.Shared, 'LEGAL'],
        [SD_FILE, VOL_1, VolumeFormat.COW, VolumeRole.Internal, 'LEGAL'],
        [SD_FILE, VOL_2, VolumeFormat.COW, VolumeRole.Leaf, 'LEGAL'],
        [SD_BLOCK, VOL_3, VolumeFormat.RAW, VolumeRole.Leaf, 'LEGAL'],
        ['354537b8-4b77-46c7-a5e7-ec8f76c9b33e', VOL_3, VolumeFormat.RAW, VolumeRole.Leaf, 'ILLEGAL'],
      ]);
      expect(plan.volumes[1]?.parent?.id).to.equal('6326c231-e47c-4e08-b230-998705a27710');
      expect(plan.volumes[2]?.record.capacity).to.equal(10 * GiB);
    });
  });
});
