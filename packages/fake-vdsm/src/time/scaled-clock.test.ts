import { sleep } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { ScaledClock, TimeScaleError, assertTimeScale } from './scaled-clock.js';

describe('ScaledClock', () => {
  it('runs now() on the scale, from 0 when made', () => {
    let real = 5000;
    const clock = new ScaledClock(0.01, () => real);
    expect(clock.now()).to.equal(0);
    real += 10;
    // 10 real ms at 0.01 are 1000 clock ms.
    expect(clock.now()).to.be.closeTo(1000, 1e-9);
    const slow = new ScaledClock(2, () => real);
    real += 10;
    expect(slow.now()).to.be.closeTo(5, 1e-9);
  });

  it('fires a timer after ms * scale real milliseconds, and now() agrees with the wait', async () => {
    const clock = new ScaledClock(0.01);
    const clockStart = clock.now();
    // 5 clock seconds: 50 real milliseconds, so after a real 40 ms timer and before a real 100 ms one
    // (Node fires due timers in the order of their due times, however late the loop is).
    const order: string[] = [];
    const real = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(() => resolve(void order.push(`real ${ms}`)), ms));
    const fired = [real(40), sleep(clock, 5000).then(() => order.push('clock 5000')), real(100)];
    await Promise.all(fired);
    expect(order).to.deep.equal(['real 40', 'clock 5000', 'real 100']);
    expect(clock.now() - clockStart).to.be.at.least(4500);
  });

  it('a deadline-paced loop (as the wiper paces) takes its scaled time', async () => {
    // 20 steps of 1 clock second each, deadlines from the start: 20 s of clock time, 200 ms real.
    const clock = new ScaledClock(0.01);
    const realStart = performance.now();
    const started = clock.now();
    for (let step = 1; step <= 20; step++) {
      await sleep(clock, Math.max(0, started + step * 1000 - clock.now()));
    }
    const realElapsed = performance.now() - realStart;
    expect(clock.now() - started).to.be.at.least(19_000);
    // Never early; unscaled (20 real seconds) it would run past the test's timeout.
    expect(realElapsed).to.be.at.least(180);
  });

  it('clearTimeout cancels a timer', async () => {
    const clock = new ScaledClock(0.01);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 1000);
    clock.clearTimeout(handle);
    // A later timer on the same clock: the cancelled one would have fired before it.
    await sleep(clock, 2000);
    expect(fired).to.equal(false);
  });

  it('never turns a huge delay into an immediate one', async () => {
    const clock = new ScaledClock(1);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), Number.POSITIVE_INFINITY);
    // Node turns a delay it cannot hold into 1 ms; a 1 ms timer set after it fires after it would have.
    await new Promise((resolve) => setTimeout(resolve, 1));
    clock.clearTimeout(handle);
    expect(fired).to.equal(false);
  });

  it('refuses a scale that is not a finite number > 0', () => {
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ScaledClock(scale)).to.throw(TimeScaleError, /greater than 0/);
    }
    expect(assertTimeScale(0.5)).to.equal(0.5);
  });
});
