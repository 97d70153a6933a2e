/**
 * The move store on PostgreSQL, for several orchestrator instances sharing
 * one database (postgres-workers.md s5): the same MoveStore as the SQLite
 * store, passing the same conformance suite. node-postgres' Pool, named
 * (prepared) statements with parameters only; every multi-statement write is
 * one transaction with `SET LOCAL`-style lock and idle timeouts; NOTIFY (ids
 * only) sent inside the writing transaction, so it is delivered exactly when
 * the write commits; lease times from the database's `now()`.
 *
 * A database that goes away (restart, failover) is retried with backoff on
 * the retryable SQLSTATEs for `retryForMs`, and each retry is logged. A write
 * whose connection died during COMMIT may or may not have committed: every
 * write that is not idempotent records its write id in `store_writes` in the
 * same transaction, and its retry looks there first, so the write is neither
 * lost, nor applied twice, nor refused as stale because it already happened.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { poolStatusKey } from './leases.js';
import type { ClaimRequest, Fence, MoveLease, PoolLease, PoolStatus } from './leases.js';
import { loadMigrations } from './migrations.js';
import type { Migration } from './migrations.js';
import { MoveStoreError } from './move-store.js';
import type { MoveFilter, MoveStore, NewMove, Transition } from './move-store.js';
import { PgListener } from './postgres-listener.js';
import { migratePostgres } from './postgres-migrate.js';
import { describePgError, isConnectionFailure, retrying } from './postgres-retry.js';
import type { Backoff } from './postgres-retry.js';
import { MOVE_CHANNEL, POOL_CHANNEL, SQL } from './postgres-sql.js';
import type { Statement } from './postgres-sql.js';
import { applyIn, diskIn, insertDisk } from './postgres-transition.js';
import type { Query } from './postgres-transition.js';
import {
  auditFromRow,
  compensationFromRow,
  leftoverFromRow,
  moveFromRow,
  phaseFromRow,
  sdmJobFromRow,
  taskFromRow,
} from './rows.js';
import type { AuditRow, CompensationRow, LeftoverRow, MoveRow, PhaseRow, SdmJobRow, TaskRow } from './rows.js';
import type {
  AuditEntry,
  AuditRecord,
  CompensationRecord,
  DiskRecord,
  LeftoverRecord,
  MovePhase,
  MoveRecord,
  PhaseRecord,
  TaskRecord,
  SdmJobRecord,
  SdmJobState,
  TaskState,
} from './records.js';
import { checkClaimLimit, checkDisk, checkFence, checkLeaseMs, checkNewMove } from './store-checks.js';
import { WakeUpHub } from './wake-ups.js';
import type { WakeUpListener } from './wake-ups.js';

export interface PostgresMoveStoreOptions {
  /** `postgres://` or `postgresql://` URL of the database. */
  readonly url: string;
  /** Migrations to apply (tests); the package's own by default. */
  readonly migrations?: readonly Migration[];
  /** Where retries, lost connections and reconnects are told (a worker's log); silent by default. */
  readonly log?: (line: string) => void;
  /** Connections in the pool (the listener has its own). */
  readonly poolSize?: number;
  /** `lock_timeout` of each transaction: a lock held longer than this fails the try (retried). */
  readonly lockTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout` of each transaction: a stuck client cannot hold row locks for ever. */
  readonly idleInTransactionTimeoutMs?: number;
  /** How long an operation is retried while the database is unreachable, before its error is thrown. */
  readonly retryForMs?: number;
  readonly backoff?: Backoff;
  /** How often the listener checks `pg_listening_channels()`. */
  readonly listenerCheckMs?: number;
}

type Settings = Required<Omit<PostgresMoveStoreOptions, 'url' | 'migrations' | 'log'>>;

interface WriteOptions<T> {
  /** Record a write id, so a retry after an unknown COMMIT outcome returns the committed result. */
  readonly idempotent?: boolean;
  /** A unique violation from a concurrent writer: try once more, so the checks see its row and say why. */
  readonly retryUniqueViolation?: boolean;
  /** Wake-ups to send inside the transaction. */
  readonly notify?: (result: T) => readonly (readonly [string, string])[];
}

const DEFAULTS = {
  poolSize: 10,
  lockTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 30_000,
  retryForMs: 60_000,
  backoff: { firstMs: 100, maxMs: 5_000 },
  listenerCheckMs: 10_000,
  connectTimeoutMs: 10_000,
};

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for logs and `status`. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export class PostgresMoveStore implements MoveStore {
  readonly description: string;
  /** The schema version the database has (every migration this code knows is applied at open). */
  readonly schemaVersion: number;
  readonly #pool: Pool;
  readonly #url: string;
  readonly #log: (line: string) => void;
  readonly #options: Settings;
  readonly #hub = new WakeUpHub();
  #listener: PgListener | undefined;
  #closed = false;

  /**
   * Connects, applies the migrations the database lacks and prunes old write ids.
   * @throws MoveStoreError SCHEMA_TOO_NEW for a database written by a newer engine-move.
   */
  static async open(options: PostgresMoveStoreOptions): Promise<PostgresMoveStore> {
    if (!isPostgresUrl(options.url)) throw new MoveStoreError('BAD_REQUEST', `Not a postgres:// URL: ${describePostgresUrl(options.url)}`);
    const settings = {
      poolSize: options.poolSize ?? DEFAULTS.poolSize,
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? DEFAULTS.idleInTransactionTimeoutMs,
      retryForMs: options.retryForMs ?? DEFAULTS.retryForMs,
      backoff: options.backoff ?? DEFAULTS.backoff,
      listenerCheckMs: options.listenerCheckMs ?? DEFAULTS.listenerCheckMs,
    };
    const log = options.log ?? (() => undefined);
    const pool = new pg.Pool({
      connectionString: options.url,
      max: settings.poolSize,
      keepAlive: true,
      application_name: 'engine-move',
      connectionTimeoutMillis: DEFAULTS.connectTimeoutMs,
      // Autocommit statements (claims, renewals) get the same lock bound as transactions.
      lock_timeout: settings.lockTimeoutMs,
    });
    // An idle client's error (the server restarted) comes here; without a handler it would kill the process.
    pool.on('error', (error) => log(`store: idle connection lost (${describePgError(error)})`));
    const where = describePostgresUrl(options.url);
    try {
      const version = await retrying(
        'migrate',
        () => migratePostgres(pool, options.migrations ?? loadMigrations('postgres'), where),
        settings,
        log,
        () => false,
      );
      const store = new PostgresMoveStore(pool, options.url, version, settings, log);
      await store.#query('prune write ids', SQL.pruneWrites);
      return store;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  private constructor(pool: Pool, url: string, schemaVersion: number, options: Settings, log: (line: string) => void) {
    this.#pool = pool;
    this.#url = url;
    this.schemaVersion = schemaVersion;
    this.#options = options;
    this.#log = log;
    this.description = describePostgresUrl(url);
  }

  async getDisk(diskId: string): Promise<DiskRecord | undefined> {
    return this.#read('getDisk', (q) => diskIn(q, diskId));
  }

  async addDisk(disk: DiskRecord): Promise<void> {
    checkDisk(disk);
    await this.#write('addDisk', (q) => insertDisk(q, disk), { idempotent: true, retryUniqueViolation: true });
  }

  async createMove(move: NewMove): Promise<MoveRecord> {
    const { request } = move;
    return this.#write(
      'createMove',
      async (q) => {
        if ((await q(SQL.getMove, [request.moveId])).rows.length > 0) {
          throw new MoveStoreError('MOVE_EXISTS', `A move with id ${request.moveId} already exists`);
        }
        let disk = await diskIn(q, request.diskId);
        if (!disk && move.disk) {
          await insertDisk(q, move.disk);
          disk = await diskIn(q, request.diskId);
        }
        const active = (await q<MoveRow>(SQL.activeMoveOfDisk, [request.diskId])).rows[0];
        checkNewMove(request, disk, active && moveFromRow(active));
        await q(SQL.insertMove, [
          request.moveId,
          request.poolId,
          request.diskId,
          request.srcDomainId,
          request.dstDomainId,
          request.wipeAfterDelete,
          request.discard,
          request.mode,
          move.at,
          request.copyPath ?? 'auto',
          JSON.stringify(request.excludeHosts ?? []),
          request.copyRetries ?? 0,
        ]);
        return moveFromRow((await q<MoveRow>(SQL.getMove, [request.moveId])).rows[0]!);
      },
      { idempotent: true, retryUniqueViolation: true, notify: (created) => [[MOVE_CHANNEL, created.moveId]] },
    );
  }

  async apply(t: Transition): Promise<MoveRecord> {
    return this.#write('apply', (q) => applyIn(q, t), { idempotent: true, notify: () => [[MOVE_CHANNEL, t.moveId]] });
  }

  async markTaskCleared(moveId: string, phase: MovePhase, at: number, fence?: Fence): Promise<void> {
    // Idempotent: a retry after a lost COMMIT finds the task cleared.
    await this.#write('markTaskCleared', async (q) => {
      if (fence) {
        const row = (await q<MoveRow>(SQL.lockMove, [moveId])).rows[0];
        if (!row) throw new MoveStoreError('UNKNOWN_MOVE', `No move with id ${moveId}`);
        checkFence({ moveId, fence }, { owner: row.owner, epoch: Number(row.epoch) });
      }
      const task = (await q<TaskRow>(SQL.getTask, [moveId, phase])).rows[0];
      if (!task) throw new MoveStoreError('BAD_TRANSITION', `Move ${moveId} has no ${phase} task`);
      if (task.state === 'cleared') return;
      if (task.state !== 'ended') {
        throw new MoveStoreError(
          'BAD_TRANSITION',
          `Move ${moveId}'s ${phase} task is ${task.state}: only an ended task (its end logic committed) is cleared`,
        );
      }
      await q(SQL.clearTask, [at, moveId, phase]);
    });
  }

  async recordAnswer(moveId: string, phase: MovePhase, placeholderCreatedAt: number, vdsmTaskId: string): Promise<boolean> {
    // Idempotent by its WHERE, but a retry after a lost COMMIT finds the id set and says false: the write id keeps its first answer.
    return this.#write('recordAnswer', async (q) => (await q(SQL.answerTask, [vdsmTaskId, moveId, phase, placeholderCreatedAt])).rowCount === 1, {
      idempotent: true,
    });
  }

  async getMove(moveId: string): Promise<MoveRecord | undefined> {
    const row = (await this.#query<MoveRow>('getMove', SQL.getMove, [moveId])).rows[0];
    return row && moveFromRow(row);
  }

  async listMoves(filter: MoveFilter = {}): Promise<MoveRecord[]> {
    const { rows } = await this.#query<MoveRow>('listMoves', SQL.listMoves, [filter.active === true, filter.diskId ?? null, filter.states ?? null]);
    return rows.map(moveFromRow);
  }

  async listPhases(moveId: string): Promise<PhaseRecord[]> {
    return (await this.#query<PhaseRow>('listPhases', SQL.listPhases, [moveId])).rows.map(phaseFromRow);
  }

  async listSdmJobs(filter: { moveId?: string; states?: readonly SdmJobState[] }): Promise<SdmJobRecord[]> {
    const { rows } = await this.#query<SdmJobRow>('listSdmJobs', SQL.listSdmJobs, [filter.moveId ?? null, filter.states ?? null]);
    return rows.map(sdmJobFromRow);
  }

  async listTasks(filter: { moveId?: string; state?: TaskState }): Promise<TaskRecord[]> {
    return (await this.#query<TaskRow>('listTasks', SQL.listTasks, [filter.moveId ?? null, filter.state ?? null])).rows.map(taskFromRow);
  }

  async listCompensation(moveId: string): Promise<CompensationRecord[]> {
    return (await this.#query<CompensationRow>('listCompensation', SQL.listCompensation, [moveId])).rows.map(compensationFromRow);
  }

  async listLeftovers(filter: { moveId?: string } = {}): Promise<LeftoverRecord[]> {
    return (await this.#query<LeftoverRow>('listLeftovers', SQL.listLeftovers, [filter.moveId ?? null])).rows.map(leftoverFromRow);
  }

  async addAudit(entry: AuditEntry): Promise<AuditRecord> {
    return this.#write(
      'addAudit',
      async (q) =>
        auditFromRow((await q<AuditRow>(SQL.insertAudit, [entry.at, entry.type, entry.severity, entry.moveId, entry.diskId, entry.message])).rows[0]!),
      { idempotent: true },
    );
  }

  async listAudit(filter: { moveId?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const { rows } = await this.#query<AuditRow>('listAudit', SQL.listAudit, [
      filter.moveId ?? null,
      filter.afterSeq ?? 0,
      filter.limit ?? null,
      filter.afterSeq !== undefined,
    ]);
    return rows.map(auditFromRow);
  }

  async claimMoves(request: ClaimRequest): Promise<MoveLease[]> {
    checkLeaseMs(request.leaseMs);
    checkClaimLimit(request.limit);
    type ClaimRow = { move_id: string; epoch: string | number; lease_until: string | number; created_at: string | number };
    const writeId = randomUUID();
    let outcomeUnknown = false;
    const rows = await this.#retrying('claimMoves', async () => {
      if (outcomeUnknown) {
        // The claim's connection died: if it committed, the moves are ours and its write id says which.
        const done = (await this.#pool.query<{ result: ClaimRow[] }>({ ...SQL.findWrite, values: [writeId] })).rows[0];
        if (done) return done.result;
      }
      try {
        const values = [request.owner, request.leaseMs, request.poolIds ?? null, request.limit, writeId];
        return (await this.#pool.query<ClaimRow>({ ...SQL.claim, values })).rows;
      } catch (error) {
        if (isConnectionFailure(error)) outcomeUnknown = true;
        throw error;
      }
    });
    return rows
      .sort((a, b) => Number(a.created_at) - Number(b.created_at) || (a.move_id < b.move_id ? -1 : 1))
      .map((row) => ({ moveId: row.move_id, owner: request.owner, epoch: Number(row.epoch), leaseUntil: Number(row.lease_until) }));
  }

  async renewLeases(owner: string, leases: readonly Pick<MoveLease, 'moveId' | 'epoch'>[], leaseMs: number): Promise<{ lost: string[]; leaseUntil: number }> {
    checkLeaseMs(leaseMs);
    const ids = leases.map((lease) => lease.moveId);
    const { rows } = await this.#query<{ renewed: string[]; lease_until: string }>('renewLeases', SQL.renew, [
      owner,
      ids,
      leases.map((lease) => lease.epoch),
      leaseMs,
    ]);
    const renewed = new Set(rows[0]!.renewed);
    return { lost: ids.filter((id) => !renewed.has(id)), leaseUntil: Number(rows[0]!.lease_until) };
  }

  async releaseLease(lease: Pick<MoveLease, 'moveId' | 'owner' | 'epoch'>): Promise<void> {
    await this.#query('releaseLease', SQL.release, [lease.moveId, lease.owner, lease.epoch]);
  }

  async getLease(moveId: string): Promise<MoveLease | undefined> {
    const move = await this.getMove(moveId);
    if (!move || move.owner === null || move.leaseUntil === null) return undefined;
    return { moveId, owner: move.owner, epoch: move.epoch, leaseUntil: move.leaseUntil };
  }

  async claimPoolLease(poolId: string, owner: string, leaseMs: number): Promise<PoolLease | undefined> {
    checkLeaseMs(leaseMs);
    const row = (await this.#query<{ epoch: string; lease_until: string }>('claimPoolLease', SQL.claimPool, [poolId, owner, leaseMs])).rows[0];
    return row && { poolId, owner, epoch: Number(row.epoch), leaseUntil: Number(row.lease_until) };
  }

  async renewPoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, leaseMs: number): Promise<boolean> {
    checkLeaseMs(leaseMs);
    return (await this.#query('renewPoolLease', SQL.renewPool, [lease.poolId, lease.owner, lease.epoch, leaseMs])).rowCount === 1;
  }

  async releasePoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>): Promise<void> {
    await this.#query('releasePoolLease', SQL.releasePool, [lease.poolId, lease.owner, lease.epoch]);
  }

  async publishPoolStatus(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, polledAt: number, body: unknown, topic?: string): Promise<boolean> {
    const values = [lease.poolId, lease.owner, lease.epoch, polledAt, JSON.stringify(body), poolStatusKey(lease.poolId, topic)];
    return (await this.#query('publishPoolStatus', SQL.publishPool, values)).rowCount === 1;
  }

  async getPoolStatus(poolId: string, topic?: string): Promise<PoolStatus | undefined> {
    type Row = { epoch: string; polled_at: string; seq: string; body: unknown };
    const row = (await this.#query<Row>('getPoolStatus', SQL.getPoolStatus, [poolStatusKey(poolId, topic)])).rows[0];
    return row && { poolId, epoch: Number(row.epoch), polledAt: Number(row.polled_at), seq: Number(row.seq), body: row.body };
  }

  onWakeUp(listener: WakeUpListener): () => void {
    const remove = this.#hub.add(listener);
    if (this.#closed) return remove;
    if (!this.#listener) {
      this.#listener = new PgListener({
        config: { connectionString: this.#url, connectionTimeoutMillis: DEFAULTS.connectTimeoutMs },
        channels: [MOVE_CHANNEL, POOL_CHANNEL],
        onNotification: (channel, id) => this.#hub.emit({ kind: channel === MOVE_CHANNEL ? 'move' : 'pool', id }),
        onListening: () => this.#hub.emit({ kind: 'rescan' }),
        log: this.#log,
        checkMs: this.#options.listenerCheckMs,
        backoff: this.#options.backoff,
      });
      this.#listener.start();
    } else if (this.#listener.listening) {
      WakeUpHub.deliver(listener, { kind: 'rescan' });
    }
    return remove;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.stop();
    await this.#pool.end();
  }

  #retrying<T>(what: string, attempt: () => Promise<T>, extraRetryable: (error: unknown, tries: number) => boolean = () => false): Promise<T> {
    return retrying(what, attempt, this.#options, this.#log, () => this.#closed, extraRetryable);
  }

  /** One autocommit statement, retried while the database is away (reads, and writes that are idempotent). */
  #query<R extends QueryResultRow = QueryResultRow>(what: string, statement: Statement, values: readonly unknown[] = []): Promise<QueryResult<R>> {
    return this.#retrying(what, () => this.#pool.query<R>({ name: statement.name, text: statement.text, values: [...values] }));
  }

  /** Several reads that belong together, in one transaction (one snapshot is not needed: read committed). */
  #read<T>(what: string, body: (q: Query) => Promise<T>): Promise<T> {
    return this.#write(what, body);
  }

  /** One transaction: timeouts first, then `body`, its NOTIFYs and write id, COMMIT; retried as a whole. */
  #write<T>(what: string, body: (q: Query) => Promise<T>, options: WriteOptions<T> = {}): Promise<T> {
    const writeId = options.idempotent ? randomUUID() : undefined;
    let outcomeUnknown = false;
    return this.#retrying(
      what,
      async () => {
        const client = await this.#pool.connect();
        // A checked-out client's error is not forwarded to the pool (node-postgres #3202): the query in flight fails with it.
        const onError = (error: Error): void => this.#log(`store: connection lost during ${what} (${describePgError(error)})`);
        client.on('error', onError);
        let broken: Error | undefined;
        try {
          const q = queryOn(client);
          if (writeId && outcomeUnknown) {
            const done = (await q<{ result: T }>(SQL.findWrite, [writeId])).rows[0];
            if (done) return done.result;
          }
          await q(SQL.begin);
          await q(SQL.timeouts, [`${this.#options.lockTimeoutMs}ms`, `${this.#options.idleInTransactionTimeoutMs}ms`]);
          let result: T;
          try {
            result = await body(q);
            for (const [channel, payload] of options.notify?.(result) ?? []) await q(SQL.notify, [channel, payload]);
            if (writeId) await q(SQL.recordWrite, [writeId, JSON.stringify(result ?? null)]);
          } catch (error) {
            await q(SQL.rollback).catch(() => undefined);
            throw error;
          }
          await q(SQL.commit);
          return result;
        } catch (error) {
          if (isConnectionFailure(error)) {
            outcomeUnknown = true;
            broken = error as Error;
          }
          throw error;
        } finally {
          client.off('error', onError);
          client.release(broken);
        }
      },
      (error, tries) => options.retryUniqueViolation === true && tries === 0 && (error as { code?: string }).code === '23505',
    );
  }
}

function queryOn(client: PoolClient): Query {
  return <R extends QueryResultRow>(statement: Statement, values: readonly unknown[] = []) =>
    client.query<R>({ name: statement.name, text: statement.text, values: [...values] });
}

