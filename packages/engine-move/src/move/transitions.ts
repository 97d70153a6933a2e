/**
 * The move as an explicit state machine: one table, state by event, each cell
 * building the one store transition (what is written) and naming the next
 * state. Nothing here does I/O: the runner (move-runner.ts) performs each
 * state's work (send a verb, follow a task), turns what happened into an
 * event, and applies the cell's transition in one store transaction. A state
 * and event pair missing from the table is a bug and throws.
 *
 *   state                     event          next                       written
 *   queued                    start          copy-submitting            lock all volumes (+compensation), copy phase, copy placeholder, the path taken, 2008
 *                                                                          (SDM path: the placeholder is the structure's Image.cloneStructure on the SPM)
 *   queued                    start          legacy-submitting          (legacy) lock, legacy-move phase, placeholder, 2008
 *   queued                    target-taken   done: failed               nothing locked; 2009 "target already holds the image" (or cannot be listed)
 *   queued                    cancel         done: cancelled            2011
 *   *-submitting              submitted      copying / deleting-* / legacy-moving   the VDSM task id
 *   *-submitting              lost           (same)                     drop the placeholder, write a new one (the verb never reached VDSM)
 *   copy-submitting           refused        done: failed               drop placeholder, restore statuses, copy failed, 2009
 *   copying                   task-ended ok  source-delete-submitting   copy ok, mapping to target + OK (disk available), delete-source phase, placeholder
 *   copying                   task-ended !ok target-delete-submitting   copy failed/cancelled, restore statuses, delete-target phase, placeholder
 *   copying (SDM)             task-ended ok  copying                    the structure exists on the target; the host jobs follow
 *   copying (SDM)             job-placeholder copying                   an SDM job's placeholder {job_id, host, G}, BEFORE SDM.copy_data
 *   copying (SDM)             job-submitted  copying                    the host accepted (or lists) the job
 *   copying (SDM)             job-ended      copying                    the job's end (done, failed, fenced); a retry is a new placeholder
 *   copying (SDM)             sdm-copied     source-delete-submitting   every volume copied: as task-ended ok (available, source delete)
 *   copying (SDM)             sdm-failed     target-delete-submitting   a volume could not be copied (or cancelled): as task-ended !ok
 *   source-delete-submitting  refused 268    done: moved                nothing to delete; 2010 (also any refusal after which the image is gone, s5 row 6)
 *   source-delete-submitting  refused        done: moved, delete-source leftover (source), 2025, 2010
 *   deleting-source           task-ended ok  done: moved                2010
 *   deleting-source           task-ended !ok done: moved, delete-source leftover (source), 2053, 2010 (never ILLEGAL: s5 row 19)
 *   target-delete-submitting  refused 268    done: failed / cancelled   nothing was left; 2011 (same)
 *   target-delete-submitting  refused        done: failed / cancelled   leftover (target), 2026, 2011
 *   deleting-target           task-ended ok  done: failed / cancelled   2011
 *   deleting-target           task-ended !ok done: failed / cancelled   leftover (target), 2053, 2011
 *   legacy-submitting         refused        done: failed               restore statuses, 2009
 *   legacy-moving             task-ended ok  done: moved                mapping to target; leftover (source) if the source still holds the image (s5 row 1); 2010
 *   legacy-moving             task-ended !ok done: failed               restore statuses; 2011
 *   legacy-moving             task-ended !ok done: moved (legacy-move)  the target holds the image and the source no longer does: mapping to target; 2010
 *   legacy-moving             task-ended !ok target-delete-submitting   the target holds a copy, the source too: restore statuses, delete-target phase, placeholder
 *   (any but done)            cancel-asked   (same)                     cancelRequested
 */
import type { Transition } from '../store/move-store.js';
import { AUDIT_TYPES } from '../store/records.js';
import type { AuditEntry, CopyPath, MovePhase, MoveRecord, MoveState, RecordedError, SdmJobRecord } from '../store/records.js';

