/**
 * Wire faults from a real client over a real socket: an in-process fake
 * (startFakeVdsm) and a VdsmClient over TCP on 127.0.0.1, rules added to the
 * process's fault engine (`storage.faults`, the one the control plane drives).
 */
import { ConnectionLostError, VdsmErrorCode } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { HeartbeatTimeoutError } from '@vdsm-kit/client/errors';
import { VdsmClient } from '@vdsm-kit/client';
import type { VdsmEvent } from '@vdsm-kit/client/rpc';
import { expect } from 'chai';
import { startFakeVdsm } from '../index.js';
import type { FakeVdsm } from '../index.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const realPause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves a manual clock forward in small steps with real pauses between, so
 * the bytes a timer wrote (a heart-beat, a paced frame) cross the real
 * socket before the next timer is due, as they would in real time.
 */
async function tick(clock: ManualClock, ms: number, until?: () => boolean): Promise<void> {
  const step = 50;
  for (let moved = 0; moved < ms && !(until?.() ?? false); moved += step) {
    await clock.advanceAsync(Math.min(step, ms - moved));
    await realPause(3);
  }
}

describe('faults/wire-faults: from a real client over TCP', function () {
  this.timeout(30_000);
  let vdsm: FakeVdsm | undefined;
  const clients: VdsmClient[] = [];

  const client = (options: ConstructorParameters<typeof VdsmClient>[0] = {}): VdsmClient => {
    const created = new VdsmClient({ transport: 'tcp', host: vdsm!.stomp.host, port: vdsm!.stomp.port, timeoutMs: 60_000, ...options });
    clients.push(created);
    return created;
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await vdsm?.close();
    vdsm = undefined;
  });

  it('closeConnection drops the connection before answering: 5022 ConnectionLostError, and the next call reconnects', async () => {
    vdsm = await startFakeVdsm();
    // A rule for another host must not touch host 1's connections.
    vdsm.storage.faults.add({ match: { host: 2 }, action: { closeConnection: true } });
    const rule = vdsm.storage.faults.add({ match: { host: 1, method: 'Host.echo' }, action: { closeConnection: true }, after: 1, times: 1 });
    const vdsmClient = client();
    const disconnects: (Error | undefined)[] = [];
    vdsmClient.onDisconnect((error) => disconnects.push(error));

    expect(await vdsmClient.Host.echo({ message: 'first match, skipped by after' })).to.equal('first match, skipped by after');
    const lost = await rejection(vdsmClient.Host.echo({ message: 'dropped' }));
    expect(lost).to.be.instanceOf(ConnectionLostError);
    expect((lost as ConnectionLostError).code).to.equal(VdsmErrorCode.VDS_NETWORK_ERROR);
    expect(disconnects).to.have.length(1);

    // times: 1 is spent: the client reconnects on its own and is answered.
    expect(await vdsmClient.Host.echo({ message: 'after' })).to.equal('after');
    const firings = vdsm.storage.faults.log();
    expect(firings).to.have.length(1);
    expect(firings[0]).to.deep.include({ ruleId: rule.id, layer: 'wire', kind: 'closeConnection' });
    expect(firings[0]?.point).to.deep.include({ layer: 'wire', host: 1, method: 'Host.echo', params: { message: 'dropped' } });
  });

  it('stopHeartbeats: a client expecting beats every 1000 ms declares the server dead ~1.5 s after it goes quiet', async () => {
    const clock = new ManualClock();
    vdsm = await startFakeVdsm({ clock });
    const vdsmClient = client({ clock, heartbeat: [0, 1000] });
    const disconnects: (Error | undefined)[] = [];
    vdsmClient.onDisconnect((error) => disconnects.push(error));
    expect(await vdsmClient.Host.echo({ message: 'x' })).to.equal('x');

    // Healthy first: the server's beats keep an idle connection alive.
    await tick(clock, 4000);
    expect(vdsmClient.connected).to.equal(true);

    vdsm.storage.faults.add({ match: { method: 'Host.echo' }, action: { stopHeartbeats: true }, times: 1 });
    expect(await vdsmClient.Host.echo({ message: 'last words' })).to.equal('last words');
    const quietSince = clock.now();
    await tick(clock, 5000, () => disconnects.length > 0);
    const deadAfter = clock.now() - quietSince;
    expect(disconnects).to.have.length(1);
    expect(deadAfter).to.be.within(1400, 2000);
    const reason = disconnects[0];
    expect(reason instanceof HeartbeatTimeoutError || reason?.cause instanceof HeartbeatTimeoutError, String(reason)).to.equal(true);
    expect(vdsm.storage.faults.log().map((firing) => firing.kind)).to.deep.equal(['stopHeartbeats']);
  });

  it('slowBytes paces the connection: a 100 KiB Host.echo answer takes size / rate on the clock', async () => {
    const clock = new ManualClock();
    vdsm = await startFakeVdsm({ clock });
    const vdsmClient = client({ clock });
    const message = 'x'.repeat(100 * 1024);
    // Unpaced, the answer needs no clock time at all.
    expect(await vdsmClient.Host.echo({ message })).to.equal(message);

    const rate = 50 * 1024;
    vdsm.storage.faults.add({ match: { host: 1, method: 'Host.echo' }, action: { slowBytes: rate }, times: 1 });
    const start = clock.now();
    let answeredAt: number | undefined;
    const answer = vdsmClient.Host.echo({ message }).then((echoed) => {
      answeredAt = clock.now();
      return echoed;
    });
    // The answer frame is a little over 100 KiB: about 2 s at 50 KiB/s.
    await tick(clock, 1900, () => answeredAt !== undefined);
    expect(answeredAt).to.equal(undefined);
    await tick(clock, 1000, () => answeredAt !== undefined);
    expect(await answer).to.equal(message);
    expect(answeredAt! - start).to.be.within(2000, 2150);
    // The DISCONNECT receipt is paced too (a few bytes, but on the manual clock): let it out.
    let closed = false;
    const closing = vdsmClient.close().then(() => {
      closed = true;
    });
    await tick(clock, 1000, () => closed);
    await closing;
  });

  it('dropEvents and duplicateEvents act on the matching host\'s event subscribers, by event id', async () => {
    vdsm = await startFakeVdsm();
    vdsm.storage.faults.add({ match: { host: 2 }, action: { dropEvents: true } });
    vdsm.storage.faults.add({ match: { method: '|test|drop|1' }, action: { dropEvents: true } });
    vdsm.storage.faults.add({ match: { host: 1, method: '|test|dup|1' }, action: { duplicateEvents: true } });
    const vdsmClient = client();
    const seen: string[] = [];
    let ended: () => void = () => undefined;
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    vdsmClient.onEvent((event: VdsmEvent) => {
      seen.push(event.id);
      if (event.id === '|test|end|1') ended();
    });
    // Connected and subscribed to jms.queue.events (the subscription precedes the request).
    await vdsmClient.Host.echo({ message: 'hi' });

    const event = (id: string): string => JSON.stringify({ jsonrpc: '2.0', method: id, params: { notify_time: 1 } });
    expect(vdsm.broker.publishEvent(event('|test|drop|1'))).to.equal(0);
    expect(vdsm.broker.publishEvent(event('|test|dup|1'))).to.equal(2);
    expect(vdsm.broker.publishEvent(event('|test|end|1'))).to.equal(1);
    await end;
    expect(seen).to.deep.equal(['|test|dup|1', '|test|dup|1', '|test|end|1']);
    expect(vdsm.storage.faults.log().map((firing) => [firing.kind, firing.point.method])).to.deep.equal([
      ['dropEvents', '|test|drop|1'],
      ['duplicateEvents', '|test|dup|1'],
    ]);
  });
});
