/**
 * 200 real VdsmClients over real sockets, 500 calls each, against a fake
 * VDSM in a process of its own while disks are copied and the copies deleted on it: every
 * call is answered, none fails, every copy and delete ends well and the disks' data is intact,
 * and the fake's memory (its heap and Buffers after a full GC, read in its
 * own process) grows by a bounded amount per connection and comes back near
 * its baseline once the clients are gone. No bound is on time: a loaded
 * machine only makes it slower. `npm run bench -- load` prints the figures.
 */
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { loadFixture, moveWhile, runCallLoad } from './support/call-load.js';
import { startFakeChild } from './support/fake-child.js';
import type { FakeMemory } from './support/fake-child.js';
import { TeardownHelper } from './support/teardown.js';

const MiB = 1024 * 1024;
const CONNECTIONS = 200;
const CALLS_PER_CONNECTION = 500;
/** What one open connection may hold in the fake at most (its channel, parser, subscriptions, calls in flight). */
const PER_CONNECTION_BYTES = 256 * 1024;
/** What may stay once every client is gone: the call log's ring filled, V8's own caches. */
const LEFT_AFTER_BYTES = 16 * MiB;

const retained = (memory: FakeMemory): number => memory.heapUsed + memory.external;

describe('load: 200 clients x 500 calls while disks move', function () {
  this.timeout(900_000);
  const td = new TeardownHelper();
  after(() => td.run());

  it('answers every call, ends every move with its data intact, and keeps the memory bounded and back near its baseline', async function () {
    const { fixture, disks } = loadFixture(3);
    const fake = await startFakeChild(td, { fixture, timeScale: 0.05 });
    const target = fake.ready.stomp;
    const checksums = new Map<string, string>();
    for (const disk of disks) checksums.set(disk.image, (await fake.control.checksum(DEFAULT_IDS.fileDomain, disk.image, disk.volume)).checksum);
    const baseline = await fake.memory();

    let halfway: FakeMemory | undefined;
    const load = runCallLoad(target, {
      connections: CONNECTIONS,
      callsPerConnection: CALLS_PER_CONNECTION,
      atHalfway: async () => {
        halfway = await fake.memory();
      },
    });
    const moves = await moveWhile(target, disks, load);
    const result = await load;

    expect(result.failures, 'the first failed calls').to.deep.equal([]);
    expect(result.failed).to.equal(0);
    expect(result.answered).to.equal(CONNECTIONS * CALLS_PER_CONNECTION);
    expect(moves.failures).to.deep.equal([]);
    expect(moves.moved).to.be.at.least(disks.length);
    for (const disk of disks) {
      expect((await fake.control.checksum(DEFAULT_IDS.fileDomain, disk.image, disk.volume)).checksum, `disk ${disk.image}`).to.equal(checksums.get(disk.image));
    }
    const report = await fake.control.invariants();
    expect(report.violations).to.deep.equal([]);
    expect(await fake.control.listTasks()).to.deep.equal([]);

    const end = await fake.memory();
    const grown = retained(halfway!) - retained(baseline);
    console.log(
      `      fake heap+external after GC: baseline ${(retained(baseline) / MiB).toFixed(1)} MiB, ` +
        `${CONNECTIONS} connections busy ${(retained(halfway!) / MiB).toFixed(1)} MiB (${(grown / CONNECTIONS / 1024).toFixed(1)} KiB each), ` +
        `after ${(retained(end) / MiB).toFixed(1)} MiB; peak RSS ${(end.peakRss / MiB).toFixed(0)} MiB`,
    );
    expect(grown, 'bytes the busy connections hold').to.be.below(CONNECTIONS * PER_CONNECTION_BYTES);
    expect(retained(end) - retained(baseline), 'bytes left once the clients are gone').to.be.below(LEFT_AFTER_BYTES);
    expect(fake.alive).to.equal(true);
    expect(await fake.close()).to.equal(0);
  });
});
