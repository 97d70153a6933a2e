import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { NotSpmError, StorageDomainDoesNotExistError, StoragePoolUnknownError } from '@vdsm-kit/client/api';
import { connectedPoolId, isSpm, requireConnectedPool, requireDomain, requireSpm } from './checks.js';
import { createStorageTestBed, storageTestFixture, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmThrown } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain } = TEST_IDS;

describe('storage/checks', () => {
  let bed: StorageTestBed;

  before(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }) });
  });
  after(async () => {
    await bed.close();
  });

  it('knows the pool a host is connected to and whether it is the SPM', () => {
    expect(connectedPoolId(bed.ctx)).to.equal(pool);
    expect(requireConnectedPool(bed.ctx, pool).id).to.equal(pool);
    expect(isSpm(bed.ctx, pool)).to.equal(true);
    expect(isSpm(bed.contextFor(2), pool)).to.equal(false);
    expect(isSpm(bed.ctx, undefined)).to.equal(false);
  });

  it('words 309 and 358 as VDSM, with the client classes', () => {
    const sp = randomUUID();
    const poolError = vdsmThrown(() => requireConnectedPool(bed.ctx, sp));
    expect(poolError).to.be.instanceOf(StoragePoolUnknownError);
    expect(poolError.message).to.equal(`Unknown pool id, pool not connected: ('${sp}',)`);
    const sd = randomUUID();
    const domainError = vdsmThrown(() => requireDomain(bed.ctx, sd));
    expect(domainError).to.be.instanceOf(StorageDomainDoesNotExistError);
    expect(domainError.message).to.equal(`Storage domain does not exist: ('${sd}',)`);
  });

  it('treats an unreachable domain as unknown (358)', () => {
    const domain = bed.store.getDomain(fileDomain);
    if (domain === undefined) throw new Error('fixture lacks the domain');
    bed.store.upsertDomain({ ...domain, reachable: false });
    try {
      expect(vdsmThrown(() => requireDomain(bed.ctx, fileDomain)).code).to.equal(358);
    } finally {
      bed.store.upsertDomain(domain);
    }
  });

  it('words 654 three ways, as VDSM does where the check sits', () => {
    const host2 = bed.contextFor(2);
    expect(() => requireSpm(bed.ctx, pool, 'schedule')).to.not.throw();
    const forms = [
      ['schedule', `Not SPM: ('${pool}',)`],
      ['secure', 'Not SPM'],
      ['getAll', 'Not SPM: ()'],
    ] as const;
    for (const [form, message] of forms) {
      const error = vdsmThrown(() => requireSpm(host2, pool, form));
      expect(error).to.be.instanceOf(NotSpmError);
      expect(error.message, form).to.equal(message);
    }
    expect(vdsmThrown(() => requireSpm(host2, undefined, 'getAll')).message).to.equal('Not SPM: ()');
  });
});