/** What happened, as the runner saw it. */
export type MoveEvent =
  /** `path`: the copy path taken (default spm). */
  | { readonly type: 'start'; readonly path?: CopyPath }
  /** The target domain already holds an image with the disk's id (existing or ILLEGAL), or cannot be listed: never overwritten, never started blind. */
  | { readonly type: 'target-taken'; readonly error: RecordedError }
  | { readonly type: 'cancel' }
  | { readonly type: 'cancel-asked' }
  | { readonly type: 'submitted'; readonly taskId: string }
  /** The placeholder's verb is known not to have reached VDSM: it is sent again. */
  | { readonly type: 'lost' }
  /** The verb answered an error synchronously: no task was created. */
  | {
      readonly type: 'refused';
      readonly error: RecordedError;
      /** A delete's refusal after which the domain no longer lists the image (s5 row 6): nothing was left. */
      readonly imageGone?: boolean;
    }
  | {
      readonly type: 'task-ended';
      readonly ok: boolean;
      readonly code: number;
      readonly message: string;
      /** Legacy only: the source still holds the image after the single-verb move ended. */
      readonly sourceLeft?: boolean;
      /** Legacy only, after a failure that left the source without the image: whether the target holds it. */
      readonly targetHolds?: boolean;
    }
  | { readonly type: 'job-placeholder'; readonly job: Pick<SdmJobRecord, 'jobId' | 'volumeId' | 'position' | 'host' | 'generation' | 'attempt'> }
  | { readonly type: 'job-submitted'; readonly jobId: string }
  | { readonly type: 'job-ended'; readonly jobId: string; readonly code: number; readonly message: string }
  | { readonly type: 'sdm-copied' }
  | { readonly type: 'sdm-failed'; readonly code: number; readonly message: string };

/** The verb a phase sends, and on which domain (the task placeholder records both). */
export function phaseVerb(move: MoveRecord, phase: MovePhase, path = move.path): { verb: string; domainId: string } {
  switch (phase) {
    case 'copy':
      // The SDM path's SPM task only makes the structure; the data goes by host jobs.
      return { verb: path === 'sdm' ? 'Image.cloneStructure' : 'Image.move', domainId: move.dstDomainId };
    case 'legacy-move':
      return { verb: 'Image.move', domainId: move.dstDomainId };
    case 'delete-source':
      return { verb: 'Image.delete', domainId: move.srcDomainId };
    case 'delete-target':
      return { verb: 'Image.delete', domainId: move.dstDomainId };
  }
}

/** The phase whose task a submitting or following state is about. */
export function phaseOfState(state: MoveState): MovePhase | undefined {
  switch (state) {
    case 'copy-submitting':
    case 'copying':
      return 'copy';
    case 'source-delete-submitting':
    case 'deleting-source':
      return 'delete-source';
    case 'target-delete-submitting':
    case 'deleting-target':
      return 'delete-target';
    case 'legacy-submitting':
    case 'legacy-moving':
      return 'legacy-move';
    default:
      return undefined;
  }
}

const FOLLOWING: Partial<Record<MoveState, MoveState>> = {
  'copy-submitting': 'copying',
  'source-delete-submitting': 'deleting-source',
  'target-delete-submitting': 'deleting-target',
  'legacy-submitting': 'legacy-moving',
};

/** VDSM's ImageDoesNotExistInSD: a delete of an image that is not there has nothing to do. */
const IMAGE_NOT_IN_DOMAIN = 268;

export class MoveMachineError extends Error {
  override name = 'MoveMachineError';
}

