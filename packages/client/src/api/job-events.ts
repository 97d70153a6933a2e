/**
 * VDSM's host-job event: `|jobs|status|<job_id>`, sent once when a job ends
 * (done, failed, aborted) and when a pending job is aborted; never on
 * pending->running nor for progress (lib/vdsm/jobs.py `_send_event`,
 * vdsm-sdm.md §2). Its params are the flat `Job.info()` plus `notify_time`,
 * not the schema's `{id, job_info}`. The engine never subscribes; an event
 * may shorten a wait but must not be the only signal (events are dropped
 * while VDSM is not ready, and lost across reconnects).
 */
import type { VdsmEvent, VdsmEventListener } from '../rpc/event-router.js';
import type { HostJobInfo } from './types.js';

/** The event id of job `jobId`'s status event; `'*'` for every job. */
export function jobStatusEventId(jobId: string): string {
  return `|jobs|status|${jobId}`;
}

/** A job status event's params: the job info and VDSM's `notify_time` (monotonic milliseconds). */
export type JobStatusEvent = HostJobInfo & { readonly notify_time?: number };

/** Anything events can be listened to on by pattern (a `VdsmClient`, an `EventRouter`). */
export interface EventSource {
  on(pattern: string, listener: VdsmEventListener): () => void;
}

/**
 * Calls `listener` with the job info of every status event of job `jobId`
 * (or of every job for `'*'`). Returns the function that stops listening.
 * An event without the job fields is skipped, not passed on half-typed.
 */
export function onJobStatus(source: EventSource, jobId: string, listener: (info: JobStatusEvent, event: VdsmEvent) => void): () => void {
  return source.on(jobStatusEventId(jobId), (event) => {
    const { params } = event;
    if (typeof params.id !== 'string' || typeof params.status !== 'string') return;
    listener(params as unknown as JobStatusEvent, event);
  });
}
