import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { VolumeRole } from '@vdsm-kit/client/api';
import { removedImageDir, volumePath } from '../data/layout.js';
import { isEmptyDir, reconcileVolumes, recheckIfLeaf, removeEmptyDir, removeVolume } from './volume-removal.js';
import { locateVolumeFile, volumeFileCandidates } from './volume-locations.js';
import { createStorageTestBed, storageTestFixture, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { pathExists } from '../data/path-exists.js';

const { fileDomain, chainImage, chainBase, chainLeaf, image, volume } = TEST_IDS;

describe('storage/volume-removal and volume-locations', () => {
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture() });
  });
  afterEach(async () => {
    await bed.close();
  });

  it('removes file then row, and makes the parent a leaf again', async () => {
    const leaf = bed.store.getVolume(fileDomain, chainLeaf);
    if (leaf === undefined) throw new Error('fixture lacks the leaf');
    await removeVolume(bed.ctx, leaf);
    expect(await pathExists(volumePath(bed.stateDir, fileDomain, chainImage, chainLeaf))).to.equal(false);
    expect(bed.store.getVolume(fileDomain, chainLeaf)).to.equal(undefined);
    expect(bed.store.getVolume(fileDomain, chainBase)?.role).to.equal(VolumeRole.Leaf);
  });

  it('finds a live row whose folder was already renamed (a crash between rename and marking)', async () => {
    await rename(join(bed.stateDir, fileDomain, 'images', image), removedImageDir(bed.stateDir, fileDomain, image));
    const row = bed.store.getVolume(fileDomain, volume);
    if (row === undefined) throw new Error('fixture lacks the volume');
    expect(row.removed).to.equal(false);
    expect(await locateVolumeFile(bed.stateDir, row)).to.equal(join(removedImageDir(bed.stateDir, fileDomain, image), volume));
    expect(volumeFileCandidates(bed.stateDir, { ...row, removed: true })[0]).to.equal(join(removedImageDir(bed.stateDir, fileDomain, image), volume));
  });

  it('reconciles an interrupted removal: rows whose files went are dropped, the rest kept', async () => {
    // As if killed after the leaf's file went but before its row did.
    await rm(volumePath(bed.stateDir, fileDomain, chainImage, chainLeaf));
    const dropped = await reconcileVolumes(bed.ctx, { sdUUID: fileDomain, imgUUID: chainImage, volumes: [chainLeaf, chainBase] });
    expect(dropped).to.deep.equal([chainLeaf]);
    expect(bed.store.getVolume(fileDomain, chainLeaf)).to.equal(undefined);
    expect(bed.store.getVolume(fileDomain, chainBase)).to.include({ role: VolumeRole.Leaf });
  });

  it('rechecks roles: a volume with a child is INTERNAL, a template stays SHARED', () => {
    bed.store.updateVolume(fileDomain, chainBase, { role: VolumeRole.Leaf });
    recheckIfLeaf(bed.ctx, fileDomain, chainImage, chainBase);
    expect(bed.store.getVolume(fileDomain, chainBase)?.role).to.equal(VolumeRole.Internal);
    bed.store.updateVolume(fileDomain, chainBase, { role: VolumeRole.Shared });
    recheckIfLeaf(bed.ctx, fileDomain, chainImage, chainBase);
    expect(bed.store.getVolume(fileDomain, chainBase)?.role).to.equal(VolumeRole.Shared);
  });

  it('removes only empty folders', async () => {
    const dir = join(bed.stateDir, 'scratch');
    await mkdir(dir);
    await writeFile(join(dir, 'f'), 'x');
    expect(await isEmptyDir(dir)).to.equal(false);
    let failed = false;
    await removeEmptyDir(dir).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
    expect(await isEmptyDir(join(dir, 'none'))).to.equal(true);
    // A missing folder is already gone: no error.
    await removeEmptyDir(join(dir, 'none'));
  });
});
