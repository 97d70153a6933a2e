import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeLegality } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { imageDir, imagesDir, removedImageDir, volumePath } from '../data/layout.js';
import { createRaw } from '../data/volume-files.js';
import type { Logger } from '../logger.js';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import { applyFixture } from '../model/fixture.js';
import type { FixtureInput } from '../model/fixture.js';
import type { VolumeRecord } from '../model/records.js';
import { StateStore } from '../model/store.js';
import { fixtureFiles } from './fixture-files.js';
import { reconcileStateDir } from './reconcile.js';
import { pathExists } from '../data/path-exists.js';

const MiB = 1024 * 1024;
const ID = {
  pool: '0a000000-0000-4000-8000-000000000001',
  file: '0a000000-0000-4000-8000-000000000002',
  block: '0a000000-0000-4000-8000-000000000003',
  fileImage: '0a000000-0000-4000-8000-000000000004',
  fileVolume: '0a000000-0000-4000-8000-000000000005',
  blockImage: '0a000000-0000-4000-8000-000000000006',
  blockVolume: '0a000000-0000-4000-8000-000000000007',
  stray: '0a000000-0000-4000-8000-0000000000ff',
  strayImage: '0a000000-0000-4000-8000-0000000000fe',
};

const FIXTURE: FixtureInput = {
  pools: [{ id: ID.pool }],
  hosts: [{ id: 1 }],
  domains: [
    { id: ID.file, kind: 'file', role: 'Master' },
    { id: ID.block, kind: 'block' },
  ],
  disks: [
    { id: ID.fileImage, domain: ID.file, capacity: '16 MiB', volumes: [{ id: ID.fileVolume, data: [{ offset: 0, pattern: 7, length: '4 KiB' }] }] },
    // COW sparse: a small file (qcow2 with qemu-img, else a sparse one) rather than a preallocated LV stand-in.
    { id: ID.blockImage, domain: ID.block, capacity: '16 MiB', volumes: [{ id: ID.blockVolume, format: 'COW', allocation: 'SPARSE' }] },
  ],
};

