/**
 * The listeners of one store's wake-ups (store/leases.ts `onWakeUp`). A
 * listener is called on its own microtask, and one that throws is reported as
 * a process warning: a wake-up is a hint, and a bad listener must neither
 * break the write that sent it nor starve the other listeners.
 */
import type { StoreWakeUp } from './leases.js';

export type WakeUpEvent = StoreWakeUp | { readonly kind: 'rescan' };
export type WakeUpListener = (wakeUp: WakeUpEvent) => void;

export class WakeUpHub {
  readonly #listeners = new Set<WakeUpListener>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a listener; the returned function removes it (once). */
  add(listener: WakeUpListener): () => void {
    // Wrapped, so the same function added twice is two subscriptions.
    const entry: WakeUpListener = (wakeUp) => listener(wakeUp);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(wakeUp: WakeUpEvent): void {
    for (const listener of [...this.#listeners]) deliver(listener, wakeUp);
  }

  /** To one listener only: the `rescan` a new subscription gets once it is live. */
  static deliver(listener: WakeUpListener, wakeUp: WakeUpEvent): void {
    deliver(listener, wakeUp);
  }
}

function deliver(listener: WakeUpListener, wakeUp: WakeUpEvent): void {
  queueMicrotask(() => {
    try {
      listener(wakeUp);
    } catch (error) {
      process.emitWarning(`engine-move store wake-up listener threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}
