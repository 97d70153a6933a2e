import { expect } from 'chai';
import { Destination } from '../api/constants.js';
import { ConnectionLostError, RpcTimeoutError, UnknownTaskError, VdsmError, VdsmNetworkError } from '../api/errors.js';
import { ManualClock } from '../clock.js';
import { ConnectionClosedError, HeartbeatTimeoutError, StompErrorFrameError } from '../errors.js';
import { StompClientSession } from '../stomp/client-session.js';
import type { StompClientSessionOptions } from '../stomp/client-session.js';
import { scriptedPair } from '../test-support/scripted-peer.js';
import type { ScriptedPeer } from '../test-support/scripted-peer.js';
import type { VdsmEvent } from './event-router.js';
import { EventRouter } from './event-router.js';
import { RpcProtocolError } from '../errors.js';
import { RpcConnection } from './rpc-connection.js';
import type { RpcConnectionOptions } from './rpc-connection.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VM = '0d9e6c4c-4c3f-4c52-9f5e-1f3a0c0e2f11';

async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Setup {
  connection: RpcConnection;
  session: StompClientSession;
  peer: ScriptedPeer;
  clock: ManualClock;
  protocolErrors: Error[];
}

/**
 * A connection over a scripted VDSM peer; the SUBSCRIBE frames are taken off
 * the peer's queue. No heart-beats unless asked, so `clock.pending` counts the
 * connection's own timers.
 */
async function open(options: RpcConnectionOptions = {}, sessionOptions: StompClientSessionOptions = {}, serverHeartbeat = '0,0'): Promise<Setup> {
  const clock = new ManualClock();
  const { channel, peer } = scriptedPair();
  const opening = StompClientSession.open(channel, { clock, heartbeat: [0, 0], ...sessionOptions });
  await peer.accept(serverHeartbeat);
  const session = await opening;
  const connection = RpcConnection.open(session, { clock, ...options });
  const protocolErrors: Error[] = [];
  connection.onProtocolError((error) => protocolErrors.push(error));
  const subscriptions = 1 + (options.subscribeEvents === false ? 0 : 1) + (options.responsesDestination === undefined ? 0 : 1);
  for (let i = 0; i < subscriptions; i++) expect((await peer.next()).command).to.equal('SUBSCRIBE');
  return { connection, session, peer, clock, protocolErrors };
}

