import { access } from 'node:fs/promises';
import { expect } from 'chai';
import { ImageOperation, TaskResult, VdsmError } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { silentLogger } from '../logger.js';
import { requireDomain } from '../storage/checks.js';
import { domainInfo, domainStats } from '../storage/domain-getters.js';
import { moveImage, moveImageJobs } from '../storage/move-image.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { COPY_IDS, copyTestFixture, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { domainConditionHolds } from './domain-faults.js';
import { FaultEngine } from './engine.js';

const { pool, fileDomain, roomyFileDomain, blockDomain, smallImage, smallVolume } = COPY_IDS;

function moveParams(dstSdUUID: string): WireParamsOf<'Image.move'> {
  return {
    imageID: smallImage,
    storagepoolID: pool,
    storagedomainID: fileDomain,
    dstSdUUID,
    operation: ImageOperation.Copy,
    postZero: false,
    force: false,
    discard: false,
  };
}

/** The VdsmError `fn` throws or its promise rejects with. */
async function vdsmErrorOf(fn: () => unknown): Promise<VdsmError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof VdsmError) return error;
    throw error;
  }
  throw new Error('expected a VdsmError');
}

describe('faults/domain-faults (domainFull, domainUnreachable)', function () {
  this.timeout(30_000);
  let bed: StorageTestBed;
  let engine: FaultEngine;

  beforeEach(async () => {
    engine = new FaultEngine({ seed: 1, clock: new ManualClock(0), logger: silentLogger });
    bed = await createStorageTestBed({ fixture: copyTestFixture({ hosts: 2 }), jobs: [moveImageJobs], forceBuiltinCopier: true, faults: engine });
  });

  afterEach(async () => {
    await bed?.close();
  });

  describe('domainUnreachable', () => {
    it('makes the domain checks answer 358 and the getters 379, for as many firings as `times`', async () => {
      engine.add({ match: { domain: roomyFileDomain }, action: { domainUnreachable: true }, times: 2 });
      const check = await vdsmErrorOf(() => requireDomain(bed.ctx, roomyFileDomain));
      expect([check.code, check.message]).to.deep.equal([358, `Storage domain does not exist: ('${roomyFileDomain}',)`]);
      const info = await vdsmErrorOf(() => domainInfo(bed.ctx, roomyFileDomain));
      expect([info.code, info.message]).to.deep.equal([
        379,
        `Domain is either partially accessible or entirely inaccessible: ('${roomyFileDomain}',)`,
      ]);
      // Spent: the domain is back.
      expect(domainInfo(bed.ctx, roomyFileDomain).uuid).to.equal(roomyFileDomain);
      expect(requireDomain(bed.ctx, fileDomain).id).to.equal(fileDomain);
      expect(engine.log().map((f) => [f.kind, f.point.domain, f.point.host])).to.deep.equal([
        ['domainUnreachable', roomyFileDomain, 1],
        ['domainUnreachable', roomyFileDomain, 1],
      ]);
    });

    it('is seen only by the host the rule names', async () => {
      engine.add({ match: { domain: roomyFileDomain, host: 2 }, action: { domainUnreachable: true } });
      expect(requireDomain(bed.contextFor(1), roomyFileDomain).id).to.equal(roomyFileDomain);
      expect((await vdsmErrorOf(() => requireDomain(bed.contextFor(2), roomyFileDomain))).code).to.equal(358);
    });

    it('refuses Image.move onto it with 358 before any task exists', async () => {
      engine.add({ match: { domain: roomyFileDomain }, action: { domainUnreachable: true } });
      const error = await vdsmErrorOf(() => moveImage(bed.ctx, moveParams(roomyFileDomain)));
      expect(error.code).to.equal(358);
      expect(bed.tasks.getAllStatuses(pool)).to.deep.equal({});
    });
  });

  describe('domainFull', () => {
    it('reports 0 free bytes in getStats, each getStats one operation of `times`', async () => {
      engine.add({ match: { domain: roomyFileDomain }, action: { domainFull: true }, times: 2 });
      expect((await domainStats(bed.ctx, roomyFileDomain)).diskfree).to.equal('0');
      expect(Number((await domainStats(bed.ctx, fileDomain)).diskfree)).to.be.above(0);
      expect(domainConditionHolds(bed.ctx, roomyFileDomain, 'domainFull')).to.equal(true);
      expect(engine.log()).to.have.length(2);
      expect(Number((await domainStats(bed.ctx, roomyFileDomain)).diskfree)).to.be.above(0);
    });

    it('fails a copy onto a file domain with 261 and rolls the partial target back', async () => {
      engine.add({ match: { domain: roomyFileDomain }, action: { domainFull: true } });
      const taskId = await moveImage(bed.ctx, moveParams(roomyFileDomain));
      const row = await waitForTask(bed, taskId);
      expect([row.state, row.code, row.message]).to.deep.equal(['recovered', 261, 'value=low level Image copy failed: () abortedcode=261']);
      expect(bed.tasks.getStatus(taskId).taskResult).to.equal(TaskResult.CleanSuccess);
      expect(bed.store.getVolume(roomyFileDomain, smallVolume)).to.equal(undefined);
      const file = volumeFile(bed, roomyFileDomain, smallImage, smallVolume);
      expect(await access(file).then(() => true, () => false)).to.equal(false);
      expect(engine.log().map((f) => f.kind)).to.include('domainFull');
    });

    it('fails the target volume creation on a block domain with 504', async () => {
      engine.add({ match: { domain: blockDomain }, action: { domainFull: true }, times: 1 });
      const taskId = await moveImage(bed.ctx, moveParams(blockDomain));
      const row = await waitForTask(bed, taskId);
      expect([row.state, row.code]).to.deep.equal(['recovered', 504]);
      expect(row.message).to.equal(
        `value=Volume Group not big enough: ('Not enough free extents for creating LV ${blockDomain}/${smallVolume} (free=0, needed=1)',) abortedcode=504`,
      );
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.equal(undefined);
      // times 1: spent, the next copy goes through.
      const again = await waitForTask(bed, await moveImage(bed.ctx, moveParams(blockDomain)));
      expect([again.state, again.code]).to.deep.equal(['finished', 0]);
    });
  });
});
