import { ManualClock } from '@vdsm-kit/client/clock';
import { encodeFrame } from '@vdsm-kit/client/stomp';
import type { FrameInit, StompFrame } from '@vdsm-kit/client/stomp';
import { createMemoryChannelPair } from '@vdsm-kit/client/transport';
import type { FrameChannel } from '@vdsm-kit/client/transport';
import { expect } from 'chai';
import { PacedChannel } from './paced-channel.js';

/** Lets the memory pair carry what was written to the other side. */
async function settle(): Promise<void> {
  // A few turns: the stream pair hands chunks on across several ticks.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('server/paced-channel', () => {
  let clock: ManualClock;
  let paced: PacedChannel;
  let peer: FrameChannel;
  let received: string[];
  let beats: number;

  beforeEach(() => {
    clock = new ManualClock();
    const [near, far] = createMemoryChannelPair();
    paced = new PacedChannel(near, clock);
    peer = far;
    received = [];
    beats = 0;
    peer.onFrame((frame: StompFrame) => received.push(frame.body.toString('utf8')));
    // onData fires for frames too; count chunks that carry no frame as beats.
    peer.onData(() => beats++);
  });

  afterEach(() => {
    paced.destroy();
    peer.destroy();
  });

  it('forwards at once while unpaced, with no timer', async () => {
    paced.send({ command: 'MESSAGE', body: 'a' });
    await settle();
    expect(received).to.deep.equal(['a']);
    expect(clock.pending).to.equal(0);
  });

  it('lets each frame leave when its last byte would have, back to back', async () => {
    const frame: FrameInit = { command: 'MESSAGE', body: 'x'.repeat(990) };
    const size = encodeFrame(frame).length;
    paced.pace(size); // one frame per second
    paced.send(frame);
    paced.send({ ...frame, body: 'y'.repeat(990) });
    expect(paced.queued).to.equal(2);
    await clock.advanceAsync(999);
    await settle();
    expect(received).to.have.length(0);
    await clock.advanceAsync(1);
    await settle();
    expect(received).to.have.length(1);
    await clock.advanceAsync(999);
    await settle();
    expect(received).to.have.length(1);
    await clock.advanceAsync(1);
    await settle();
    expect(received.map((body) => body[0])).to.deep.equal(['x', 'y']);
    expect(clock.pending).to.equal(0);
  });

  it('queues heart-beats in order with the frames', async () => {
    paced.pace(1);
    paced.sendHeartbeat();
    await clock.advanceAsync(999);
    await settle();
    expect(beats).to.equal(0);
    await clock.advanceAsync(1);
    await settle();
    expect(beats).to.equal(1);
  });

  it('close() flushes the queue first; destroy() drops it and its timer', async () => {
    paced.pace(100);
    paced.send({ command: 'RECEIPT', headers: [['receipt-id', '1']] });
    paced.close();
    expect(paced.closed).to.equal(true);
    paced.send({ command: 'MESSAGE', body: 'after close' });
    await clock.advanceAsync(1000);
    await settle();
    expect(received).to.deep.equal(['']);
    let peerClosed = false;
    peer.onClose(() => {
      peerClosed = true;
    });
    await settle();
    expect(peerClosed).to.equal(true);

    const [near, far] = createMemoryChannelPair();
    const other = new PacedChannel(near, clock);
    other.pace(1);
    other.send({ command: 'MESSAGE', body: 'never' });
    expect(clock.pending).to.equal(1);
    other.destroy();
    expect(clock.pending).to.equal(0);
    far.destroy();
  });

  it('refuses a rate that is not a positive number', () => {
    for (const rate of [0, -1, Number.NaN, Infinity]) expect(() => paced.pace(rate)).to.throw(RangeError);
  });
});
