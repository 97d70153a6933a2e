/**
 * The SQLite store's SDM job rows (migration 0003): a transition's three job
 * steps, run inside its transaction, and the listing. Kept beside the store
 * rather than in it, so the store's own statements stay as they were.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { MoveStoreError } from './move-store.js';
import type { Transition } from './move-store.js';
import { SDM_JOB_COLUMNS, sdmJobFromRow } from './rows.js';
import type { SdmJobRow } from './rows.js';
import type { SdmJobRecord, SdmJobState } from './records.js';

export interface SqliteSdmJobs {
  readonly insert: Statement<[string, string, string, number, string, number, number, number]>;
  readonly submit: Statement<[string, string]>;
  readonly end: Statement<[number, number, string, string, string]>;
  readonly list: Statement<{ move_id: string | null; states: string | null }, SdmJobRow>;
}

export function prepareSdmJobs(db: Database.Database): SqliteSdmJobs {
  return {
    insert: db.prepare<[string, string, string, number, string, number, number, number]>(
      `INSERT INTO sdm_jobs (job_id, move_id, volume_id, position, host, generation, attempt, state, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'placeholder', ?) ON CONFLICT DO NOTHING`,
    ),
    submit: db.prepare<[string, string]>("UPDATE sdm_jobs SET state = 'running' WHERE job_id = ? AND move_id = ? AND state = 'placeholder'"),
    end: db.prepare<[number, number, string, string, string]>(
      `UPDATE sdm_jobs SET state = 'ended', ended_at = ?, end_code = ?, end_message = ?
       WHERE job_id = ? AND move_id = ? AND state IN ('placeholder', 'running')`,
    ),
    list: db.prepare<{ move_id: string | null; states: string | null }, SdmJobRow>(
      `SELECT ${SDM_JOB_COLUMNS} FROM sdm_jobs
       WHERE (@move_id IS NULL OR move_id = @move_id) AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
       ORDER BY move_id, position, attempt`,
    ),
  };
}

/** The transition's job steps, in the order move-store.ts gives, inside the caller's transaction. */
export function applySdmJobSteps(s: SqliteSdmJobs, t: Transition, bad: (what: string) => never): void {
  const p = t.sdmJobPlaceholder;
  if (p) {
    const { changes } = s.insert.run(p.jobId, t.moveId, p.volumeId, p.position, p.host, p.generation, p.attempt, t.at);
    if (changes !== 1) bad(`SDM job ${p.jobId} (volume ${p.position}, attempt ${p.attempt}) already exists`);
  }
  if (t.sdmJobSubmitted && s.submit.run(t.sdmJobSubmitted.jobId, t.moveId).changes !== 1) {
    bad(`SDM job ${t.sdmJobSubmitted.jobId} is not a placeholder of this move`);
  }
  const e = t.sdmJobEnded;
  if (e && s.end.run(t.at, e.code, e.message, e.jobId, t.moveId).changes !== 1) bad(`SDM job ${e.jobId} is not in flight for this move`);
}

export function listSdmJobs(s: SqliteSdmJobs, filter: { readonly moveId?: string; readonly states?: readonly SdmJobState[] }): SdmJobRecord[] {
  if (filter.states?.some((state) => !['placeholder', 'running', 'ended'].includes(state))) {
    throw new MoveStoreError('BAD_REQUEST', `Unknown SDM job state in ${JSON.stringify(filter.states)}`);
  }
  return s.list.all({ move_id: filter.moveId ?? null, states: filter.states ? JSON.stringify(filter.states) : null }).map(sdmJobFromRow);
}