/** The transition for `event` in `move`'s state, at time `at`. */
export function transitionFor(move: MoveRecord, event: MoveEvent, at: number): Transition {
  const base = { moveId: move.moveId, from: move.state, at };
  const audit = (type: AuditEntry['type'], severity: AuditEntry['severity'], message: string): Omit<AuditEntry, 'at'> => ({
    type,
    severity,
    moveId: move.moveId,
    diskId: move.diskId,
    message,
  });
  const placeholder = (phase: MovePhase, path = move.path) => ({ phase, imageId: move.diskId, ...phaseVerb(move, phase, path) });
  const finalResult = move.cancelRequested ? 'cancelled' : 'failed';
  const endedAudit = (ok: boolean) =>
    ok
      ? audit(AUDIT_TYPES.MOVE_SUCCEEDED, 'normal', `Disk ${move.diskId} was moved to domain ${move.dstDomainId}.`)
      : audit(AUDIT_TYPES.MOVE_FAILED, 'error', `Moving disk ${move.diskId} to domain ${move.dstDomainId} ${move.cancelRequested ? 'was cancelled' : 'failed'}.`);
  const errorText = (e: { code: number; message: string }) => `${e.code} ${e.message}`;
  const unexpected = (): never => {
    throw new MoveMachineError(`Move ${move.moveId}: no transition for event ${event.type} in state ${move.state}`);
  };

  if (move.state === 'done') return unexpected();
  if (event.type === 'cancel-asked') return { ...base, to: move.state, move: { cancelRequested: true } };

  switch (move.state) {
    case 'queued':
      if (event.type === 'start') {
        const phase: MovePhase = move.mode === 'legacy' ? 'legacy-move' : 'copy';
        const path: CopyPath = move.mode === 'legacy' ? 'spm' : (event.path ?? 'spm');
        return {
          ...base,
          to: move.mode === 'legacy' ? 'legacy-submitting' : 'copy-submitting',
          lockDisk: true,
          move: { path },
          phaseStarted: { phase },
          taskPlaceholder: placeholder(phase, path),
          audit: [audit(AUDIT_TYPES.MOVE_STARTED, 'normal', `Moving disk ${move.diskId} from domain ${move.srcDomainId} to domain ${move.dstDomainId}.`)],
        };
      }
      if (event.type === 'target-taken') {
        return {
          ...base,
          to: 'done',
          move: { result: 'failed', failedPhase: 'copy', error: event.error, doneAt: at },
          audit: [audit(AUDIT_TYPES.MOVE_START_FAILED, 'error', `Cannot move disk ${move.diskId}: ${event.error.message}`)],
        };
      }
      if (event.type === 'cancel') {
        return { ...base, to: 'done', move: { result: 'cancelled', failedPhase: null, doneAt: at, cancelRequested: true }, audit: [endedAudit(false)] };
      }
      return unexpected();

    case 'copy-submitting':
    case 'source-delete-submitting':
    case 'target-delete-submitting':
    case 'legacy-submitting': {
      const phase = phaseOfState(move.state)!;
      if (event.type === 'submitted') return { ...base, to: FOLLOWING[move.state]!, taskSubmitted: { phase, vdsmTaskId: event.taskId } };
      if (event.type === 'lost') {
        // One transaction drops the stale placeholder and writes the new one.
        return { ...base, to: move.state, taskDropped: { phase }, taskPlaceholder: placeholder(phase) };
      }
      if (event.type !== 'refused') return unexpected();
      const { error } = event;
      if (move.state === 'copy-submitting' || move.state === 'legacy-submitting') {
        return {
          ...base,
          to: 'done',
          taskDropped: { phase },
          restoreDisk: true,
          phaseEnded: { phase, outcome: 'failed', error },
          move: { result: 'failed', failedPhase: phase, error, doneAt: at },
          audit: [audit(AUDIT_TYPES.MOVE_START_FAILED, 'error', `Moving disk ${move.diskId} could not start: ${errorText(error)}`)],
        };
      }
      const nothingThere = error.code === IMAGE_NOT_IN_DOMAIN || event.imageGone === true;
      const source = move.state === 'source-delete-submitting';
      const domainId = source ? move.srcDomainId : move.dstDomainId;
      return {
        ...base,
        to: 'done',
        taskDropped: { phase },
        phaseEnded: { phase, outcome: nothingThere ? 'succeeded' : 'failed', ...(nothingThere ? {} : { error }) },
        move: source
          ? { result: 'moved', doneAt: at, ...(nothingThere ? {} : { failedPhase: 'delete-source' as const, error }) }
          : { result: finalResult, doneAt: at },
        ...(nothingThere ? {} : { leftovers: [{ domainId, imageId: move.diskId, reason: `${source ? 'source' : 'target'} delete could not start: ${errorText(error)}` }] }),
        audit: [
          ...(nothingThere
            ? []
            : [
                audit(
                  source ? AUDIT_TYPES.SOURCE_DELETE_NOT_STARTED : AUDIT_TYPES.TARGET_DELETE_NOT_STARTED,
                  'warning',
                  `Possible failure while deleting disk ${move.diskId} from the ${source ? 'source' : 'target'} domain ${domainId}; the domain may hold leftovers to clean up (${errorText(error)}).`,
                ),
              ]),
          endedAudit(source),
        ],
      };
    }

    case 'copying': {
      const sdm = move.path === 'sdm';
      if (sdm && event.type === 'task-ended' && event.ok) {
        return { ...base, to: 'copying', taskEnded: { phase: 'copy', code: event.code, message: event.message } };
      }
      if (sdm && event.type === 'job-placeholder') return { ...base, to: 'copying', sdmJobPlaceholder: event.job };
      if (sdm && event.type === 'job-submitted') return { ...base, to: 'copying', sdmJobSubmitted: { jobId: event.jobId } };
      if (sdm && event.type === 'job-ended') {
        return { ...base, to: 'copying', sdmJobEnded: { jobId: event.jobId, code: event.code, message: event.message } };
      }
      const copied = sdm && event.type === 'sdm-copied';
      const copyFailed = sdm && event.type === 'sdm-failed';
      if (event.type !== 'task-ended' && !copied && !copyFailed) return unexpected();
      // The SDM path's structure task ended long before; only the SPM path's copy task ends here.
      const taskEnded = event.type === 'task-ended' ? { taskEnded: { phase: 'copy' as const, code: event.code, message: event.message } } : {};
      if (copied || (event.type === 'task-ended' && event.ok)) {
        return {
          ...base,
          to: 'source-delete-submitting',
          ...taskEnded,
          phaseEnded: { phase: 'copy', outcome: 'succeeded' },
          switchDisk: { domainId: move.dstDomainId, status: 'OK' },
          move: { availableAt: at },
          phaseStarted: { phase: 'delete-source' },
          taskPlaceholder: placeholder('delete-source'),
        };
      }
      // Here the event is a failed copy task, or the SDM path's sdm-failed.
      const { code, message } = event as { code: number; message: string };
      const error = { code, message };
      return {
        ...base,
        to: 'target-delete-submitting',
        ...taskEnded,
        restoreDisk: true,
        phaseEnded: { phase: 'copy', outcome: move.cancelRequested ? 'cancelled' : 'failed', error },
        move: { failedPhase: move.cancelRequested ? null : 'copy', error },
        phaseStarted: { phase: 'delete-target' },
        taskPlaceholder: placeholder('delete-target'),
      };
    }

    case 'deleting-source':
    case 'deleting-target': {
      if (event.type !== 'task-ended') return unexpected();
      const source = move.state === 'deleting-source';
      const phase: MovePhase = source ? 'delete-source' : 'delete-target';
      const domainId = source ? move.srcDomainId : move.dstDomainId;
      const error = { code: event.code, message: event.message };
      return {
        ...base,
        to: 'done',
        taskEnded: { phase, code: event.code, message: event.message },
        phaseEnded: { phase, outcome: event.ok ? 'succeeded' : 'failed', ...(event.ok ? {} : { error }) },
        move: source
          ? { result: 'moved', doneAt: at, ...(event.ok ? {} : { failedPhase: 'delete-source' as const, error }) }
          : { result: finalResult, doneAt: at },
        ...(event.ok ? {} : { leftovers: [{ domainId, imageId: move.diskId, reason: `${source ? 'source' : 'target'} delete task failed: ${errorText(error)}` }] }),
        audit: [
          ...(event.ok
            ? []
            : [
                audit(
                  AUDIT_TYPES.DELETE_TASK_FAILED,
                  'error',
                  `Image group deletion task for disk ${move.diskId} on domain ${domainId} failed (${errorText(error)}). Manual volume removal might be required.`,
                ),
              ]),
          endedAudit(source),
        ],
      };
    }

    case 'legacy-moving': {
      if (event.type !== 'task-ended') return unexpected();
      const taskEnded = { phase: 'legacy-move' as const, code: event.code, message: event.message };
      if (event.ok) {
        return {
          ...base,
          to: 'done',
          taskEnded,
          phaseEnded: { phase: 'legacy-move', outcome: 'succeeded' },
          switchDisk: { domainId: move.dstDomainId, status: 'OK' },
          move: { result: 'moved', availableAt: at, doneAt: at, ...(event.sourceLeft ? { failedPhase: 'legacy-move' as const } : {}) },
          ...(event.sourceLeft
            ? {
                leftovers: [
                  {
                    domainId: move.srcDomainId,
                    imageId: move.diskId,
                    reason: 'the single-verb move reported success but the source still holds the image (its delete failed inside VDSM)',
                  },
                ],
              }
            : {}),
          audit: [endedAudit(true)],
        };
      }
      const error = { code: event.code, message: event.message };
      if (event.targetHolds === true && event.sourceLeft === false) {
        // Failed after its source delete: the disk lives on the target only (it is mapped there, not restored).
        return {
          ...base,
          to: 'done',
          taskEnded,
          phaseEnded: { phase: 'legacy-move', outcome: 'failed', error },
          switchDisk: { domainId: move.dstDomainId, status: 'OK' },
          move: { result: 'moved', failedPhase: 'legacy-move', error, availableAt: at, doneAt: at },
          audit: [endedAudit(true)],
        };
      }
      if (event.targetHolds === true) {
        // Failed with the copy on the target and the source whole: the copy is ours (the
        // target did not hold the image at the start), cleaned up as a failed copy is.
        return {
          ...base,
          to: 'target-delete-submitting',
          taskEnded,
          restoreDisk: true,
          phaseEnded: { phase: 'legacy-move', outcome: move.cancelRequested ? 'cancelled' : 'failed', error },
          move: { failedPhase: move.cancelRequested ? null : 'legacy-move', error },
          phaseStarted: { phase: 'delete-target' },
          taskPlaceholder: placeholder('delete-target'),
        };
      }
      return {
        ...base,
        to: 'done',
        taskEnded,
        restoreDisk: true,
        phaseEnded: { phase: 'legacy-move', outcome: move.cancelRequested ? 'cancelled' : 'failed', error },
        move: { result: finalResult, failedPhase: move.cancelRequested ? null : 'legacy-move', error, doneAt: at },
        audit: [endedAudit(false)],
      };
    }
  }
}
