/**
 * The client/fake conformance suite: ONE suite function, run over every
 * transport (TCP, mutual TLS, WebSocket) against an in-process fake, as
 * MQTT.js runs its abstract client tests over each of its transports. A
 * behaviour that holds on one transport and not another is a transport bug,
 * and shows up here as one red row.
 */
import { networkInterfaces } from 'node:os';
import { ConnectionClosedError } from '@vdsm-kit/client/errors';
import { Destination, MethodNotFoundError, VdsmError } from '@vdsm-kit/client/api';
import type { StompFrame } from '@vdsm-kit/client/stomp';
import { expect } from 'chai';
import type { AsyncQueue } from './support/async-queue.js';
import { rejectionOf, watch } from './support/outcome.js';
import { openRawSession } from './support/raw-session.js';
import type { RawSession } from './support/raw-session.js';
import { TeardownHelper } from './support/teardown.js';
import { transports } from './support/transports.js';
import type { TransportCase, TransportEndpoint } from './support/transports.js';
import { methodNotFoundMessage } from './support/vdsm-oracle.js';

/** A string of about `bytes` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters (so bytes != UTF-16 units). */
function mixedText(bytes: number): string {
  const unit = 'aé✓🚀'; // 1 + 2 + 3 + 4 = 10 bytes
  return unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)));
}

/** The name of the local interface holding 127.0.0.1, as `lastClientIface` should report it. */
function loopbackInterface(): string {
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (addresses?.some((info) => info.address === '127.0.0.1')) return name;
  }
  return '';
}

/** Reads the next MESSAGE on `queue` whose forwarded SEND matches `accept`. */
async function nextMatching(queue: AsyncQueue<StompFrame>, accept: (frame: StompFrame) => boolean, what: string): Promise<StompFrame> {
  for (;;) {
    const frame = await queue.next(what);
    if (accept(frame)) return frame;
  }
}

