/**
 * Named kill points, in the style of etcd's gofail and TiKV's fail-rs: off
 * unless the environment names one, so a restart test can SIGKILL the
 * orchestrator at exactly the step it means to test, every time.
 *
 *   ENGINE_MOVE_FAILPOINT=copy:after-submit engine-move move ...
 *
 * kills the process with SIGKILL right after `Image.move` returned its task id
 * and before the id was written: the worst moment for a restart.
 *
 * Points, each prefixed with the phase (copy, delete-source, delete-target,
 * legacy-move): `before-submit` (placeholder written, verb not sent),
 * `after-submit` (verb answered, id not recorded), `submitted` (id recorded,
 * task running), `before-end` (task ended, end logic not committed),
 * `before-clear` (end logic committed, Task.clear not sent). The SDM path's
 * copy adds, per volume: `copy:before-job` (the job's placeholder {job_id,
 * host, G} written, SDM.copy_data not sent), `copy:job-submitted` (the host
 * took the job: mid-job), `copy:job-ended` (the job's end recorded).
 *
 * A `:stop` suffix (`copy:after-submit:stop`) pauses the process with SIGSTOP
 * instead, once, as a scheduler or a VM freeze would: a test lets its lease
 * lapse, then sends SIGCONT and sees what the resumed process does.
 */
import type { MovePhase } from '../store/records.js';

export const FAILPOINT_STEPS = ['before-submit', 'after-submit', 'submitted', 'before-end', 'before-clear'] as const;
/** The SDM copy's own points (phase copy only). */
export const SDM_FAILPOINT_STEPS = ['before-job', 'job-submitted', 'job-ended'] as const;
export type FailpointStep = (typeof FAILPOINT_STEPS)[number] | (typeof SDM_FAILPOINT_STEPS)[number];

export const FAILPOINT_ENV = 'ENGINE_MOVE_FAILPOINT';

/** Every point's name, for the CLI's help and for tests to iterate over. */
export function failpointNames(): string[] {
  const phases: MovePhase[] = ['copy', 'delete-source', 'delete-target', 'legacy-move'];
  return [...phases.flatMap((phase) => FAILPOINT_STEPS.map((step) => `${phase}:${step}`)), ...SDM_FAILPOINT_STEPS.map((step) => `copy:${step}`)];
}

let stopped = false;

/** SIGKILLs this process if `ENGINE_MOVE_FAILPOINT` names this point (SIGSTOPs it, the first time, with `:stop`). */
export function failpoint(phase: MovePhase, step: FailpointStep): void {
  const wanted = process.env[FAILPOINT_ENV];
  if (wanted === undefined || wanted === '') return;
  if (wanted === `${phase}:${step}`) process.kill(process.pid, 'SIGKILL');
  if (wanted === `${phase}:${step}:stop` && !stopped) {
    stopped = true;
    process.kill(process.pid, 'SIGSTOP');
  }
}