/** Resolves with the rejection reason (fails when the promise resolves). */
function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`resolved with ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

describe('RpcConnection', () => {
  describe('open', () => {
    it('subscribes a UUID reply-to before the events destination, as vdsm-wire.md 2.4 requires', async () => {
      const clock = new ManualClock();
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel, { clock });
      await peer.accept();
      const connection = RpcConnection.open(await opening, { clock });
      expect(connection.replyTo).to.match(UUID);
      const reply = await peer.next();
      const events = await peer.next();
      expect(reply.raw).to.equal(`SUBSCRIBE\ndestination:${connection.replyTo}\nack:auto\nid:${reply.header('id')}\n\n\0`);
      expect(events.raw).to.equal(`SUBSCRIBE\ndestination:jms.queue.events\nack:auto\nid:${events.header('id')}\n\n\0`);
      expect(reply.header('id')).to.match(UUID);
      expect(events.header('id')).to.match(UUID);
      const closing = connection.close({ receiptTimeoutMs: 1 });
      await clock.advanceAsync(1);
      await closing;
    });

    it('subscribes only the reply-to without events, and the responses destination when asked', async () => {
      const { connection, peer } = await open({ subscribeEvents: false, responsesDestination: Destination.Responses });
      expect(peer.subscriptionOf(connection.replyTo)).to.match(UUID);
      expect(peer.subscriptionOf(Destination.Events)).to.equal(undefined);
      expect(peer.subscriptionOf(Destination.Responses)).to.match(UUID);
      connection.close();
    });

    it('gives each connection its own reply-to', async () => {
      const a = await open();
      const b = await open();
      expect(a.connection.replyTo).not.to.equal(b.connection.replyTo);
      a.session.close();
      b.session.close();
    });
  });

  describe('call', () => {
    it('sends one JSON object per SEND with a UUID id and resolves with the result', async () => {
      const { connection, peer } = await open();
      const result = connection.call('Host.ping2', {});
      const request = await peer.next();
      const body = request.frame.body.toString();
      const { id } = JSON.parse(body) as { id: string };
      expect(id).to.match(UUID);
      expect(body).to.equal(`{"jsonrpc":"2.0","method":"Host.ping2","params":{},"id":"${id}"}`);
      expect(request.raw).to.equal(
        `SEND\ndestination:jms.topic.vdsm_requests\ncontent-type:application/json\nreply-to:${connection.replyTo}\n` +
          `content-length:${Buffer.byteLength(body)}\n\n${body}\0`,
      );
      peer.reply(request, { result: true });
      expect(await result).to.equal(true);
      expect(connection.pendingCalls).to.equal(0);
      connection.close();
    });

    it('adds ovirtCorrelationId after reply-to when a flow id is given, escaped', async () => {
      const { connection, peer } = await open();
      void connection.call('Image.move', { imageID: VM, operation: 1 }, { flowId: 'move:42' });
      const request = await peer.next();
      expect([...request.frame.headers.keys()]).to.deep.equal(['destination', 'content-type', 'reply-to', 'ovirtCorrelationId', 'content-length']);
      expect(request.header('ovirtCorrelationId')).to.equal('move:42');
      expect(request.raw).to.contain('\novirtCorrelationId:move\\c42\ncontent-length:');
      expect(request.json()).to.deep.include({ method: 'Image.move', params: { imageID: VM, operation: 1 } });
      connection.close();
    });

    it('sends to the given request destination', async () => {
      const { connection, peer } = await open({ requestDestination: Destination.IrsRequests });
      void connection.call('Host.ping2', {});
      expect((await peer.next()).header('destination')).to.equal('jms.topic.vdsm_irs_requests');
      connection.close();
    });

    it("turns VDSM's error answers into VdsmError subclasses, message as sent", async () => {
      const { connection, peer } = await open();
      const pending = connection.call('Task.clear', { taskID: 'abc' });
      peer.reply(await peer.next(), { error: { code: 401, message: "Task id unknown: ('abc',)" } });
      const error = await rejectionOf(pending);
      expect(error).to.be.instanceOf(UnknownTaskError);
      expect((error as VdsmError).code).to.equal(401);
      expect((error as VdsmError).message).to.equal("Task id unknown: ('abc',)");
      connection.close();
    });

    it('matches pipelined answers by id, in any order', async () => {
      const { connection, peer } = await open();
      const calls = Array.from({ length: 50 }, (_, i) => connection.call('Host.echo', { message: `m${i}` }));
      const requests = [];
      for (let i = 0; i < 50; i++) requests.push(await peer.next());
      expect(new Set(requests.map((r) => (r.json() as { id: string }).id)).size).to.equal(50);
      for (const request of requests.reverse()) {
        peer.reply(request, { result: (request.json() as { params: { message: string } }).params.message });
      }
      expect(await Promise.all(calls)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `m${i}`));
      connection.close();
    });

    it('rejects params that cannot be JSON and sends nothing', async () => {
      const { connection, peer } = await open();
      expect(await rejectionOf(connection.call('Host.echo', { message: 10n }))).to.be.instanceOf(TypeError);
      await settle();
      expect(peer.queued).to.equal(0);
      expect(connection.pendingCalls).to.equal(0);
      connection.close();
    });

    it('refuses a timeout that is not a positive number', async () => {
      const { connection } = await open();
      for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(await rejectionOf(connection.call('Host.ping2', {}, { timeoutMs }))).to.be.instanceOf(RangeError);
      }
      expect(() => RpcConnection.open({} as StompClientSession, { defaultTimeoutMs: 0 })).to.throw(RangeError);
      connection.close();
    });
  });

  describe('timeouts', () => {
    it('fails a call without answer after timeoutMs with RpcTimeoutError (5022) and ignores the late answer', async () => {
      const { connection, peer, clock, protocolErrors } = await open();
      const pending = connection.call('Image.move', {}, { timeoutMs: 5000 });
      const request = await peer.next();
      let settled = false;
      pending.catch(() => undefined).finally(() => (settled = true));
      await clock.advanceAsync(4999);
      expect(settled).to.equal(false);
      await clock.advanceAsync(1);
      const error = await rejectionOf(pending);
      expect(error).to.be.instanceOf(RpcTimeoutError);
      expect(error).to.be.instanceOf(VdsmNetworkError);
      expect((error as RpcTimeoutError).code).to.equal(5022);
      expect((error as RpcTimeoutError).method).to.equal('Image.move');
      expect((error as RpcTimeoutError).timeoutMs).to.equal(5000);
      expect(clock.pending).to.equal(0);
      // The answer comes after all: dropped quietly, and the connection still works.
      peer.reply(request, { result: 'task-id' });
      await settle();
      expect(protocolErrors).to.deep.equal([]);
      const next = connection.call('Host.ping2', {});
      peer.reply(await peer.next(), { result: true });
      expect(await next).to.equal(true);
      connection.close();
    });

    it('uses defaultTimeoutMs (180 s unless given)', async () => {
      const { connection, clock } = await open();
      const failure = rejectionOf(connection.call('Host.ping2', {}));
      await clock.advanceAsync(179_999);
      expect(connection.pendingCalls).to.equal(1);
      await clock.advanceAsync(1);
      expect(await failure).to.be.instanceOf(RpcTimeoutError);
      connection.close();
    });

    it('keeps one sweep timer for any number of calls and times them out in deadline order', async () => {
      const { connection, clock } = await open({ defaultTimeoutMs: 10_000 });
      const order: string[] = [];
      const track = (name: string, promise: Promise<unknown>): void => void promise.catch(() => order.push(`${name}@${clock.now()}`));
      for (let i = 0; i < 500; i++) track(`long${i}`, connection.call('Host.ping2', {}));
      expect(clock.pending).to.equal(1);
      await clock.advanceAsync(1000);
      track('short', connection.call('Host.ping2', {}, { timeoutMs: 2000 }));
      track('mid', connection.call('Host.ping2', {}, { timeoutMs: 5000 }));
      expect(clock.pending).to.equal(1);
      await clock.advanceAsync(20_000);
      expect(order.slice(0, 3)).to.deep.equal(['short@3000', 'mid@6000', 'long0@10000']);
      expect(order).to.have.length(502);
      expect(order[501]).to.equal('long499@10000');
      expect(clock.pending).to.equal(0);
      connection.close();
    });

    it('sets no timer per call when answers keep coming', async () => {
      const { connection, peer, clock } = await open();
      peer.autoRespond((request) => ({ jsonrpc: '2.0', id: request.id, result: true }));
      for (let i = 0; i < 20; i++) {
        await connection.call('Host.ping2', {});
        await clock.advanceAsync(1000);
      }
      // The first call's sweep timer is still the only one.
      expect(clock.pending).to.equal(1);
      await clock.advanceAsync(180_000);
      expect(clock.pending).to.equal(0);
      connection.close();
    });
  });

  describe('connection loss', () => {
    it('fails every pending call at once with ConnectionLostError (5022), cause the close error', async () => {
      const { connection, peer, clock } = await open();
      const calls = [connection.call('Image.move', {}), connection.call('Task.getStatus', {}, { timeoutMs: 1000 }), connection.call('Host.ping2', {})];
      for (let i = 0; i < 3; i++) await peer.next();
      let pendingWhenClosed = -1;
      let closeError: Error | undefined;
      connection.onClose((error) => {
        pendingWhenClosed = connection.pendingCalls;
        closeError = error;
      });
      peer.end();
      const errors = await Promise.all(calls.map(rejectionOf));
      expect(pendingWhenClosed).to.equal(0);
      expect(closeError).to.be.instanceOf(ConnectionClosedError);
      for (const error of errors) {
        expect(error).to.be.instanceOf(ConnectionLostError);
        expect((error as ConnectionLostError).code).to.equal(5022);
        expect((error as Error).cause).to.equal(closeError);
      }
      expect(clock.pending).to.equal(0);
      expect(connection.closed).to.equal(true);
    });

    it('fails pending calls with the heart-beat timeout as the cause when the server goes silent', async () => {
      const { connection, peer, clock } = await open({}, { heartbeat: [0, 24000] }, '24000,0');
      const failure = rejectionOf(connection.call('Host.ping2', {}));
      await peer.next();
      await clock.advanceAsync(36_000);
      const error = await failure;
      expect(error).to.be.instanceOf(ConnectionLostError);
      expect((error as Error).cause).to.be.instanceOf(HeartbeatTimeoutError);
      expect(clock.pending).to.equal(0);
    });

    it('rejects calls made after the close at once, without sending', async () => {
      const { connection, peer } = await open();
      peer.destroy();
      await new Promise((resolve) => connection.onClose(resolve));
      const error = await rejectionOf(connection.call('Host.ping2', {}));
      expect(error).to.be.instanceOf(ConnectionLostError);
      expect((error as Error).cause).to.be.instanceOf(Error);
    });

    it('close() sends DISCONNECT with a receipt, fails what is pending and leaves no timer', async () => {
      const { connection, peer, clock } = await open();
      const failure = rejectionOf(connection.call('Host.ping2', {}));
      await peer.next();
      const closing = connection.close();
      // Calls made while closing fail at once.
      expect(await rejectionOf(connection.call('Host.ping2', {}))).to.be.instanceOf(ConnectionLostError);
      const disconnect = await peer.next();
      expect(disconnect.command).to.equal('DISCONNECT');
      peer.write(`RECEIPT\nreceipt-id:${disconnect.header('receipt')}\n\n\0`);
      await closing;
      expect(await failure).to.be.instanceOf(ConnectionLostError);
      expect(clock.pending).to.equal(0);
      await peer.closed;
    });
  });

  describe('abort', () => {
    it("rejects the aborted call with the signal's reason and leaves the others alone", async () => {
      const { connection, peer, protocolErrors } = await open();
      const controller = new AbortController();
      const aborted = connection.call('Image.move', {}, { signal: controller.signal });
      const other = connection.call('Host.ping2', {});
      const abortedRequest = await peer.next();
      const otherRequest = await peer.next();
      const reason = new Error('operator cancelled');
      controller.abort(reason);
      expect(await rejectionOf(aborted)).to.equal(reason);
      peer.reply(abortedRequest, { result: 'late' });
      peer.reply(otherRequest, { result: true });
      expect(await other).to.equal(true);
      expect(protocolErrors).to.deep.equal([]);
      expect(connection.pendingCalls).to.equal(0);
      connection.close();
    });

    it('does not send a call whose signal is already aborted', async () => {
      const { connection, peer } = await open();
      const reason = new Error('already');
      expect(await rejectionOf(connection.call('Host.ping2', {}, { signal: AbortSignal.abort(reason) }))).to.equal(reason);
      await settle();
      expect(peer.queued).to.equal(0);
      connection.close();
    });

    it('stops listening to the signal once the call is answered', async () => {
      const { connection, peer } = await open();
      const controller = new AbortController();
      const pending = connection.call('Host.ping2', {}, { signal: controller.signal });
      peer.reply(await peer.next(), { result: true });
      expect(await pending).to.equal(true);
      controller.abort(new Error('too late to matter'));
      expect(connection.pendingCalls).to.equal(0);
      connection.close();
    });
  });

  describe('protocol errors', () => {
    it('reports id:null answers (VDSM parse errors on jms.topic.vdsm_responses) without throwing', async () => {
      const { connection, peer, protocolErrors } = await open({ responsesDestination: Destination.Responses });
      const parseError = {
        jsonrpc: '2.0',
        error: {
          code: -32700,
          message: 'Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text.',
        },
        id: null,
      };
      peer.message(Destination.Responses, parseError);
      peer.message(connection.replyTo, parseError);
      await settle();
      expect(protocolErrors).to.have.length(2);
      const [error] = protocolErrors;
      expect(error).to.be.instanceOf(RpcProtocolError);
      expect((error as RpcProtocolError).payload).to.deep.equal(parseError);
      expect((error!.cause as VdsmError).code).to.equal(-32700);
      expect(error!.message).to.contain('-32700 Invalid JSON was received');
      connection.close();
    });

    it('reports a MESSAGE that is not JSON or not JSON-RPC, and keeps working', async () => {
      const { connection, peer, protocolErrors } = await open();
      peer.message(connection.replyTo, 'not json');
      peer.message(connection.replyTo, '42');
      peer.message(connection.replyTo, { jsonrpc: '2.0', id: 'x' });
      peer.message(connection.replyTo, { jsonrpc: '2.0', id: 7, result: true });
      await settle();
      expect(protocolErrors.map((e) => e.constructor)).to.deep.equal([RpcProtocolError, RpcProtocolError, RpcProtocolError, RpcProtocolError]);
      const pending = connection.call('Host.ping2', {});
      peer.reply(await peer.next(), { result: true });
      expect(await pending).to.equal(true);
      connection.close();
    });

    it('fails a call whose error answer is malformed instead of letting it hang', async () => {
      const { connection, peer } = await open();
      const pending = connection.call('Host.ping2', {});
      const { id } = (await peer.next()).json() as { id: string };
      peer.message(connection.replyTo, { jsonrpc: '2.0', id, error: { code: 'host:1', message: 'weird' } });
      expect(await rejectionOf(pending)).to.be.instanceOf(RpcProtocolError);
      connection.close();
    });

    it('reports ERROR frames from the server and stays open', async () => {
      const { connection, peer, protocolErrors } = await open();
      peer.write('ERROR\ncontent-length:26\n\nSubscription not available\0');
      await settle();
      expect(protocolErrors).to.have.length(1);
      expect(protocolErrors[0]).to.be.instanceOf(StompErrorFrameError);
      expect(connection.closed).to.equal(false);
      connection.close();
    });
  });

  describe('events', () => {
    it('routes events on jms.queue.events by id, with wildcards', async () => {
      const { connection, peer } = await open();
      const heard: [string, VdsmEvent][] = [];
      connection.on('|virt|VM_status|*', (event) => heard.push(['vm', event]));
      connection.on('*|jobs|*|*', (event) => heard.push(['jobs', event]));
      connection.on('*', (event) => heard.push(['all', event]));
      const vmEvent = { jsonrpc: '2.0', method: `|virt|VM_status|${VM}`, params: { [VM]: { status: 'Up' }, notify_time: 4_295_123_456 } };
      const netEvent = { jsonrpc: '2.0', method: '|net|host_conn|no_id', params: { notify_time: 4_295_123_457 } };
      peer.message(Destination.Events, vmEvent);
      peer.message(Destination.Events, netEvent);
      await settle();
      expect(heard).to.deep.equal([
        ['vm', { id: vmEvent.method, params: vmEvent.params }],
        ['all', { id: vmEvent.method, params: vmEvent.params }],
        ['all', { id: netEvent.method, params: netEvent.params }],
      ]);
      connection.close();
    });

    it('delivers to a shared router, and a throwing listener breaks nothing', async () => {
      const errors: unknown[] = [];
      const events = new EventRouter({ onListenerError: (error) => errors.push(error) });
      const { connection, peer } = await open({ events });
      expect(connection.events).to.equal(events);
      const heard: string[] = [];
      events.on('*', () => {
        throw new Error('listener bug');
      });
      events.on('*', (event) => heard.push(event.id));
      peer.message(Destination.Events, { jsonrpc: '2.0', method: '|a|b|c', params: { notify_time: 1 } });
      const pending = connection.call('Host.ping2', {});
      peer.reply(await peer.next(), { result: true });
      expect(await pending).to.equal(true);
      expect(heard).to.deep.equal(['|a|b|c']);
      expect(errors).to.have.length(1);
      connection.close();
    });
  });
});