function conformanceSuite(transport: TransportCase): void {
  const suite = new TeardownHelper();
  const perTest = new TeardownHelper();
  let vdsm: TransportEndpoint;

  before(async () => {
    vdsm = await transport.start(suite);
  });
  afterEach(() => perTest.run());
  after(() => suite.run());

  /** A raw STOMP session over the same transport, closed after the test. */
  async function rawSession(): Promise<RawSession> {
    return perTest.track(await openRawSession(vdsm.channelTarget), (session) => session.close());
  }

  it('connects (CONNECT, CONNECTED, reply-to subscribed)', async () => {
    const client = vdsm.client(perTest);
    expect(client.connected).to.equal(false);
    await client.connect();
    expect(client.connected).to.equal(true);
  });

  it('Host.ping2 returns true', async () => {
    const client = vdsm.client(perTest);
    expect(await client.Host.ping2()).to.equal(true);
  });

  it('Host.echo round-trips unicode, including escapes JSON and STOMP care about', async () => {
    const client = vdsm.client(perTest);
    const message = 'héllo ✓ 日本語 🚀 "q" \\ a:b \n\r\t \u0000 end';
    expect(await client.Host.echo({ message })).to.equal(message);
  });

  it('Host.echo round-trips 1 MiB of multi-byte text (content-length framing both ways)', async () => {
    const client = vdsm.client(perTest);
    const message = mixedText(1024 * 1024);
    expect(Buffer.byteLength(message)).to.be.greaterThan(message.length);
    const echoed = await client.Host.echo({ message });
    // Not deep-equal on a megabyte: a mismatch message would be unreadable.
    expect(echoed.length).to.equal(message.length);
    expect(echoed === message, 'the echoed text differs from what was sent').to.equal(true);
  });

  it('Host.getCapabilities has VDSM\'s shape and lastClientIface of the connection', async () => {
    const client = vdsm.client(perTest);
    const caps = (await client.Host.getCapabilities()) as Record<string, unknown>;
    expect(caps).to.include.keys('kvmEnabled', 'cpuCores', 'cpuThreads', 'memSize', 'software_version', 'version_name', 'supportedENGINEs', 'clusterLevels', 'networks', 'lastClientIface');
    expect(caps['software_version']).to.be.a('string');
    expect(caps['supportedENGINEs']).to.be.an('array').that.is.not.empty;
    expect(caps['lastClientIface']).to.equal(loopbackInterface());
  });

  it('an unknown method fails with MethodNotFoundError -32601 in VDSM\'s words', async () => {
    const client = vdsm.client(perTest);
    const error = await rejectionOf(client.call('Host.noSuchVerb', {}));
    expect(error).to.be.instanceOf(MethodNotFoundError).and.instanceOf(VdsmError);
    expect((error as VdsmError).code).to.equal(-32601);
    expect((error as VdsmError).message).to.equal(methodNotFoundMessage('Host.noSuchVerb'));
    // The connection survives an error answer.
    expect(await client.Host.ping2()).to.equal(true);
  });

  it('100 concurrent calls are all answered with their own results', async () => {
    const client = vdsm.client(perTest);
    const messages = Array.from({ length: 100 }, (_, i) => `call-${i}-${'x'.repeat(i)}`);
    const results = await Promise.all(messages.map((message) => client.Host.echo({ message })));
    expect(results).to.deep.equal(messages);
  });

  it('a call with a flow id sends ovirtCorrelationId and is answered', async () => {
    const spy = await rawSession();
    const requests = await spy.subscribe(Destination.Requests);
    const client = vdsm.client(perTest);
    expect(await client.Host.echo({ message: 'flowing' }, { flowId: 'flow-e2e-42' })).to.equal('flowing');
    const send = await nextMatching(requests, (frame) => frame.headers.has('ovirtCorrelationId'), 'the SEND with a flow id');
    expect(send.headers.get('ovirtCorrelationId')).to.equal('flow-e2e-42');
    expect(JSON.parse(send.body.toString())).to.include({ method: 'Host.echo' });
  });

  it('after close(), calls fail at once with ConnectionClosedError (no reconnect)', async () => {
    const client = vdsm.client(perTest);
    expect(await client.Host.ping2()).to.equal(true);
    await client.close();
    expect(client.connected).to.equal(false);
    const call = watch(client.Host.ping2());
    // "At once": failed within one turn of the event loop, where a reconnect needs several socket round trips.
    await new Promise((resolve) => setImmediate(resolve));
    expect(call.settled, 'failed without touching the network').to.equal(true);
    const error = await rejectionOf(call.promise, 'a call on a closed client');
    expect(error).to.be.instanceOf(ConnectionClosedError);
    expect(client.connected).to.equal(false);
  });

  it('two clients at once get only their own answers, each on its own reply-to', async () => {
    const spy = await rawSession();
    const requests = await spy.subscribe(Destination.Requests);
    const a = vdsm.client(perTest);
    const b = vdsm.client(perTest);
    // One call each, to learn each client's reply-to from the forwarded SENDs.
    await Promise.all([a.Host.echo({ message: 'hello from a' }), b.Host.echo({ message: 'hello from b' })]);
    const replyToOf = new Map<string, string>();
    while (replyToOf.size < 2) {
      const send = await requests.next('the first SENDs of both clients');
      const request = JSON.parse(send.body.toString()) as { params?: { message?: string } };
      const replyTo = send.headers.get('reply-to');
      if (replyTo !== undefined && request.params?.message?.startsWith('hello from ')) replyToOf.set(request.params.message, replyTo);
    }
    const replyToA = replyToOf.get('hello from a');
    expect(replyToA).to.be.a('string');
    expect(replyToA).to.not.equal(replyToOf.get('hello from b'));

    // The spy listens on a's reply-to too: it must hear exactly a's answers, none of b's.
    const aAnswers = await spy.subscribe(replyToA!);
    const count = 20;
    const aMessages = Array.from({ length: count }, (_, i) => `a-${i}`);
    const bMessages = Array.from({ length: count }, (_, i) => `b-${i}`);
    const [aResults, bResults] = await Promise.all([
      Promise.all(aMessages.map((message) => a.Host.echo({ message }))),
      Promise.all(bMessages.map((message) => b.Host.echo({ message }))),
    ]);
    expect(aResults).to.deep.equal(aMessages);
    expect(bResults).to.deep.equal(bMessages);
    const heard: unknown[] = [];
    for (let i = 0; i < count; i++) heard.push((JSON.parse((await aAnswers.next("a's answers")).body.toString()) as { result: unknown }).result);
    expect(heard.sort()).to.deep.equal([...aMessages].sort());
    // Anything misrouted to a's queue would have reached the spy before this round trip's answer.
    await spy.sync();
    expect(aAnswers.size).to.equal(0);
  });
}

describe('conformance: VdsmClient against fake-vdsm, per transport', () => {
  for (const transport of transports) describe(transport.name, () => conformanceSuite(transport));
});
