import { expect } from 'chai';
import { FrameBudgetError } from '../errors.js';
import { FrameBudget } from './frame-budget.js';
import { FrameParser } from './parser.js';
import type { StompFrame } from './frame.js';

describe('FrameBudget (shared bound on unfinished frames)', () => {
  const frames: StompFrame[] = [];
  const parser = (budget: FrameBudget): FrameParser => new FrameParser({ onFrame: (frame) => frames.push(frame), budget });

  beforeEach(() => {
    frames.length = 0;
  });

  it('holds what parsers keep of unfinished frames, and gives it back when a frame ends or a parser is disposed', () => {
    const budget = new FrameBudget(100);
    const first = parser(budget);
    const second = parser(budget);
    first.write(Buffer.from('SEND\ncontent-length:10\n\n12345'));
    expect(first.inFrame).to.equal(true);
    expect(budget.used).to.equal(5);
    second.write(Buffer.from('SEND\ndestination:x'));
    expect(budget.used).to.equal(5 + 'destination:x'.length);
    first.write(Buffer.from('67890\0'));
    expect(first.inFrame).to.equal(false);
    expect(frames.map((frame) => frame.body.toString())).to.deep.equal(['1234567890']);
    expect(budget.used).to.equal('destination:x'.length);
    second.dispose();
    expect(budget.used).to.equal(0);
  });

  it('fails the parser whose bytes would go over, leaving the others and the budget whole', () => {
    const budget = new FrameBudget(20);
    const holder = parser(budget);
    holder.write(Buffer.from('SEND\ncontent-length:30\n\n' + 'a'.repeat(15)));
    const greedy = parser(budget);
    expect(() => greedy.write(Buffer.from('SEND\ncontent-length:30\n\n' + 'b'.repeat(10)))).to.throw(FrameBudgetError, 'budget (20 bytes)');
    expect(budget.used).to.equal(15);
    holder.write(Buffer.from('a'.repeat(15) + '\0'));
    expect(frames).to.have.length(1);
    expect(budget.used).to.equal(0);
  });

  it('keeps nothing of a chunk whose frame listener disposed of the parser', () => {
    const budget = new FrameBudget(100);
    const disposing: FrameParser = new FrameParser({ onFrame: () => disposing.dispose(), budget });
    disposing.write(Buffer.from('DISCONNECT\n\n\0SEND\ncontent-length:50\n\nhalf a body'));
    expect(budget.used).to.equal(0);
  });

  it('refuses a bound that is not a number greater than 0', () => {
    for (const bad of [0, -5, Number.NaN]) expect(() => new FrameBudget(bad), String(bad)).to.throw(RangeError);
  });
});
