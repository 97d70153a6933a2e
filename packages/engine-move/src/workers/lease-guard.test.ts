/**
 * The guard a worker checks before every remote call and store write of a
 * move it holds: a lost lease stops it for good, an overdue renewal stops it
 * until a renewal succeeds (self-fence), timed on the renewal's sending.
 */
import { expect } from 'chai';
import { LeaseLostError, MoveGuard, RenewalClock, SelfFencedError } from './lease-guard.js';

describe('MoveGuard', () => {
  let now: number;
  const clock = (): RenewalClock => new RenewalClock(3000, 1000, () => now);

  beforeEach(() => {
    now = 1_000;
  });

  it('lets the worker act until lease - margin after the claim was sent, then self-fences', () => {
    const renewal = clock();
    const guard = new MoveGuard('m', renewal, now);
    now += 1999;
    expect(() => guard.check()).to.not.throw();
    now += 2;
    expect(() => guard.check()).to.throw(SelfFencedError);
  });

  it('a renewal that succeeded moves the deadline from when it was sent, not when it answered', () => {
    const renewal = clock();
    const guard = new MoveGuard('m', renewal, now);
    const sentAt = now + 1500;
    now = sentAt + 400; // the answer came late
    renewal.renewed(sentAt);
    now = sentAt + 1999;
    expect(() => guard.check()).to.not.throw();
    now = sentAt + 2001;
    expect(() => guard.check()).to.throw(SelfFencedError);
    // An older renewal answering later does not move the deadline back.
    renewal.renewed(sentAt - 100);
    expect(() => guard.check()).to.throw(SelfFencedError);
  });

  it('a move claimed after the last renewal is covered by its own claim', () => {
    const renewal = clock();
    now += 1900;
    const guard = new MoveGuard('m', renewal, now);
    now += 1500;
    expect(() => guard.check()).to.not.throw();
  });

  it('a lost lease stops the move for good, with the reason, and fires its signal', () => {
    const guard = new MoveGuard('m', clock(), now);
    let fired = false;
    guard.signal.addEventListener('abort', () => (fired = true));
    guard.abort(new LeaseLostError('m', 'taken over'));
    expect(fired).to.equal(true);
    expect(guard.lost).to.equal(true);
    expect(() => guard.check()).to.throw(LeaseLostError, /lease of move m lost \(taken over\)/);
  });

  it('refuses a margin that leaves no time to act', () => {
    expect(() => new RenewalClock(3000, 3000)).to.throw(RangeError);
    expect(() => new RenewalClock(3000, 0)).to.throw(RangeError);
  });
});
