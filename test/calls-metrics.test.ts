/**
 * What the fake saw, read the way a test in any language reads it: a real
 * `VdsmClient` over TCP drives the fake, a `TaskWatcher` polls it, and the
 * test reads `GET /calls` and `GET /metrics` over real HTTP (plain `fetch`,
 * no typed client) and checks the counts: one Image.move with its params and
 * code 0, the polls that followed, a fault's code, the task by state, and the
 * bytes a copy copied and a postZero delete wiped.
 *
 * The fake runs storage time 100 times as fast (`timeScale`), so the block
 * disk's 256 MiB wipe takes a few real milliseconds.
 */
import type { VdsmClient } from '@vdsm-kit/client';
import type { CallPage } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { startStorageFake } from './support/storage-fake.js';
import type { StorageBed } from './support/storage-fake.js';
import { BLOCK_DISK_BYTES, IDS, copyParams } from './support/storage-fixture.js';
import { TeardownHelper } from './support/teardown.js';

const MiB = 1024 * 1024;
/** The small disk's capacity (storage-fixture.ts). */
const SMALL_DISK_BYTES = 64 * MiB;

/** `GET url` as JSON, failing on a non-200. */
async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  expect(response.status, url).to.equal(200);
  return (await response.json()) as T;
}

/** The samples of a Prometheus text, `name{labels}` to value (every series printed). */
async function scrape(control: string): Promise<Map<string, number>> {
  const response = await fetch(`${control}/metrics`);
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

describe('what the fake saw: /calls and /metrics over HTTP after a real client', function () {
  this.timeout(60_000);
  const td = new TeardownHelper();
  let bed: StorageBed;
  let spm: VdsmClient;
  let control: string;
  beforeEach(async () => {
    bed = await startStorageFake(td, { timeScale: 0.01 });
    spm = bed.host(1);
    control = bed.fake.control;
  });
  afterEach(() => td.run());

  it('shows one Image.move with its params and code 0, the polls after it, and counts them, the task and the bytes copied', async () => {
    const params = copyParams(IDS.smallImage);
    const taskId = await spm.Image.move(params);
    expect((await bed.wait(taskId)).kind).to.equal('success');

    const moves = await getJson<CallPage>(`${control}/calls?method=Image.move`);
    expect(moves.calls).to.have.length(1);
    const [move] = moves.calls;
    expect(move).to.deep.include({ host: 1, transport: 'tcp', method: 'Image.move', code: 0, paramsTruncated: false });
    // As sent on the wire: the client fills in the default `discard`.
    expect(move?.params).to.deep.equal({ ...params, discard: false });
    expect(move?.connection).to.be.a('number');

    // The watcher's polls came after the move, on the same connection, each answered 0.
    const all = await getJson<CallPage>(`${control}/calls`);
    const polls = all.calls.filter((call) => call.method === 'Host.getAllTasksStatuses');
    expect(polls.length).to.be.at.least(1);
    for (const poll of polls) {
      expect(poll).to.include({ host: 1, connection: move?.connection, code: 0 });
      expect(poll.seq).to.be.greaterThan(move?.seq ?? Infinity);
    }
    expect(all.next).to.equal(all.calls.at(-1)?.seq);

    const samples = await scrape(control);
    expect(samples.get('fake_vdsm_rpc_calls_total{host="1",method="Image.move",code="0"}')).to.equal(1);
    expect(samples.get('fake_vdsm_rpc_calls_total{host="1",method="Host.getAllTasksStatuses",code="0"}')).to.be.at.least(polls.length);
    expect(samples.get('fake_vdsm_tasks{verb="moveImage",state="finished"}')).to.equal(1);
    expect(samples.get('fake_vdsm_copied_bytes_total')).to.equal(SMALL_DISK_BYTES);
    expect(samples.get('fake_vdsm_wiped_bytes_total')).to.equal(0);
    expect(samples.get('fake_vdsm_connections_open{host="1"}')).to.equal(1);

    // A poller with since=next sees only what came after: here the Task.clear.
    await spm.Task.clear({ taskID: taskId });
    const later = await getJson<CallPage>(`${control}/calls?since=${all.next}&method=Task.clear`);
    expect(later.calls.map((call) => [call.method, call.params, call.code])).to.deep.equal([['Task.clear', { taskID: taskId }, 0]]);
    expect(later.dropped).to.equal(0);
    expect((await scrape(control)).has('fake_vdsm_tasks{verb="moveImage",state="finished"}')).to.equal(false);
  });

  it('records the code a fault answered with, counts wiped bytes of a postZero delete, and DELETE /calls empties the log', async () => {
    const added = await fetch(`${control}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ match: { method: 'Image.move' }, action: { error: 851 }, times: 1 }),
    });
    expect(added.status).to.equal(201);
    const refused = await spm.Image.move(copyParams(IDS.smallImage)).then(
      () => undefined,
      (error: unknown) => error as { code?: number },
    );
    expect(refused?.code).to.equal(851);

    const wipe = await spm.Image.delete({ imageID: IDS.blockImageA, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, postZero: true, force: false });
    expect((await bed.wait(wipe)).kind).to.equal('success');

    const page = await getJson<CallPage>(`${control}/calls`);
    expect(page.calls.filter((call) => call.method === 'Image.move').map((call) => call.code)).to.deep.equal([851]);
    expect(page.calls.filter((call) => call.method === 'Image.delete').map((call) => call.code)).to.deep.equal([0]);
    const samples = await scrape(control);
    expect(samples.get('fake_vdsm_rpc_calls_total{host="1",method="Image.move",code="851"}')).to.equal(1);
    expect(samples.has('fake_vdsm_rpc_calls_total{host="1",method="Image.move",code="0"}')).to.equal(false);
    expect(samples.get('fake_vdsm_wiped_bytes_total')).to.equal(BLOCK_DISK_BYTES);
    expect(samples.get('fake_vdsm_copied_bytes_total')).to.equal(0);

    // A watcher poll may land between the read and the delete: it is removed too.
    const cleared = await fetch(`${control}/calls`, { method: 'DELETE' });
    expect(((await cleared.json()) as { removed: number }).removed).to.be.at.least(page.calls.length);
    const after = await getJson<CallPage>(`${control}/calls`);
    expect(after.calls.filter((call) => call.method !== 'Host.getAllTasksStatuses')).to.deep.equal([]);
    expect(after.dropped).to.be.at.least(page.calls.length);
  });
});
