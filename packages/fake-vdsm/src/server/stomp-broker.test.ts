import { Destination } from '@vdsm-kit/client/api';
import { encodeFrame } from '@vdsm-kit/client/stomp';
import type { FrameInit, StompFrame } from '@vdsm-kit/client/stomp';
import { expect } from 'chai';
import { StompBroker } from './stomp-broker.js';
import type { MessageSink, Subscription } from './stomp-broker.js';

/** A sink that records the encoded bytes of what it is sent. */
class RecordingSink implements MessageSink {
  closed = false;
  readonly frames: string[] = [];
  send(frame: FrameInit): void {
    this.frames.push(encodeFrame(frame).toString('utf8'));
  }
}

function subscription(id: string, destination: string, sink = new RecordingSink()): Subscription & { sink: RecordingSink } {
  return { id, destination, sink };
}

function sendFrame(headers: [string, string][], body: string): StompFrame {
  return { command: 'SEND', headers: new Map(headers), body: Buffer.from(body) };
}

describe('StompBroker', () => {
  it('finds subscribers of a destination and of each dot-prefix of it, shortest first', () => {
    const broker = new StompBroker();
    const exact = subscription('1', 'jms.topic.vdsm_requests');
    const topic = subscription('2', 'jms.topic');
    const root = subscription('3', 'jms');
    const other = subscription('4', 'jms.queue');
    const partial = subscription('5', 'jms.top');
    for (const s of [exact, topic, root, other, partial]) broker.subscribe(s);
    expect(broker.findSubscribers('jms.topic.vdsm_requests')).to.deep.equal([root, topic, exact]);
    expect(broker.findSubscribers('jms.topic.vdsm_requests.more')).to.deep.equal([root, topic, exact]);
    expect(broker.findSubscribers('other')).to.deep.equal([]);
  });

  it('treats the request queues and <queue>.<anything> as requests, nothing else', () => {
    const broker = new StompBroker();
    expect(broker.isRequestDestination(Destination.Requests)).to.equal(true);
    expect(broker.isRequestDestination(Destination.IrsRequests)).to.equal(true);
    expect(broker.isRequestDestination(`${Destination.Requests}.host-1`)).to.equal(true);
    expect(broker.isRequestDestination(`${Destination.Requests}x`)).to.equal(false);
    expect(broker.isRequestDestination('jms.topic')).to.equal(false);
    expect(broker.isRequestDestination(Destination.Responses)).to.equal(false);
  });

  it('forwards a SEND as MESSAGE with subscription first, then the SEND headers', () => {
    const broker = new StompBroker();
    const listener = subscription('sub-1', 'jms.topic');
    broker.subscribe(listener);
    const count = broker.forward(sendFrame([['destination', 'jms.topic.x'], ['content-type', 'text/plain'], ['content-length', '2']], 'hi'), 'jms.topic.x');
    expect(count).to.equal(1);
    expect(listener.sink.frames).to.deep.equal(['MESSAGE\nsubscription:sub-1\ndestination:jms.topic.x\ncontent-type:text/plain\ncontent-length:2\n\nhi\0']);
  });

  it("lets a SEND's own subscription header win, in first place (Python dict.update)", () => {
    const broker = new StompBroker();
    const listener = subscription('sub-1', 'd');
    broker.subscribe(listener);
    broker.forward(sendFrame([['destination', 'd'], ['subscription', 'theirs']], ''), 'd');
    expect(listener.sink.frames).to.deep.equal(['MESSAGE\nsubscription:theirs\ndestination:d\ncontent-length:0\n\n\0']);
  });

  it('routes a response to every subscription of its reply-to, in VDSM header order, and forgets the id', () => {
    const broker = new StompBroker();
    const first = subscription('a', 'reply-1');
    const second = subscription('b', 'reply-1');
    broker.subscribe(first);
    broker.subscribe(second);
    broker.rememberReplyTo(['id-1'], 'reply-1');
    broker.deliverResponse({ ids: ['id-1'], body: '{}' });
    expect(first.sink.frames).to.deep.equal(['MESSAGE\ndestination:reply-1\ncontent-type:application/json\nsubscription:a\ncontent-length:2\n\n{}\0']);
    expect(second.sink.frames).to.deep.equal(['MESSAGE\ndestination:reply-1\ncontent-type:application/json\nsubscription:b\ncontent-length:2\n\n{}\0']);
    expect(broker.pendingRoutes).to.equal(0);
  });

  it('sends id-null and unknown-id responses to jms.topic.vdsm_responses', () => {
    const broker = new StompBroker();
    const responses = subscription('r', Destination.Responses);
    broker.subscribe(responses);
    broker.deliverResponse({ ids: [null], body: '1' });
    broker.deliverResponse({ ids: ['never-sent'], body: '2' });
    expect(responses.sink.frames.map((frame) => frame.slice(-2, -1))).to.deep.equal(['1', '2']);
  });

  it('drops the response of a request sent without reply-to', () => {
    const broker = new StompBroker();
    const responses = subscription('r', Destination.Responses);
    broker.subscribe(responses);
    broker.rememberReplyTo(['id-1'], undefined);
    broker.deliverResponse({ ids: ['id-1'], body: '{}' });
    expect(responses.sink.frames).to.deep.equal([]);
    expect(broker.pendingRoutes).to.equal(0);
  });

  it('routes a batch answer by its first routable id and forgets all of its ids', () => {
    const broker = new StompBroker();
    const reply = subscription('a', 'reply-1');
    broker.subscribe(reply);
    broker.rememberReplyTo(['x', 'y'], 'reply-1');
    broker.deliverResponse({ ids: [null, 'x', 'y'], body: '[]' });
    expect(reply.sink.frames).to.have.length(1);
    expect(broker.pendingRoutes).to.equal(0);
  });

  it('forgets routes of ids that got no response, unless a later request reused the id', () => {
    const broker = new StompBroker();
    const route = broker.rememberReplyTo(['x', 'y'], 'reply-1');
    const reused = broker.rememberReplyTo(['y'], 'reply-2');
    broker.forgetReplyTo(['x', 'y'], route);
    expect(broker.pendingRoutes).to.equal(1);
    broker.forgetReplyTo(['y'], reused);
    expect(broker.pendingRoutes).to.equal(0);
  });

  it('skips closed sinks and drops a destination when its last subscription goes', () => {
    const broker = new StompBroker();
    const open = subscription('a', Destination.Events);
    const closed = subscription('b', Destination.Events);
    closed.sink.closed = true;
    broker.subscribe(open);
    broker.subscribe(closed);
    expect(broker.publish(Destination.Events, '{}')).to.equal(1);
    broker.unsubscribe(open);
    broker.unsubscribe(closed);
    broker.unsubscribe(closed);
    expect(broker.subscriberCount(Destination.Events)).to.equal(0);
    expect(broker.findSubscribers(Destination.Events)).to.deep.equal([]);
  });

  it('publishes events to jms.queue.events subscribers', () => {
    const broker = new StompBroker();
    const events = subscription('e', Destination.Events);
    broker.subscribe(events);
    broker.publishEvent('{"jsonrpc": "2.0"}');
    expect(events.sink.frames).to.deep.equal([
      'MESSAGE\ndestination:jms.queue.events\ncontent-type:application/json\nsubscription:e\ncontent-length:18\n\n{"jsonrpc": "2.0"}\0',
    ]);
  });
});
