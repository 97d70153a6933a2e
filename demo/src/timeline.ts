/**
 * The two moves on one time axis, from their outcomes as the store recorded
 * them: seconds since the demo started both moves. The new flow has two
 * phases (the copy, then the source's delete with its wipe) and is available
 * at the copy's end; the legacy single verb is one phase, and its disk is
 * available only when the whole verb, wipe included, is over.
 */
import type { MoveOutcome } from '@vdsm-kit/engine-move';

/** One bar of a flow: a phase, from and to in seconds since the start. */
export interface Segment {
  readonly label: string;
  readonly from: number;
  readonly to: number;
}

/** One flow's line of the timeline. */
export interface FlowTimeline {
  readonly mode: MoveOutcome['mode'];
  readonly title: string;
  readonly segments: readonly Segment[];
  /** When the disk became usable on the target. */
  readonly available: number;
  /** When the move was over (the source wiped and deleted). */
  readonly done: number;
}

const PHASE_LABEL: Readonly<Record<string, string>> = {
  copy: 'copy',
  'delete-source': 'wipe + delete source',
  'legacy-move': 'Image.move: copy + wipe + delete',
};

/** The timeline of one finished move, relative to `startedAt` (ms since the epoch). */
export function flowTimeline(outcome: MoveOutcome, startedAt: number): FlowTimeline {
  if (outcome.availableAt === null) throw new Error(`move ${outcome.moveId} never made its disk available (${outcome.result})`);
  const seconds = (at: number): number => (at - startedAt) / 1000;
  return {
    mode: outcome.mode,
    title: outcome.mode === 'legacy' ? 'legacy (one Image.move)' : 'engine-move (copy, then delete)',
    segments: outcome.phases.map((phase) => ({
      label: PHASE_LABEL[phase.phase] ?? phase.phase,
      from: seconds(phase.startedAt),
      to: seconds(phase.endedAt ?? outcome.doneAt),
    })),
    available: seconds(outcome.availableAt),
    done: seconds(outcome.doneAt),
  };
}

/** The short text timeline the demo prints. */
export function describeTimeline(flows: { readonly current: FlowTimeline; readonly legacy: FlowTimeline }, timeScale: number): string {
  const s = (value: number): string => `+${value.toFixed(1)} s`;
  const { current, legacy } = flows;
  const copy = current.segments.find((segment) => segment.label === 'copy');
  const lines = [
    `timeline (seconds since both moves started; storage time runs ${formatFactor(1 / timeScale)}x real time):`,
    `  new flow: copy finished${copy === undefined ? '' : ` at ${s(copy.to)}`}, disk available at ${s(current.available)}, source wiped at ${s(current.done)}`,
    `  legacy:   disk available at ${s(legacy.available)}, only after the wipe`,
    `  the new flow's disk was usable ${(legacy.available - current.available).toFixed(1)} s earlier`,
  ];
  return `${lines.join('\n')}\n`;
}

function formatFactor(factor: number): string {
  return Number.isInteger(factor) ? String(factor) : factor.toFixed(1);
}