/** A logger that keeps what it is given, by level. */
function recordingLogger(): Logger & { readonly lines: { level: string; message: string | undefined; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string | undefined; fields: Record<string, unknown> }[] = [];
  const logger = {
    lines,
    debug: (fields: Record<string, unknown>, message?: string) => lines.push({ level: 'debug', message, fields }),
    info: (fields: Record<string, unknown>, message?: string) => lines.push({ level: 'info', message, fields }),
    warn: (fields: Record<string, unknown>, message?: string) => lines.push({ level: 'warn', message, fields }),
    error: (fields: Record<string, unknown>, message?: string) => lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return logger;
}

describe('host/reconcile (reconcileStateDir)', () => {
  let stateDir: string;
  let db: StateDatabase;
  let store: StateStore;
  let logger: ReturnType<typeof recordingLogger>;

  const reconcile = () => reconcileStateDir({ stateDir, store, logger });
  const fileVolumePath = () => volumePath(stateDir, ID.file, ID.fileImage, ID.fileVolume);
  const blockVolumePath = () => volumePath(stateDir, ID.block, ID.blockImage, ID.blockVolume);
  const row = (domainId: string, volumeId: string) => store.getVolume(domainId, volumeId);

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'fake-vdsm-reconcile-'));
    db = openStateDatabase(stateDir);
    store = new StateStore(db);
    await applyFixture(store, FIXTURE, fixtureFiles(stateDir));
    logger = recordingLogger();
  });
  afterEach(async () => {
    db.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('changes nothing in a consistent state folder', async () => {
    const report = await reconcile();
    expect(report).to.deep.equal({ removedFiles: [], markedRemoved: [], deletedRows: [], collected: [], violations: [], unknownEntries: [] });
    expect(await pathExists(fileVolumePath())).to.equal(true);
    expect(await pathExists(blockVolumePath())).to.equal(true);
    expect(logger.lines.filter((line) => line.level !== 'debug')).to.deep.equal([]);
  });

  it('removes a volume file no row claims (a creation cut short before its row), and the folder it leaves empty', async () => {
    const strayInNewImage = volumePath(stateDir, ID.block, ID.strayImage, ID.stray);
    const strayBesideVolume = volumePath(stateDir, ID.file, ID.fileImage, ID.stray);
    await createRaw(strayInNewImage, 128 * MiB);
    await createRaw(strayBesideVolume, MiB);

    const report = await reconcile();
    expect(report.removedFiles).to.have.members([strayInNewImage, strayBesideVolume]);
    expect(await pathExists(strayInNewImage)).to.equal(false);
    expect(await pathExists(imageDir(stateDir, ID.block, ID.strayImage))).to.equal(false);
    expect(await pathExists(strayBesideVolume)).to.equal(false);
    // The real volume beside the stray is untouched.
    expect(await pathExists(fileVolumePath())).to.equal(true);
    expect(row(ID.file, ID.fileVolume)?.removed).to.equal(false);
  });

  it('finishes a delete whose folder was renamed but whose rows were not marked: block keeps the remnant, file collects it', async () => {
    await rename(imageDir(stateDir, ID.block, ID.blockImage), removedImageDir(stateDir, ID.block, ID.blockImage));
    await rename(imageDir(stateDir, ID.file, ID.fileImage), removedImageDir(stateDir, ID.file, ID.fileImage));

    const report = await reconcile();
    const blockKey = { domainId: ID.block, imageId: ID.blockImage, volumeId: ID.blockVolume };
    const fileKey = { domainId: ID.file, imageId: ID.fileImage, volumeId: ID.fileVolume };
    expect(report.markedRemoved).to.have.deep.members([blockKey, fileKey]);
    // Block: row removed, file kept in _remove_me_ (an LV keeping its tag and its extents).
    expect(row(ID.block, ID.blockVolume)?.removed).to.equal(true);
    expect(await pathExists(join(removedImageDir(stateDir, ID.block, ID.blockImage), ID.blockVolume))).to.equal(true);
    // File: VDSM's image garbage collector removes the remnant.
    expect(report.collected).to.deep.equal([fileKey]);
    expect(row(ID.file, ID.fileVolume)).to.equal(undefined);
    expect(await pathExists(removedImageDir(stateDir, ID.file, ID.fileImage))).to.equal(false);
    expect(store.listImages(ID.file)).to.deep.equal([]);
    expect(store.listImages(ID.block)).to.deep.equal([]);
  });

  it('completes a delete whose rows were marked removed while the file stayed in the live folder', async () => {
    store.updateVolume(ID.block, ID.blockVolume, { removed: true });
    const report = await reconcile();
    expect(report.removedFiles).to.deep.equal([blockVolumePath()]);
    expect(report.deletedRows).to.deep.equal([{ domainId: ID.block, imageId: ID.blockImage, volumeId: ID.blockVolume }]);
    expect(row(ID.block, ID.blockVolume)).to.equal(undefined);
    expect(await pathExists(imageDir(stateDir, ID.block, ID.blockImage))).to.equal(false);
  });

  it('deletes the row of a removed volume whose file the purge already removed', async () => {
    const removedDir = removedImageDir(stateDir, ID.block, ID.blockImage);
    await rename(imageDir(stateDir, ID.block, ID.blockImage), removedDir);
    store.updateVolume(ID.block, ID.blockVolume, { removed: true });
    await rm(join(removedDir, ID.blockVolume));

    const report = await reconcile();
    expect(report.deletedRows).to.deep.equal([{ domainId: ID.block, imageId: ID.blockImage, volumeId: ID.blockVolume }]);
    expect(row(ID.block, ID.blockVolume)).to.equal(undefined);
    expect(await pathExists(removedDir)).to.equal(false);
  });

  it('deletes an ILLEGAL row without its file, but keeps a LEGAL one and reports it loudly', async () => {
    store.updateVolume(ID.block, ID.blockVolume, { legality: VolumeLegality.Illegal });
    await rm(blockVolumePath());
    await rm(fileVolumePath());

    const report = await reconcile();
    expect(report.deletedRows).to.deep.equal([{ domainId: ID.block, imageId: ID.blockImage, volumeId: ID.blockVolume }]);
    expect(row(ID.block, ID.blockVolume)).to.equal(undefined);
    const lost = { domainId: ID.file, imageId: ID.fileImage, volumeId: ID.fileVolume };
    expect(report.violations).to.deep.equal([lost]);
    expect(row(ID.file, ID.fileVolume)).to.include({ legality: VolumeLegality.Legal, removed: false });
    const errors = logger.lines.filter((line) => line.level === 'error');
    expect(errors).to.have.length(1);
    expect(errors[0]?.message).to.match(/INVARIANT VIOLATED/);
    expect(errors[0]?.fields).to.include(lost);
  });

  it('keeps the live copy when a volume has files both in its folder and in a removed one', async () => {
    const strayCopy = join(removedImageDir(stateDir, ID.block, ID.blockImage), ID.blockVolume);
    await createRaw(strayCopy, MiB);
    const report = await reconcile();
    expect(report.removedFiles).to.deep.equal([strayCopy]);
    expect(report.markedRemoved).to.deep.equal([]);
    expect(row(ID.block, ID.blockVolume)?.removed).to.equal(false);
    expect(await pathExists(blockVolumePath())).to.equal(true);
  });

  it('leaves alone what the fake does not make', async () => {
    const notes = join(imagesDir(stateDir, ID.file), 'notes.txt');
    const otherDir = join(imagesDir(stateDir, ID.file), 'not-an-image');
    const temp = join(imageDir(stateDir, ID.file, ID.fileImage), `${ID.fileVolume}.meta`);
    await writeFile(notes, 'hello');
    await mkdir(otherDir);
    await writeFile(temp, 'x');

    const report = await reconcile();
    expect(report.unknownEntries).to.have.members([notes, otherDir, temp]);
    for (const path of [notes, otherDir, temp]) expect(await pathExists(path)).to.equal(true);
    expect(report.removedFiles).to.deep.equal([]);
  });

  it('leaves the rows of a consistent volume alone however they look', async () => {
    // ILLEGAL with its file (a failed copy's leftover, as the fixture docs show) is consistent.
    store.updateVolume(ID.block, ID.blockVolume, { legality: VolumeLegality.Illegal });
    const report = await reconcile();
    expect(report.deletedRows).to.deep.equal([]);
    expect(row(ID.block, ID.blockVolume) as VolumeRecord).to.include({ legality: VolumeLegality.Illegal });
  });
});
