/**
 * A held move's views of the pool's hosts on the SDM path: its SDM calls
 * (copy_data, the fences' update_volume, the entity reads) reach the host
 * only while the move's guard holds, over a real fake VDSM.
 */
import { expect } from 'chai';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import { guardedHosts } from './fenced-views.js';
import { LeaseLostError, MoveGuard, RenewalClock, SelfFencedError } from './lease-guard.js';

describe('guardedHosts', function () {
  this.timeout(60_000);
  let pool: FakePool;
  let now: number;

  beforeEach(async () => {
    pool = await startFakePool({ hosts: 2, smallDisks: 1 });
    now = 1_000;
  });
  afterEach(() => pool.close());

  // (async: a refused call throws before any promise exists, as in the runner's own async steps)
  const volumeInfo = async (host: (typeof pool.hosts)[number]) =>
    host.api.Volume.getInfo({ volumeID: pool.disks[0]!.volume, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain, imageID: pool.disks[0]!.image });

  it('calls each host while the lease holds; an overdue renewal or a lost lease stops every call before it is sent', async () => {
    const guard = new MoveGuard('m', new RenewalClock(3000, 1000, () => now), now);
    const hosts = guardedHosts(pool.hosts, guard);
    expect(hosts.map((h) => h.name)).to.deep.equal(pool.hosts.map((h) => h.name));
    const sent = () => pool.calls.get('Volume.getInfo') ?? 0;
    expect((await volumeInfo(hosts[1]!)).legality).to.equal('LEGAL');
    expect(sent()).to.equal(1);

    now += 2_500; // past lease - margin since the claim: self-fenced
    let error = await volumeInfo(hosts[1]!).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SelfFencedError);
    guard.abort(new LeaseLostError('m', 'another worker holds it now'));
    error = await volumeInfo(hosts[0]!).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(LeaseLostError);
    expect(sent(), 'nothing reached the hosts').to.equal(1);
    // The plain hosts (the shared job trackers poll on them) are not touched.
    expect((await volumeInfo(pool.hosts[0]!)).legality).to.equal('LEGAL');
  });
});
