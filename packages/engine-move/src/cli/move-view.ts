/**
 * How `engine-move move|resume` shows a move: JSON lines (`--json`: one event
 * per line, the last one the outcome), progress bars on a terminal (the copy
 * with its real fraction when known: the SDM jobs' own progress from
 * Host.getJobs, or the target's allocation on the SPM path; the delete/wipe with elapsed time only:
 * a wipe reports no progress, so none is invented), or plain lines when
 * stderr is not a terminal.
 */
import cliProgress from 'cli-progress';
import type { MoveOutcome } from '../move/outcome.js';
import type { MoveHandle, MoveProgress } from '../move/orchestrator.js';
import type { MoveRecord } from '../store/records.js';

export interface MoveView {
  attach(handle: MoveHandle): void;
  close(): void;
}

type Write = (text: string) => void;

export class JsonLinesView implements MoveView {
  readonly #write: Write;
  constructor(write: Write) {
    this.#write = write;
  }

  attach(handle: MoveHandle): void {
    const line = (event: Record<string, unknown>): void => this.#write(`${JSON.stringify(event)}\n`);
    line({ event: 'started', moveId: handle.moveId, diskId: handle.record.diskId, state: handle.state, at: Date.now() });
    handle.on('state', (move: MoveRecord) => line({ event: 'state', moveId: move.moveId, state: move.state, at: Date.now() }));
    handle.on('available', (at: number) => line({ event: 'available', moveId: handle.moveId, at }));
    handle.on('progress', (progress: MoveProgress) => line({ event: 'progress', moveId: handle.moveId, ...progress }));
    handle.on('outcome', (outcome: MoveOutcome) => line({ event: 'outcome', ...outcome }));
  }

  close(): void {}
}

const PHASE_LABEL: Readonly<Record<string, string>> = {
  'copy-submitting': 'copy',
  copying: 'copy',
  'source-delete-submitting': 'delete source',
  'deleting-source': 'delete source',
  'target-delete-submitting': 'clean target',
  'deleting-target': 'clean target',
  'legacy-submitting': 'move (legacy)',
  'legacy-moving': 'move (legacy)',
};

function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One line per event on a non-terminal: what a log file wants. */
export class PlainView implements MoveView {
  readonly #write: Write;
  constructor(write: Write) {
    this.#write = write;
  }

  attach(handle: MoveHandle): void {
    const id = handle.moveId.slice(0, 8);
    const started = handle.record.createdAt;
    handle.on('state', (move: MoveRecord) => {
      const label = PHASE_LABEL[move.state] ?? move.state;
      this.#write(`${id} ${move.state.padEnd(24)} ${label} (+${seconds(Date.now() - started)})\n`);
    });
    handle.on('available', (at: number) => this.#write(`${id} disk available on the target at ${clockTime(at)} (+${seconds(at - started)})\n`));
  }

  close(): void {}
}

/** Progress bars on stderr: one for the copy, one for the delete or wipe, per move. */
export class TerminalView implements MoveView {
  readonly #bars: cliProgress.MultiBar;
  readonly #timers: ReturnType<typeof setInterval>[] = [];

  constructor(stream: NodeJS.WriteStream) {
    this.#bars = new cliProgress.MultiBar(
      { stream, hideCursor: true, clearOnComplete: false, forceRedraw: true, autopadding: true, format: '{label} {bar} {value} {detail}' },
      cliProgress.Presets.shades_classic,
    );
  }

  attach(handle: MoveHandle): void {
    const id = handle.moveId.slice(0, 8);
    const started = handle.record.createdAt;
    let phaseStarted = Date.now();
    let fraction: number | null = null;
    let availableAt: number | null = handle.record.availableAt;
    let phase = PHASE_LABEL[handle.state] ?? handle.state;
    const bar = this.#bars.create(100, 0, { label: `${id} ${phase.padEnd(13)}`, detail: '' });
    const render = (): void => {
      const elapsed = seconds(Date.now() - phaseStarted);
      const available = availableAt !== null ? `, available at ${clockTime(availableAt)} (+${seconds(availableAt - started)})` : '';
      // A percentage only where one is known: the copy's. A delete or a wipe shows time only.
      const known = fraction !== null && phase !== 'delete source' && phase !== 'clean target';
      bar.update(known ? Math.round(fraction! * 100) : 0, {
        label: `${id} ${phase.padEnd(13)}`,
        detail: `${known ? '%' : ''} ${elapsed}${available}`,
      });
    };
    handle.on('state', (move: MoveRecord) => {
      const next = PHASE_LABEL[move.state] ?? move.state;
      if (next !== phase) {
        phase = next;
        phaseStarted = Date.now();
        fraction = null;
      }
      render();
    });
    handle.on('available', (at: number) => {
      availableAt = at;
      render();
    });
    handle.on('progress', (progress: MoveProgress) => {
      fraction = progress.fraction;
      render();
    });
    const timer = setInterval(render, 500);
    timer.unref();
    this.#timers.push(timer);
    handle.on('outcome', (outcome: MoveOutcome) => {
      clearInterval(timer);
      phase = outcome.result;
      fraction = outcome.result === 'moved' ? 1 : fraction;
      render();
    });
  }

  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#bars.stop();
  }
}

/** The outcome in a few lines, for the terminal and plain output. */
export function describeOutcome(outcome: MoveOutcome): string {
  const lines = [
    `move ${outcome.moveId}: ${outcome.result}${outcome.failedPhase ? ` (failed phase: ${outcome.failedPhase})` : ''}`,
  ];
  if (outcome.path !== null) lines.push(`  copy path: ${outcome.path}${outcome.copyHost === null ? '' : ` (copy host ${outcome.copyHost})`}`);
  if (outcome.error) lines.push(`  error: ${outcome.error.code} ${outcome.error.message}`);
  for (const phase of outcome.phases) {
    const took = phase.endedAt !== null ? seconds(phase.endedAt - phase.startedAt) : 'unfinished';
    lines.push(`  ${phase.phase.padEnd(14)} ${phase.outcome ?? 'running'} in ${took}`);
  }
  if (outcome.availableAt !== null) lines.push(`  available on the target at ${clockTime(outcome.availableAt)}`);
  lines.push(`  done at ${clockTime(outcome.doneAt)}`);
  for (const leftover of outcome.leftovers) lines.push(`  leftover: image ${leftover.imageId} on domain ${leftover.domainId}: ${leftover.reason}`);
  return `${lines.join('\n')}\n`;
}
