/**
 * What must hold after every chaos case, once the move has been resumed to
 * its end with no fault left: read from the move store (what the
 * orchestrator believes) and from the fake (what the storage holds), and
 * compared. Each broken invariant is one line of the answer; none means the
 * case passed.
 *
 * 1. the move is done, and the last outcome the orchestrator reported is the store's;
 * 2. every volume of the disk is mapped to one domain, the target when the
 *    move says moved and the source otherwise, and is OK (not LOCKED, not ILLEGAL);
 * 3. on that domain the fake holds every volume, LEGAL and live, its data
 *    intact (the block checksum taken before the move);
 * 4. the other domain holds the image only if the store records it there as a leftover,
 *    and no leftover is recorded on the domain the disk is mapped to;
 * 5. no task is left on the fake (on any host: tasks are the pool's), and
 *    every task the store knows is cleared;
 * 6. the fake's own invariants check is clean (files and rows, ILLEGAL
 *    outside a task, orphan locks, one SPM).
 */
import { SqliteMoveStore } from '@vdsm-kit/engine-move';
import type { ControlApi } from '@vdsm-kit/fake-vdsm';
import type { ChaosDisk } from './chaos-fake.js';
import type { RunEnd } from './chaos-orchestrator.js';

export interface InvariantInput {
  readonly control: ControlApi;
  readonly db: string;
  readonly disk: ChaosDisk;
  readonly src: string;
  readonly dst: string;
  /** The volume's block checksum before anything ran. */
  readonly checksum: string;
  /** The last outcome a run reported (the resume's, or the first run's when the resume had nothing to do). */
  readonly reported: RunEnd | null;
}

export async function checkChaosInvariants(input: InvariantInput): Promise<string[]> {
  const { control, disk, src, dst } = input;
  const broken: string[] = [];
  const store = SqliteMoveStore.open({ path: input.db });
  try {
    const moves = await store.listMoves({ diskId: disk.image });
    if (moves.length !== 1) return [`the store holds ${moves.length} moves of the disk, not 1`];
    const move = moves[0]!;
    if (move.state !== 'done' || move.result === null) return [`the move is ${move.state} after the resume, not done`];

    // 1. The outcome reported is the store's.
    const leftovers = await store.listLeftovers({ moveId: move.moveId });
    if (input.reported === null || input.reported.kind !== 'outcome') {
      broken.push(`no run reported an outcome (last run: ${JSON.stringify(input.reported)})`);
    } else {
      const { outcome } = input.reported;
      if (outcome.result !== move.result || outcome.failedPhase !== move.failedPhase) {
        broken.push(`reported ${outcome.result}/${outcome.failedPhase}, the store says ${move.result}/${move.failedPhase}`);
      }
      const key = (l: { domainId: string; imageId: string }) => `${l.domainId}/${l.imageId}`;
      if (JSON.stringify(outcome.leftovers.map(key).sort()) !== JSON.stringify(leftovers.map(key).sort())) {
        broken.push(`reported leftovers ${JSON.stringify(outcome.leftovers)}, the store has ${JSON.stringify(leftovers)}`);
      }
    }

    // 2. One domain, the one the result says, every volume OK.
    const record = await store.getDisk(disk.image);
    const expected = move.result === 'moved' ? dst : src;
    const other = expected === dst ? src : dst;
    for (const volume of record?.volumes ?? []) {
      if (volume.domainId !== expected) broken.push(`volume ${volume.volumeId} is mapped to ${volume.domainId}, but the move ${move.result}: expected ${expected}`);
      if (volume.status !== 'OK') broken.push(`volume ${volume.volumeId} is ${volume.status} in the store`);
    }
    if (!record || record.volumes.length === 0) broken.push('the store has no volume of the disk');

    // 3. The data, intact, where the store says it is.
    const there = await control.getVolume(expected, disk.image, disk.volume).catch((error: Error) => error);
    if (there instanceof Error) {
      broken.push(`the fake has no volume ${disk.volume} on ${expected}, where the store maps it (${there.message})`);
    } else {
      if (there.removed) broken.push(`volume ${disk.volume} on ${expected} is removed on the fake`);
      if (there.legality !== 'LEGAL') broken.push(`volume ${disk.volume} on ${expected} is ${there.legality} on the fake`);
      const sum = await control.checksum(expected, disk.image, disk.volume).catch((error: Error) => error);
      if (sum instanceof Error) broken.push(`checksum of ${disk.volume} on ${expected} failed: ${sum.message}`);
      else if (sum.checksum !== input.checksum) broken.push(`the data on ${expected} changed: checksum ${sum.checksum}, was ${input.checksum}`);
    }

    // 4. What is on the other domain is a recorded leftover, and only there.
    const onOther = (await control.listImages(other)).some((image) => image.id === disk.image);
    const recorded = leftovers.some((l) => l.domainId === other && l.imageId === disk.image);
    if (onOther && !recorded) broken.push(`the image is still on ${other} and no leftover records it`);
    for (const l of leftovers) if (l.domainId === expected) broken.push(`a leftover is recorded on ${expected}, where the disk lives: ${l.reason}`);

    // 5. No task left anywhere.
    const tasks = await control.listTasks();
    if (tasks.length > 0) broken.push(`tasks left on the fake: ${JSON.stringify(tasks.map((t) => [t.verb, t.state, t.code]))}`);
    const owed = (await store.listTasks({ moveId: move.moveId })).filter((t) => t.state !== 'cleared');
    if (owed.length > 0) broken.push(`tasks the store has not cleared: ${JSON.stringify(owed.map((t) => [t.phase, t.state]))}`);
  } finally {
    await store.close();
  }

  // 6. The fake's own check.
  const report = await control.invariants();
  for (const violation of report.violations) broken.push(`fake invariant ${violation.kind}: ${violation.message}`);
  return broken;
}
