/**
 * Every statement of the PostgreSQL store, named so node-postgres prepares
 * each once per connection; values always travel as parameters. Lease times
 * are the database's `now()` and leave it as milliseconds (`ms(...)`).
 */
import { AUDIT_COLUMNS, MOVE_COLUMNS, PHASE_COLUMNS, SDM_JOB_COLUMNS, TASK_COLUMNS, VOLUME_COLUMNS } from './rows.js';

export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** A timestamptz as integer milliseconds since the epoch. */
const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::bigint`;
/** now() plus a parameter of milliseconds. */
const after = (param: string): string => `now() + ${param}::bigint * interval '1 millisecond'`;

export const MOVE_CHANNEL = 'engine_move_move';
export const POOL_CHANNEL = 'engine_move_pool';

const PG_MOVE_COLUMNS = `${MOVE_COLUMNS}, ${ms('lease_until')} AS lease_until`;

const statements = {
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  // SET LOCAL takes no parameters; set_config(..., true) is its parameterised form.
  timeouts: "SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)",
  notify: 'SELECT pg_notify($1, $2)',
  findWrite: 'SELECT result FROM store_writes WHERE write_id = $1',
  recordWrite: 'INSERT INTO store_writes (write_id, result) VALUES ($1, $2::jsonb)',
  pruneWrites: "DELETE FROM store_writes WHERE committed_at < now() - interval '1 day'",

  getDisk: 'SELECT pool_id FROM disks WHERE disk_id = $1',
  insertDisk: 'INSERT INTO disks (disk_id, pool_id) VALUES ($1, $2)',
  listVolumes: `SELECT ${VOLUME_COLUMNS} FROM volumes WHERE disk_id = $1 ORDER BY position`,
  insertVolume: `INSERT INTO volumes (${VOLUME_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
  lockVolumes: "UPDATE volumes SET status = 'LOCKED' WHERE disk_id = $1",
  switchVolumes: 'UPDATE volumes SET domain_id = $1, status = $2 WHERE disk_id = $3',
  restoreVolumes: `UPDATE volumes v SET status = c.previous_status FROM compensation c
     WHERE c.move_id = $1 AND v.disk_id = $2 AND c.volume_id = v.volume_id AND c.disk_id = v.disk_id`,
  recordCompensation: `INSERT INTO compensation (move_id, disk_id, volume_id, previous_status)
     SELECT $1, disk_id, volume_id, status FROM volumes WHERE disk_id = $2`,
  countCompensation: 'SELECT count(*)::integer AS n FROM compensation WHERE move_id = $1',
  dropCompensation: 'DELETE FROM compensation WHERE move_id = $1',
  listCompensation: 'SELECT move_id, volume_id, previous_status FROM compensation WHERE move_id = $1 ORDER BY volume_id',

  getMove: `SELECT ${PG_MOVE_COLUMNS} FROM moves WHERE move_id = $1`,
  // The move's row is both its fence (owner, epoch) and its guard (state). Temporal
  // reads its fence FOR SHARE; here the same row is also written at the end, and
  // two FOR SHARE holders that both go on to update it deadlock, so the lock is
  // taken FOR UPDATE at once: it blocks a takeover (a claim skips the locked row)
  // and serialises two writers of one move, the second then seeing the first's state.
  lockMove: `SELECT ${PG_MOVE_COLUMNS} FROM moves WHERE move_id = $1 FOR UPDATE`,
  activeMoveOfDisk: `SELECT ${PG_MOVE_COLUMNS} FROM moves WHERE disk_id = $1 AND state <> 'done'`,
  insertMove: `INSERT INTO moves (move_id, pool_id, disk_id, src_domain_id, dst_domain_id, wipe_after_delete, discard, mode, state, created_at,
       copy_path_requested, exclude_hosts, copy_retries)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $11, $12)`,
  updateMove: `UPDATE moves SET state = $2, version = version + 1,
       result = CASE WHEN $3::boolean THEN $4 ELSE result END,
       failed_phase = CASE WHEN $5::boolean THEN $6 ELSE failed_phase END,
       error_code = CASE WHEN $7::boolean THEN $8::integer ELSE error_code END,
       error_message = CASE WHEN $7::boolean THEN $9 ELSE error_message END,
       available_at = CASE WHEN $10::boolean THEN $11::bigint ELSE available_at END,
       done_at = CASE WHEN $12::boolean THEN $13::bigint ELSE done_at END,
       cancel_requested = CASE WHEN $14::boolean THEN $15::boolean ELSE cancel_requested END,
       copy_path = CASE WHEN $16::boolean THEN $17::text ELSE copy_path END
     WHERE move_id = $1`,
  insertSdmJob: `INSERT INTO sdm_jobs (job_id, move_id, volume_id, position, host, generation, attempt, state, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'placeholder', $8) ON CONFLICT DO NOTHING`,
  submitSdmJob: "UPDATE sdm_jobs SET state = 'running' WHERE job_id = $1 AND move_id = $2 AND state = 'placeholder'",
  endSdmJob: `UPDATE sdm_jobs SET state = 'ended', ended_at = $1, end_code = $2, end_message = $3
     WHERE job_id = $4 AND move_id = $5 AND state IN ('placeholder', 'running')`,
  listSdmJobs: `SELECT ${SDM_JOB_COLUMNS} FROM sdm_jobs
     WHERE ($1::text IS NULL OR move_id = $1) AND ($2::text[] IS NULL OR state = ANY ($2::text[]))
     ORDER BY move_id, position, attempt`,
  listMoves: `SELECT ${PG_MOVE_COLUMNS} FROM moves
     WHERE ($1::boolean = false OR state <> 'done')
       AND ($2::text IS NULL OR disk_id = $2)
       AND ($3::text[] IS NULL OR state = ANY ($3::text[]))
     ORDER BY created_at, move_id`,

  getPhase: 'SELECT 1 FROM phases WHERE move_id = $1 AND phase = $2',
  startPhase: 'INSERT INTO phases (move_id, phase, started_at) VALUES ($1, $2, $3)',
  endPhase: `UPDATE phases SET ended_at = $1, outcome = $2, error_code = $3, error_message = $4
     WHERE move_id = $5 AND phase = $6 AND ended_at IS NULL`,
  listPhases: `SELECT ${PHASE_COLUMNS} FROM phases WHERE move_id = $1 ORDER BY started_at, seq`,

  getTask: `SELECT ${TASK_COLUMNS} FROM tasks WHERE move_id = $1 AND phase = $2`,
  insertTask: `INSERT INTO tasks (move_id, phase, pool_id, verb, domain_id, image_id, state, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'placeholder', $7)`,
  // Taking the pool's row lock serialises the window's count-then-insert across instances.
  lockPoolWindow: 'INSERT INTO pool_windows (pool_id) VALUES ($1) ON CONFLICT (pool_id) DO UPDATE SET pool_id = excluded.pool_id',
  countInFlight: "SELECT count(*)::integer AS n FROM tasks WHERE pool_id = $1 AND state IN ('placeholder', 'running')",
  // Or a task already running under that id: its answer was recorded by a sender that lost the move (recordAnswer).
  submitTask:
    "UPDATE tasks SET vdsm_task_id = $1, state = 'running' WHERE move_id = $2 AND phase = $3 AND (state = 'placeholder' OR (state = 'running' AND vdsm_task_id = $1))",
  endTask: `UPDATE tasks SET state = 'ended', ended_at = $1, end_code = $2, end_message = $3
     WHERE move_id = $4 AND phase = $5 AND state = 'running'`,
  dropTask: "DELETE FROM tasks WHERE move_id = $1 AND phase = $2 AND state = 'placeholder'",
  answerTask:
    "UPDATE tasks SET vdsm_task_id = $1, state = 'running' WHERE move_id = $2 AND phase = $3 AND created_at = $4 AND state = 'placeholder'",
  clearTask: "UPDATE tasks SET state = 'cleared', ended_at = coalesce(ended_at, $1) WHERE move_id = $2 AND phase = $3",
  listTasks: `SELECT ${TASK_COLUMNS} FROM tasks
     WHERE ($1::text IS NULL OR move_id = $1) AND ($2::text IS NULL OR state = $2)
     ORDER BY created_at, move_id, phase`,

  insertLeftover: 'INSERT INTO leftovers (move_id, domain_id, image_id, reason, recorded_at) VALUES ($1, $2, $3, $4, $5)',
  listLeftovers: `SELECT move_id, domain_id, image_id, reason, recorded_at FROM leftovers
     WHERE ($1::text IS NULL OR move_id = $1) ORDER BY id`,
  insertAudit: `INSERT INTO audit (at, type, severity, move_id, disk_id, message) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${AUDIT_COLUMNS}`,
  // Paging ($4): only rows of transactions older than every running one (migration 0004).
  listAudit: `SELECT ${AUDIT_COLUMNS} FROM audit
     WHERE ($1::text IS NULL OR move_id = $1) AND seq > $2 AND (NOT $4::boolean OR xid < pg_snapshot_xmin(pg_current_snapshot()))
     ORDER BY seq LIMIT $3`,

  // Claim and takeover in one autocommit statement (postgres-workers.md s5.1);
  // its write id is recorded by the same statement, for a retry after a lost COMMIT.
  claim: `WITH c AS (
       SELECT move_id FROM moves
       WHERE state <> 'done' AND (lease_until IS NULL OR lease_until <= now())
         AND ($3::text[] IS NULL OR pool_id = ANY ($3::text[]))
       ORDER BY created_at, move_id LIMIT $4
       FOR UPDATE SKIP LOCKED),
     u AS (
       UPDATE moves m SET owner = $1, epoch = m.epoch + 1, lease_until = ${after('$2')}
       FROM c WHERE m.move_id = c.move_id
       RETURNING m.move_id, m.epoch, ${ms('m.lease_until')} AS lease_until, m.created_at),
     w AS (
       INSERT INTO store_writes (write_id, result)
       SELECT $5, coalesce(jsonb_agg(jsonb_build_object('move_id', move_id, 'epoch', epoch, 'lease_until', lease_until, 'created_at', created_at)), '[]')
       FROM u HAVING count(*) > 0)
     SELECT move_id, epoch, lease_until, created_at FROM u`,
  renew: `WITH l AS (SELECT * FROM unnest($2::text[], $3::bigint[]) AS l (move_id, epoch)),
     u AS (
       UPDATE moves m SET lease_until = ${after('$4')} FROM l
       WHERE m.move_id = l.move_id AND m.epoch = l.epoch AND m.owner = $1
       RETURNING m.move_id)
     SELECT coalesce(array_agg(u.move_id), '{}') AS renewed, ${ms(after('$4'))} AS lease_until FROM u`,
  release: `WITH u AS (
       UPDATE moves SET owner = NULL, lease_until = now() WHERE move_id = $1 AND owner = $2 AND epoch = $3 RETURNING move_id)
     SELECT pg_notify('${MOVE_CHANNEL}', move_id) FROM u`,
  claimPool: `INSERT INTO pool_leases (pool_id, owner, epoch, lease_until) VALUES ($1, $2, 1, ${after('$3')})
     ON CONFLICT (pool_id) DO UPDATE SET
       epoch = CASE WHEN pool_leases.owner IS NOT DISTINCT FROM excluded.owner THEN pool_leases.epoch ELSE pool_leases.epoch + 1 END,
       owner = excluded.owner, lease_until = excluded.lease_until
     WHERE pool_leases.owner IS NOT DISTINCT FROM excluded.owner OR pool_leases.lease_until <= now()
     RETURNING epoch, ${ms('lease_until')} AS lease_until`,
  renewPool: `UPDATE pool_leases SET lease_until = ${after('$4')} WHERE pool_id = $1 AND owner = $2 AND epoch = $3`,
  releasePool: `WITH u AS (
       UPDATE pool_leases SET owner = NULL, lease_until = now() WHERE pool_id = $1 AND owner = $2 AND epoch = $3 RETURNING pool_id)
     SELECT pg_notify('${POOL_CHANNEL}', pool_id) FROM u`,
  // The lease row is read FOR SHARE, so a takeover waits until this status (and its NOTIFY) commits.
  publishPool: `WITH l AS (SELECT epoch FROM pool_leases WHERE pool_id = $1 AND owner = $2 AND epoch = $3 FOR SHARE),
     u AS (
       INSERT INTO pool_status (pool_id, epoch, polled_at, seq, body) SELECT $6, l.epoch, $4, 1, $5::jsonb FROM l
       ON CONFLICT (pool_id) DO UPDATE SET epoch = excluded.epoch, polled_at = excluded.polled_at,
         seq = pool_status.seq + 1, body = excluded.body
       RETURNING pool_id)
     SELECT pg_notify('${POOL_CHANNEL}', pool_id) FROM u`,
  getPoolStatus: 'SELECT epoch, polled_at, seq, body FROM pool_status WHERE pool_id = $1',
} as const;

export type StatementName = keyof typeof statements;

export const SQL: { readonly [K in StatementName]: Statement } = Object.fromEntries(
  Object.entries(statements).map(([name, text]) => [name, { name: `em_${name}`, text }]),
) as { [K in StatementName]: Statement };
