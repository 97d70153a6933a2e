import { expect } from 'chai';
import { VdsmErrorCode } from '@vdsm-kit/client/api';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { vdsmThrown } from '../test-support/vdsm-rejection.js';
import { hasVolumeLeases, volumeLeaseInfo, VolumeLeases } from './volume-leases.js';

const SD = '33333333-3333-4333-8333-333333333333';
const VOL = '55555555-5555-4555-8555-555555555555';
const domain = (fields: Partial<DomainRecord>) => ({ id: SD, kind: 'block', type: 'ISCSI', version: 5, ...fields }) as DomainRecord;

describe('jobs/volume-leases', () => {
  it('gives sanlock volume leases to shared domains of format 3 and later, not to LOCALFS nor V1/V2', () => {
    expect(hasVolumeLeases(domain({}))).to.equal(true);
    expect(hasVolumeLeases(domain({ kind: 'file', type: 'NFS', version: 3 }))).to.equal(true);
    expect(hasVolumeLeases(domain({ kind: 'file', type: 'LOCALFS' }))).to.equal(false);
    expect(hasVolumeLeases(domain({ version: 2 }))).to.equal(false);
  });

  it('lets one host hold a lease: another host gets 651 at once, the holder is the owner until it frees it', () => {
    const leases = new VolumeLeases();
    const lease = volumeLeaseInfo(domain({}), { id: VOL } as VolumeRecord, '/x', []);
    const free = leases.acquire(SD, VOL, lease, 2);
    expect(leases.owners(SD, VOL)).to.deep.equal([2]);
    const refused = vdsmThrown(() => leases.acquire(SD, VOL, lease, 1));
    expect(refused.code).to.equal(VdsmErrorCode.AcquireLockFailure);
    expect(refused.message).to.include(`Cannot acquire Lease(name='${VOL}', path='/dev/${SD}/leases', offset=${lease.offset})`);
    free();
    free();
    expect(leases.owners(SD, VOL)).to.deep.equal([]);
    leases.acquire(SD, VOL, lease, 1)();
  });
});
