import { expect } from 'chai';
import { ManualClock } from '../clock.js';
import { HeartbeatMonitor, formatHeartbeatHeader, negotiateHeartbeat, parseHeartbeatHeader } from './heartbeat.js';

describe('heart-beat header', () => {
  it('parses "cx,cy"', () => {
    expect(parseHeartbeatHeader('0,24000')).to.deep.equal([0, 24000]);
    expect(parseHeartbeatHeader('24000,0')).to.deep.equal([24000, 0]);
    expect(parseHeartbeatHeader(' 5000 , 500 ')).to.deep.equal([5000, 500]);
  });

  it('reads a missing or garbled value as 0,0', () => {
    for (const value of [undefined, '', '1000', '1000,', ',1000', 'a,b', '-1,5', '1.5,2', '1,2,3', '9'.repeat(400) + ',1']) {
      expect(parseHeartbeatHeader(value), String(value)).to.deep.equal([0, 0]);
    }
  });

  it('formats what it parses', () => {
    expect(formatHeartbeatHeader([0, 24000])).to.equal('0,24000');
  });
});

describe('negotiateHeartbeat', () => {
  it("gives vdsm's client no outgoing beats and a 24 s incoming beat against VDSM's answer", () => {
    // The client sent 0,24000; VDSM answers heart-beat:<cy>,<cx> = 24000,0.
    expect(negotiateHeartbeat([0, 24000], [24000, 0])).to.deep.equal({ sendEveryMs: 0, expectEveryMs: 24000 });
  });

  it('takes the larger interval per direction', () => {
    expect(negotiateHeartbeat([5000, 500], [1000, 5000])).to.deep.equal({ sendEveryMs: 5000, expectEveryMs: 1000 });
    expect(negotiateHeartbeat([1000, 1000], [3000, 2000])).to.deep.equal({ sendEveryMs: 2000, expectEveryMs: 3000 });
  });

  it('turns a direction off when either side says 0', () => {
    expect(negotiateHeartbeat([0, 0], [1000, 1000])).to.deep.equal({ sendEveryMs: 0, expectEveryMs: 0 });
    expect(negotiateHeartbeat([1000, 1000], [0, 0])).to.deep.equal({ sendEveryMs: 0, expectEveryMs: 0 });
  });

  it('is symmetric: the server side of the same exchange mirrors the client side', () => {
    const client = negotiateHeartbeat([2000, 7000], [4000, 3000]);
    const server = negotiateHeartbeat([4000, 3000], [2000, 7000]);
    expect(server).to.deep.equal({ sendEveryMs: client.expectEveryMs, expectEveryMs: client.sendEveryMs });
  });
});

describe('HeartbeatMonitor', () => {
  function setup(sendEveryMs: number, expectEveryMs: number, graceFactor?: number) {
    const clock = new ManualClock(1_000);
    const beats: number[] = [];
    const timeouts: number[] = [];
    const monitor = new HeartbeatMonitor({
      clock,
      sendEveryMs,
      expectEveryMs,
      ...(graceFactor === undefined ? {} : { graceFactor }),
      send: () => beats.push(clock.now()),
      onTimeout: () => timeouts.push(clock.now()),
    });
    return { clock, beats, timeouts, monitor };
  }

  it('sends a beat every sendEveryMs while idle', () => {
    const { clock, beats, monitor } = setup(1000, 0);
    monitor.start();
    clock.advance(3500);
    expect(beats).to.deep.equal([2000, 3000, 4000]);
    monitor.stop();
  });

  it('sends no beat while frames keep going out', () => {
    const { clock, beats, monitor } = setup(1000, 0);
    monitor.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(900);
      monitor.noteOutbound();
    }
    expect(beats).to.deep.equal([]);
    // Once traffic stops, the beat comes sendEveryMs after the last frame.
    clock.advance(1000);
    expect(beats).to.deep.equal([1000 + 9000 + 1000]);
    monitor.stop();
  });

  it('declares the peer dead after 1.5 x expectEveryMs of silence', () => {
    const { clock, timeouts, monitor } = setup(0, 24000);
    monitor.start();
    clock.advance(35_999);
    expect(timeouts).to.deep.equal([]);
    clock.advance(1);
    expect(timeouts).to.deep.equal([1000 + 36_000]);
    expect(monitor.running).to.equal(false);
    expect(clock.pending).to.equal(0);
  });

  it('counts the grace from the last inbound bytes', () => {
    const { clock, timeouts, monitor } = setup(0, 1000, 2);
    monitor.start();
    clock.advance(1500);
    monitor.noteInbound();
    clock.advance(1999);
    expect(timeouts).to.deep.equal([]);
    clock.advance(1);
    expect(timeouts).to.deep.equal([1000 + 1500 + 2000]);
  });

  it('keeps a peer alive that beats on time, forever', () => {
    const { clock, timeouts, monitor } = setup(0, 1000);
    monitor.start();
    for (let i = 0; i < 1000; i++) {
      clock.advance(1000);
      monitor.noteInbound();
    }
    expect(timeouts).to.deep.equal([]);
    // One timer per direction at most: no pile-up however long it runs.
    expect(clock.pending).to.equal(1);
    monitor.stop();
  });

  it('times out only once', () => {
    const { clock, timeouts, monitor } = setup(1000, 1000);
    monitor.start();
    clock.advance(60_000);
    expect(timeouts).to.have.length(1);
  });

  it('leaves no timer after stop(), and start() after stop() counts afresh', () => {
    const { clock, beats, timeouts, monitor } = setup(1000, 1000);
    monitor.start();
    monitor.start();
    expect(clock.pending).to.equal(2);
    monitor.stop();
    monitor.stop();
    expect(clock.pending).to.equal(0);
    clock.advance(10_000);
    expect(beats).to.deep.equal([]);
    expect(timeouts).to.deep.equal([]);
    monitor.start();
    clock.advance(1000);
    expect(beats).to.deep.equal([12_000]);
    monitor.stop();
  });

  it('sets no timer for a direction that is off', () => {
    const { clock, monitor } = setup(0, 0);
    monitor.start();
    expect(clock.pending).to.equal(0);
    expect(monitor.running).to.equal(true);
    monitor.stop();
  });

  it('stops cleanly when send() stops it', () => {
    const clock = new ManualClock();
    const monitor: HeartbeatMonitor = new HeartbeatMonitor({
      clock,
      sendEveryMs: 100,
      expectEveryMs: 0,
      send: () => monitor.stop(),
      onTimeout: () => undefined,
    });
    monitor.start();
    clock.advance(1000);
    expect(clock.pending).to.equal(0);
  });

  it('refuses nonsense intervals', () => {
    const base = { clock: new ManualClock(), send: () => undefined, onTimeout: () => undefined };
    expect(() => new HeartbeatMonitor({ ...base, sendEveryMs: -1, expectEveryMs: 0 })).to.throw(RangeError);
    expect(() => new HeartbeatMonitor({ ...base, sendEveryMs: 0, expectEveryMs: Number.NaN })).to.throw(RangeError);
    expect(() => new HeartbeatMonitor({ ...base, sendEveryMs: 0, expectEveryMs: 1, graceFactor: 0.5 })).to.throw(RangeError);
  });
});
