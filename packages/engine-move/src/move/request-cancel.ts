/**
 * Records that a move should stop, from any process: a guarded transition from
 * whatever state the move is in to the same state, retried when the move
 * moved on in between (the process running it writes its own transitions at
 * the same time). The process running the move reads the flag and stops the copy.
 */
import { MoveStoreError } from '../store/move-store.js';
import type { MoveStore } from '../store/move-store.js';
import type { MoveRecord } from '../store/records.js';
import { transitionFor } from './transitions.js';

export async function requestCancel(store: MoveStore, moveId: string, now: () => number): Promise<MoveRecord> {
  for (;;) {
    const move = await store.getMove(moveId);
    if (!move) throw new MoveStoreError('UNKNOWN_MOVE', `No move with id ${moveId}`);
    if (move.state === 'done' || move.cancelRequested) return move;
    try {
      return await store.apply(transitionFor(move, { type: 'cancel-asked' }, now()));
    } catch (error) {
      if (!(error instanceof MoveStoreError && error.code === 'STALE_TRANSITION')) throw error;
    }
  }
}
