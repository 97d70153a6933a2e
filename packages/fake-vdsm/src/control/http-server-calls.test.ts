/**
 * The call log and metrics routes of the control API over real HTTP, with
 * a real client over TCP making the calls: their checks, the token, the
 * content type, and that both outlive an in-process crash and restart.
 */
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { startFakeVdsm } from '../index.js';
import type { FakeVdsm } from '../index.js';
import { ControlError } from './control-api.js';
import { ControlClient } from './control-client.js';
import { rejection } from '../test-support/rejection.js';

describe('control API over HTTP: /calls and /metrics', function () {
  this.timeout(20_000);
  let vdsm: FakeVdsm | undefined;
  const clients: VdsmClient[] = [];
  const connect = (fake: FakeVdsm): VdsmClient => {
    const client = new VdsmClient({ transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port });
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await vdsm?.close();
    vdsm = undefined;
  });

  it('refuses a since that is not a whole number and an empty method, with 400', async () => {
    vdsm = await startFakeVdsm();
    for (const query of ['since=abc', 'since=-1', 'since=1.5', 'since=', 'method=']) {
      const response = await fetch(`${vdsm.control}/calls?${query}`);
      expect(response.status, query).to.equal(400);
      expect(await response.json(), query).to.have.nested.property('error.code', 'bad_request');
    }
    expect(await rejection(new ControlClient(vdsm.control).listCalls({ since: -3 }))).to.be.instanceOf(ControlError).with.property('code', 'bad_request');
    expect(await rejection(vdsm.listCalls({ since: Number.NaN }))).to.be.instanceOf(ControlError).with.property('code', 'bad_request');
    const wrong = await fetch(`${vdsm.control}/metrics`, { method: 'POST' });
    expect(wrong.status).to.equal(405);
  });

  it('serves /metrics as Prometheus text, behind the token like every route', async () => {
    vdsm = await startFakeVdsm({ controlToken: 'tok' });
    await connect(vdsm).Host.ping2({});
    const bare = await fetch(`${vdsm.control}/metrics`);
    expect(bare.status).to.equal(401);
    expect(await rejection(new ControlClient(vdsm.control).metrics())).to.be.instanceOf(ControlError).with.property('code', 'unauthorized');
    const response = await fetch(`${vdsm.control}/metrics`, { headers: { authorization: 'Bearer tok' } });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).to.include('fake_vdsm_rpc_calls_total{host="1",method="Host.ping2",code="0"} 1\n');
    expect(await new ControlClient(vdsm.control, { token: 'tok' }).metrics()).to.include('fake_vdsm_connections_open{host="1"} 1\n');
  });

  it('keeps the calls and counts across crash() and restart(); a new connection gets a new id', async () => {
    vdsm = await startFakeVdsm();
    await connect(vdsm).Host.ping2({});
    const before = await vdsm.listCalls();
    await vdsm.crash();
    await vdsm.restart();
    await connect(vdsm).Host.ping2({});
    const after = await new ControlClient(vdsm.control).listCalls({ method: 'Host.ping2' });
    expect(after.calls.map((call) => call.seq)).to.deep.equal([1, 2]);
    expect(after.calls[0]).to.deep.equal(before.calls[0]);
    expect(after.calls[1]?.connection).to.be.a('number').and.not.equal(after.calls[0]?.connection);
    expect(await vdsm.metrics()).to.include('fake_vdsm_rpc_calls_total{host="1",method="Host.ping2",code="0"} 2\n');
    expect(await vdsm.clearCalls()).to.equal(2);
    expect(await vdsm.listCalls()).to.deep.equal({ calls: [], next: 2, dropped: 2 });
  });

  it('refuses a call log capacity out of range at start', async () => {
    for (const callLogCapacity of [0, 1.5, 10_000_000]) {
      expect(await rejection(startFakeVdsm({ callLogCapacity })), String(callLogCapacity)).to.be.instanceOf(RangeError);
    }
  });
});
