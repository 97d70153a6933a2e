import { expect } from 'chai';
import { ManualClock, sleep } from './clock.js';

describe('ManualClock', () => {
  it('fires timers in due order, including ones scheduled while advancing', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => {
      fired.push('a');
      clock.setTimeout(() => fired.push('a2'), 5);
    }, 10);
    clock.setTimeout(() => fired.push('late'), 100);
    clock.advance(30);
    expect(fired).to.deep.equal(['a', 'a2', 'b']);
    expect(clock.now()).to.equal(30);
    expect(clock.pending).to.equal(1);
  });

  it('cancels a cleared timer', () => {
    const clock = new ManualClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.advance(20);
    expect(fired).to.equal(false);
  });

  it('drives async loops with advanceAsync', async () => {
    const clock = new ManualClock();
    let rounds = 0;
    const loop = (async () => {
      while (rounds < 3) {
        await sleep(clock, 1000);
        rounds++;
      }
    })();
    await clock.advanceAsync(3000);
    await loop;
    expect(rounds).to.equal(3);
  });

  it('sleep rejects with the abort reason and leaves no timer', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const waiting = sleep(clock, 1000, controller.signal);
    controller.abort(new Error('stop'));
    let caught: unknown;
    await waiting.catch((error: unknown) => (caught = error));
    expect((caught as Error).message).to.equal('stop');
    expect(clock.pending).to.equal(0);
  });
});
