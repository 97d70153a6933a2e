/**
 * The orchestrator's hot path when a pool is busy: one `Host.getAllTasksStatuses`
 * answer for `tasks` (1,000) tasks, from the JSON-RPC body as it comes off the
 * wire to every move that waits on one of them told its task's end: the body's
 * JSON.parse, then PoolTaskTracker's round (each entry parsed as the engine
 * parses it, each watcher resolved). The round is handed to the tracker
 * through its status source, so no SPM call is timed, only our own work.
 * `bench -- move` prints it; the figure is per task, against the 1 ms the
 * issue allows.
 */
import { randomUUID } from 'node:crypto';
import { ManualClock } from '@vdsm-kit/client';
import { PoolTaskTracker, poolHost } from '@vdsm-kit/engine-move';
import type { TaskStatusSource } from '@vdsm-kit/engine-move';
import { spreadOf } from './spread.js';
import type { Spread } from './spread.js';

export interface StatusPollFigures {
  readonly tasks: number;
  readonly rounds: number;
  /** Microseconds per task, parse and dispatch, over the rounds. */
  readonly perTaskUs: Spread;
  /** Milliseconds for the whole answer. */
  readonly roundMs: Spread;
}

/** The JSON-RPC response body VDSM sends for `tasks` finished tasks (vdsm-wire.md: taskID, taskState, taskResult, code, message). */
function responseBody(ids: readonly string[]): string {
  const result: Record<string, unknown> = {};
  for (const id of ids) {
    result[id] = { taskID: id, taskState: 'finished', taskResult: 'success', code: 0, message: '1 jobs completed successfully' };
  }
  return JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), result });
}

async function oneRound(tasks: number): Promise<number> {
  const ids = Array.from({ length: tasks }, () => randomUUID());
  const body = responseBody(ids);
  const clock = new ManualClock();
  let started = 0;
  const source: TaskStatusSource = {
    next: async () => {
      started = performance.now();
      const parsed = JSON.parse(body) as { result: Record<string, unknown> };
      return { spm: 'spm', statuses: parsed.result, polledAt: clock.now(), polledHere: true, durationMs: 0 };
    },
  };
  // The round comes from the source: the host is never called.
  const spm = poolHost('spm', () => Promise.reject(new Error('no call is made in this benchmark')));
  const tracker = new PoolTaskTracker({ poolId: randomUUID(), hosts: [spm], clock, intervalMs: 1_000, statusSource: source, missesBeforeUnknown: 1_000 });
  try {
    const ends = ids.map((id) => tracker.watch(id));
    await clock.advanceAsync(1_000);
    await Promise.all(ends);
    return performance.now() - started;
  } finally {
    tracker.close();
  }
}

/** Warm-up rounds, then `rounds` measured ones, each with fresh task ids and a fresh tracker. */
export async function measureStatusPoll(tasks = 1_000, rounds = 20): Promise<StatusPollFigures> {
  for (let i = 0; i < 5; i += 1) await oneRound(tasks);
  const times: number[] = [];
  for (let i = 0; i < rounds; i += 1) times.push(await oneRound(tasks));
  return { tasks, rounds, roundMs: spreadOf(times), perTaskUs: spreadOf(times.map((ms) => (ms * 1000) / tasks)) };
}
