import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock } from '@vdsm-kit/client/clock';
import { VdsmError, VolumeLegality } from '@vdsm-kit/client/api';
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { volumePath } from '../data/layout.js';
import { DEFAULT_IDS, startFakeVdsm } from '../index.js';
import type { FakeVdsm } from '../index.js';
import { ControlError } from './control-api.js';
import { ControlClient } from './control-client.js';
import { isLoopbackHost } from './http-server.js';

const { pool, fileDomain, image, volume } = DEFAULT_IDS;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('control API over HTTP', () => {
  describe('access', () => {
    it('binds loopback only: a non-loopback control host is refused before anything listens', async () => {
      expect(isLoopbackHost('127.0.0.1')).to.equal(true);
      expect(isLoopbackHost('::1')).to.equal(true);
      expect(isLoopbackHost('0.0.0.0')).to.equal(false);
      expect(isLoopbackHost('10.0.0.1')).to.equal(false);
      const error = await rejection(startFakeVdsm({ controlHost: '0.0.0.0' }));
      expect(error).to.be.instanceOf(RangeError);
      expect((error as Error).message).to.match(/loopback only/);
    });

    it('refuses a request without the bearer token (401) and accepts one with it', async () => {
      const vdsm = await startFakeVdsm({ controlToken: 's3cret' });
      try {
        const bare = await fetch(`${vdsm.control}/hosts`);
        expect(bare.status).to.equal(401);
        expect(((await bare.json()) as { error: { code: string } }).error.code).to.equal('unauthorized');
        const wrong = await fetch(`${vdsm.control}/hosts`, { headers: { authorization: 'Bearer nope' } });
        expect(wrong.status).to.equal(401);
        const right = await fetch(`${vdsm.control}/hosts`, { headers: { authorization: 'Bearer s3cret' } });
        expect(right.status).to.equal(200);
        expect(await new ControlClient(vdsm.control, { token: 's3cret' }).health()).to.deep.equal({ ok: true });
        const refused = await rejection(new ControlClient(vdsm.control).listHosts());
        expect(refused).to.be.instanceOf(ControlError).with.property('code', 'unauthorized');
      } finally {
        await vdsm.close();
      }
    });
  });

  describe('on a default fake', () => {
    let vdsm: FakeVdsm;
    let client: ControlClient;
    beforeEach(async () => {
      vdsm = await startFakeVdsm();
      client = new ControlClient(vdsm.control);
    });
    afterEach(() => vdsm.close());

    it('answers errors as {error: {code, message}} with their status, and checks ids are UUIDs', async () => {
      const notFound = await fetch(`${vdsm.control}/nope`);
      expect(notFound.status).to.equal(404);
      expect(await notFound.json()).to.have.nested.property('error.code', 'not_found');
      const badId = await fetch(`${vdsm.control}/volumes/..%2F..%2Fetc/${image}/${volume}`);
      expect(badId.status).to.equal(400);
      expect(await badId.json()).to.have.nested.property('error.message').that.matches(/domain must be a UUID/);
      const wrongMethod = await fetch(`${vdsm.control}/hosts`, { method: 'DELETE' });
      expect(wrongMethod.status).to.equal(405);
      const badJson = await fetch(`${vdsm.control}/faults`, { method: 'POST', body: '{nope' });
      expect(badJson.status).to.equal(400);
    });

    it('adds, lists, removes and clears fault rules and reads the firing log', async () => {
      const added = await client.addFault({ match: { method: 'Image.move' }, action: { error: 851 }, times: 1 });
      expect(added.id).to.be.a('string');
      const second = await client.addFault({ id: 'mine', match: { method: 'Image.delete' }, action: { delayMs: 10 } });
      expect(second.id).to.equal('mine');
      expect((await client.listFaults()).map((rule) => rule.id)).to.deep.equal([added.id, 'mine']);

      const bad = await fetch(`${vdsm.control}/faults`, { method: 'POST', body: JSON.stringify({ match: {}, action: { explode: true } }) });
      expect(bad.status).to.equal(400);
      const duplicate = await fetch(`${vdsm.control}/faults`, { method: 'POST', body: JSON.stringify(second) });
      expect(duplicate.status).to.equal(409);

      expect(await client.removeFault('mine')).to.equal(true);
      expect(await client.removeFault('mine')).to.equal(false);
      expect((await fetch(`${vdsm.control}/faults/mine`, { method: 'DELETE' })).status).to.equal(404);
      expect(await client.clearFaults()).to.equal(1);
      expect(await client.listFaults()).to.deep.equal([]);
      // A rule added over HTTP fires on a real client's call, and the firing shows in the log read over HTTP.
      const rule = await client.addFault({ match: { method: 'Host.echo' }, action: { error: 851 } });
      const vdsmClient = new VdsmClient({ transport: 'tcp', host: vdsm.stomp.host, port: vdsm.stomp.port });
      try {
        const refused = await rejection(vdsmClient.Host.echo({ message: 'x' }));
        expect(refused).to.be.instanceOf(VdsmError);
        expect((refused as VdsmError).code).to.equal(851);
        expect((refused as VdsmError).message).to.equal('Resource timeout: ()');
      } finally {
        await vdsmClient.close();
      }
      const log = await client.faultLog();
      expect(log).to.have.length(1);
      expect(log[0]).to.include({ ruleId: rule.id, layer: 'rpc', kind: 'error' });
      expect(log[0]?.['point']).to.deep.include({ method: 'Host.echo', host: 1 });
    });

    it('shows hosts, domains, images, volumes, tasks and locks', async () => {
      expect(await client.listHosts()).to.deep.equal([{ id: 1, uuid: DEFAULT_IDS.host, name: 'host-1', poolId: pool, spm: true, up: true }]);
      const domains = await client.listDomains();
      expect(domains.map((domain) => [domain.id, domain.kind])).to.deep.equal([
        [fileDomain, 'file'],
        [DEFAULT_IDS.blockDomain, 'block'],
      ]);
      expect(await client.listImages(fileDomain)).to.deep.equal([{ domainId: fileDomain, id: image, volumes: [volume] }]);
      const [listed] = await client.listVolumes(fileDomain, image);
      expect(listed).to.include({ id: volume, imageId: image, legality: VolumeLegality.Legal, removed: false });
      expect(listed?.sizes?.apparent).to.be.above(0);
      expect(listed?.checksum).to.equal(undefined);
      const detailed = await client.getVolume(fileDomain, image, volume, { checksum: true });
      expect(detailed.checksum).to.match(/^[0-9a-f]{64}$/);
      expect(detailed.sizes?.true).to.be.below(detailed.sizes?.apparent ?? 0); // Sparse.
      expect(await client.listTasks()).to.deep.equal([]);
      expect(await client.listLocks()).to.deep.equal([]);
      const unknown = await rejection(client.listImages('77777777-7777-4777-8777-777777777777'));
      expect(unknown).to.be.instanceOf(ControlError).with.property('code', 'not_found');
    });

    it('writes bytes into the real file and the checksum follows', async () => {
      const before = await client.checksum(fileDomain, image, volume);
      expect(before).to.include({ algorithm: 'sha256', blockSize: 4 * 1024 * 1024 });
      expect(before.checksum).to.match(/^[0-9a-f]{64}$/);
      const written = await client.writeData(fileDomain, image, volume, { offset: 4096, hex: 'deadbeef' });
      expect(written).to.deep.equal({ written: 4 });
      expect((await client.checksum(fileDomain, image, volume)).checksum).to.not.equal(before.checksum);
      // Only the 4 bytes: reading the whole 1 GiB sparse file would cost a zero fill of every hole.
      const file = await open(volumePath(vdsm.state, fileDomain, image, volume), 'r');
      const bytes = Buffer.alloc(4);
      await file.read(bytes, 0, 4, 4096).finally(() => file.close());
      expect(bytes.toString('hex')).to.equal('deadbeef');

      const pattern = await client.writeData(fileDomain, image, volume, { offset: 0, pattern: 0xab, length: 8192 });
      expect(pattern.written).to.equal(8192);
      const base64 = await client.writeData(fileDomain, image, volume, { offset: 0, base64: Buffer.from('hi').toString('base64') });
      expect(base64.written).to.equal(2);

      const twoKinds = await rejection(client.writeData(fileDomain, image, volume, { offset: 0, hex: 'aa', base64: 'qg==' }));
      expect(twoKinds).to.be.instanceOf(ControlError).with.property('code', 'bad_request');
      const capacity = (await client.getVolume(fileDomain, image, volume)).capacity;
      const past = await rejection(client.writeData(fileDomain, image, volume, { offset: capacity - 1, hex: 'aabb' }));
      expect(past).to.be.instanceOf(ControlError).with.property('message').that.matches(/past the volume's capacity/);
    });

    it('finds no violation on a fresh fake and each violation made through the store', async () => {
      expect(await client.invariants()).to.deep.equal({ ok: true, violations: [] });
      const { store } = vdsm.storage;
      store.updateVolume(fileDomain, volume, { legality: VolumeLegality.Illegal });
      await writeFile(join(vdsm.state, fileDomain, 'images', image, '99999999-9999-4999-8999-999999999999'), 'stray');
      const record = store.getVolume(fileDomain, volume);
      store.insertVolume({ ...(record as NonNullable<typeof record>), id: '88888888-8888-4888-8888-888888888888', legality: VolumeLegality.Legal });
      const report = await client.invariants();
      expect(report.ok).to.equal(false);
      expect(report.violations.map((violation) => violation.kind).sort()).to.deep.equal(['file-without-row', 'illegal-outside-task', 'row-without-file']);
    });

    it('reset restores a deleted image from the fixture, and a pool reset only that pool', async () => {
      const before = await client.getVolume(fileDomain, image, volume, { checksum: true });
      await client.writeData(fileDomain, image, volume, { offset: 0, hex: 'ff' });
      vdsm.storage.store.deleteImageRows(fileDomain, image);
      await rm(join(vdsm.state, fileDomain, 'images', image), { recursive: true });
      expect(await client.listImages(fileDomain)).to.deep.equal([]);

      const result = await client.reset({ pool });
      expect(result).to.include({ scope: 'pool', volumesRestored: 1 });
      const after = await client.getVolume(fileDomain, image, volume, { checksum: true });
      expect(after.checksum).to.equal(before.checksum);
      expect(await client.invariants()).to.deep.equal({ ok: true, violations: [] });

      await client.addFault({ match: { method: 'Image.move' }, action: { error: 851 } });
      vdsm.storage.store.deleteImageRows(fileDomain, image);
      const all = await client.reset();
      expect(all).to.include({ scope: 'all', faultsCleared: 1 });
      expect(await client.listFaults()).to.deep.equal([]);
      expect(await client.listImages(fileDomain)).to.have.length(1);
      expect(await client.invariants()).to.deep.equal({ ok: true, violations: [] });
      expect(await rejection(client.reset({ pool: '77777777-7777-4777-8777-777777777777' }))).to.have.property('code', 'not_found');
    });

    it('refuses a clock advance on a real clock (409)', async () => {
      const response = await fetch(`${vdsm.control}/clock/advance`, { method: 'POST', body: JSON.stringify({ ms: 10 }) });
      expect(response.status).to.equal(409);
    });
  });

  it('advances a manual clock', async () => {
    const clock = new ManualClock(1000);
    const vdsm = await startFakeVdsm({ clock });
    try {
      let fired = false;
      clock.setTimeout(() => {
        fired = true;
      }, 500);
      const client = new ControlClient(vdsm.control);
      expect(await client.advanceClock(499)).to.deep.equal({ now: 1499 });
      expect(fired).to.equal(false);
      expect(await client.advanceClock(1)).to.deep.equal({ now: 1500 });
      expect(fired).to.equal(true);
      expect(await vdsm.advanceClock(5)).to.deep.equal({ now: 1505 });
    } finally {
      await vdsm.close();
    }
  });

  it('crashes and restarts on the same state and ports, in-process and over HTTP', async () => {
    const vdsm = await startFakeVdsm();
    try {
      const client = new ControlClient(vdsm.control);
      const port = vdsm.stomp.port;
      const response = await fetch(`${vdsm.control}/crash`, { method: 'POST' });
      expect(response.status).to.equal(202);
      await client.restart();
      expect(vdsm.storage.startup.seeded).to.equal(false); // Opened again on the same state.
      expect(vdsm.hosts[0]?.stomp.port).to.equal(port);
      expect(await client.listImages(fileDomain)).to.have.length(1);

      await vdsm.crash();
      expect(await rejection(client.listHosts())).to.have.property('code', 'unavailable');
      expect(() => vdsm.storage).to.throw(ControlError);
      await vdsm.restart();
      expect(await rejection(vdsm.restart())).to.have.property('code', 'conflict');
      expect(await client.invariants()).to.deep.equal({ ok: true, violations: [] });
    } finally {
      await vdsm.close();
    }
  });
});
