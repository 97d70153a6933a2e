import { expect } from 'chai';
import { EventRouter } from './event-router.js';
import type { VdsmEvent } from './event-router.js';

const VM = '0d9e6c4c-4c3f-4c52-9f5e-1f3a0c0e2f11';
const OTHER_VM = 'a4b0c7e2-8f35-4d8e-b1c2-3d4e5f607182';

function event(id: string): VdsmEvent {
  return { id, params: { notify_time: 4_295_000_000 } };
}

/** Registers `patterns` and returns, per dispatched id, which patterns heard it. */
function route(patterns: string[], ids: string[]): Record<string, string[]> {
  const router = new EventRouter();
  const heard: Record<string, string[]> = {};
  for (const pattern of patterns) router.on(pattern, (e) => (heard[e.id] ??= []).push(pattern));
  for (const id of ids) router.dispatch(event(id));
  return heard;
}

describe('EventRouter', () => {
  it('routes an exact id to its listeners only', () => {
    const heard = route([`|virt|VM_status|${VM}`], [`|virt|VM_status|${VM}`, `|virt|VM_status|${OTHER_VM}`]);
    expect(heard).to.deep.equal({ [`|virt|VM_status|${VM}`]: [`|virt|VM_status|${VM}`] });
  });

  it('matches * per segment', () => {
    const ids = [`|virt|VM_status|${VM}`, `|virt|VM_migration_status|${VM}`, '|net|host_conn|no_id', `|jobs|status|${OTHER_VM}`];
    const heard = route(['|virt|VM_status|*', '*|virt|*|*', '*|*|*|no_id', '|*|status|*'], ids);
    expect(heard).to.deep.equal({
      [`|virt|VM_status|${VM}`]: ['|virt|VM_status|*', '*|virt|*|*'],
      [`|virt|VM_migration_status|${VM}`]: ['*|virt|*|*'],
      '|net|host_conn|no_id': ['*|*|*|no_id'],
      [`|jobs|status|${OTHER_VM}`]: ['|*|status|*'],
    });
  });

  it('takes the receiver segment literally: an empty receiver is not a host name', () => {
    const heard = route(['host1|virt|VM_status|*', '|virt|VM_status|*'], [`host1|virt|VM_status|${VM}`]);
    expect(heard).to.deep.equal({ [`host1|virt|VM_status|${VM}`]: ['host1|virt|VM_status|*'] });
  });

  it('lets *|*|*|* hear every four-segment id, and a lone * hear everything', () => {
    const heard = route(['*|*|*|*', '*'], [`|virt|VM_status|${VM}`, 'odd.method', '|a|b']);
    expect(heard).to.deep.equal({
      [`|virt|VM_status|${VM}`]: ['*|*|*|*', '*'],
      'odd.method': ['*'],
      '|a|b': ['*'],
    });
  });

  it('does not treat * inside a segment as a glob', () => {
    const heard = route(['|virt|VM_*|*'], [`|virt|VM_status|${VM}`]);
    expect(heard).to.deep.equal({});
  });

  it('delivers the params', () => {
    const router = new EventRouter();
    const seen: VdsmEvent[] = [];
    router.on('*', (e) => seen.push(e));
    const sent = { id: `|virt|VM_status|${VM}`, params: { [VM]: { status: 'Up' }, notify_time: 1 } };
    router.dispatch(sent);
    expect(seen).to.deep.equal([sent]);
  });

  it('unsubscribes exactly the listener it returned, idempotently', () => {
    const router = new EventRouter();
    const calls: string[] = [];
    const listener = (e: VdsmEvent): void => void calls.push(e.id);
    const offA = router.on('|a|b|c', listener);
    const offB = router.on('|a|b|c', listener);
    const offWild = router.on('*|a|*|*', listener);
    expect(router.size).to.equal(3);
    router.dispatch(event('|a|b|c'));
    expect(calls).to.have.length(3);
    offA();
    offA();
    offWild();
    router.dispatch(event('|a|b|c'));
    expect(calls).to.have.length(4);
    offB();
    expect(router.size).to.equal(0);
    router.dispatch(event('|a|b|c'));
    expect(calls).to.have.length(4);
  });

  it('survives listeners that unsubscribe themselves during dispatch', () => {
    const router = new EventRouter();
    const calls: string[] = [];
    const offFirst = router.on('*', () => {
      calls.push('first');
      offFirst();
    });
    const offExact = router.on('|a|b|c', () => {
      calls.push('exact');
      offExact();
    });
    router.on('*', () => calls.push('second'));
    router.dispatch(event('|a|b|c'));
    router.dispatch(event('|a|b|c'));
    expect(calls).to.deep.equal(['exact', 'first', 'second', 'second']);
  });

  it('keeps routing when a listener throws, and reports the error', () => {
    const errors: [unknown, string][] = [];
    const router = new EventRouter({ onListenerError: (error, e) => errors.push([error, e.id]) });
    const calls: string[] = [];
    const boom = new Error('listener bug');
    router.on('|a|b|c', () => {
      throw boom;
    });
    router.on('*', () => {
      throw boom;
    });
    router.on('*|*|*|*', () => calls.push('after'));
    router.dispatch(event('|a|b|c'));
    expect(calls).to.deep.equal(['after']);
    expect(errors).to.deep.equal([
      [boom, '|a|b|c'],
      [boom, '|a|b|c'],
    ]);
  });

  it('keeps routing even when the error hook throws', () => {
    const router = new EventRouter({
      onListenerError: () => {
        throw new Error('hook bug');
      },
    });
    const calls: string[] = [];
    router.on('*', () => {
      throw new Error('listener bug');
    });
    router.on('*', () => calls.push('after'));
    router.dispatch(event('x'));
    expect(calls).to.deep.equal(['after']);
  });

  it('warns by default instead of throwing', () => {
    const router = new EventRouter();
    const warnings: unknown[][] = [];
    const emitWarning = process.emitWarning;
    // Captured rather than printed: the default hook's whole job is to call this.
    process.emitWarning = ((...args: unknown[]) => void warnings.push(args)) as typeof process.emitWarning;
    try {
      router.on('*', () => {
        throw new Error('listener bug');
      });
      expect(() => router.dispatch(event('|a|b|c'))).not.to.throw();
    } finally {
      process.emitWarning = emitWarning;
    }
    expect(warnings).to.have.length(1);
    expect(warnings[0]![0]).to.contain('A VDSM event listener for |a|b|c threw: Error: listener bug');
    expect(warnings[0]![1]).to.equal('VdsmEventListenerWarning');
  });

  it('refuses an empty pattern', () => {
    expect(() => new EventRouter().on('', () => undefined)).to.throw(TypeError);
  });
});
