import { expect } from 'chai';
import { meteredProgress } from './data-meter.js';

describe('meteredProgress', () => {
  it('counts the bytes newly done at each step and passes the fraction on', () => {
    const counted: number[] = [];
    const fractions: number[] = [];
    const progress = meteredProgress(1000, (bytes) => counted.push(bytes), (fraction) => fractions.push(fraction));
    for (const fraction of [0, 0.25, 0.25, 0.5, 0.4, 1]) progress.onProgress(fraction);
    expect(counted).to.deep.equal([250, 250, 500]);
    expect(fractions).to.deep.equal([0, 0.25, 0.25, 0.5, 0.4, 1]);
    progress.complete();
    expect(counted.reduce((sum, bytes) => sum + bytes, 0)).to.equal(1000);
  });

  it('adds up to the size exactly when rounding each step, and complete() counts what the copier never reported', () => {
    let total = 0;
    const progress = meteredProgress(1001, (bytes) => (total += bytes));
    for (let step = 1; step <= 7; step++) progress.onProgress(step / 9);
    expect(total).to.equal(Math.round((7 / 9) * 1001));
    progress.complete();
    progress.complete();
    expect(total).to.equal(1001);
  });

  it('counts nothing past the size, and nothing without a counter', () => {
    let total = 0;
    const progress = meteredProgress(10, (bytes) => (total += bytes));
    progress.onProgress(3);
    expect(total).to.equal(10);
    let seen = 0;
    meteredProgress(10, undefined, (fraction) => (seen = fraction)).onProgress(0.5);
    expect(seen).to.equal(0.5);
  });
});
