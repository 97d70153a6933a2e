import { expect } from 'chai';
import { HeaderTooLongError } from '../errors.js';
import type { StompFrame } from '../stomp/frame.js';
import type { FrameChannel } from './channel.js';
import { createMemoryChannelPair } from './memory.js';

function nextFrame(channel: FrameChannel): Promise<StompFrame> {
  return new Promise((resolve) => channel.onFrame(resolve));
}

function closeReason(channel: FrameChannel): Promise<Error | undefined> {
  return new Promise((resolve) => channel.onClose(resolve));
}

describe('createMemoryChannelPair', () => {
  it('carries frames both ways through the codec', async () => {
    const [left, right] = createMemoryChannelPair();
    expect(left.info).to.deep.equal({ transport: 'memory' });
    expect(right.info).to.deep.equal({ transport: 'memory' });

    const atRight = nextFrame(right);
    left.send({ command: 'SEND', headers: { destination: 'jms.topic.vdsm_requests', 'reply-to': 'q:1' }, body: '[]' });
    const request = await atRight;
    expect(request.headers.get('reply-to')).to.equal('q:1');
    expect(request.headers.get('content-length')).to.equal('2');

    const atLeft = nextFrame(left);
    right.send({ command: 'MESSAGE', headers: { destination: 'q:1', subscription: 's' }, body: Buffer.from('true') });
    expect((await atLeft).body.toString()).to.equal('true');
    left.destroy();
  });

  it('closes the other end cleanly when one end closes', async () => {
    const [left, right] = createMemoryChannelPair();
    const leftClosed = closeReason(left);
    const rightClosed = closeReason(right);
    left.close();
    expect(await leftClosed).to.equal(undefined);
    expect(await rightClosed).to.equal(undefined);
    expect(right.closed).to.equal(true);
  });

  it('applies the options to both ends', async () => {
    const [left, right] = createMemoryChannelPair({ limits: { maxHeaderLength: 16 } });
    const rightClosed = closeReason(right);
    left.send({ command: 'SEND', headers: { destination: 'a-destination-name-longer-than-16' } });
    expect(await rightClosed).to.be.instanceOf(HeaderTooLongError);
    left.destroy();
  });
});
