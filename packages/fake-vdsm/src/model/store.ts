/**
 * Typed access to pools, hosts, domains and volumes. Every statement is
 * prepared once, in the constructor; the methods only bind and map. The
 * `tasks` and `locks` tables are the task manager's (tasks/task-repo.ts).
 */
import type { Statement } from 'better-sqlite3';
import type { StateDatabase } from './db.js';
import {
  domainFromRow,
  domainToRow,
  hostFromRow,
  hostToRow,
  poolFromRow,
  poolToRow,
  volumeFromRow,
  volumePatchToRow,
  volumeToRow,
} from './records.js';
import type {
  DomainRecord,
  DomainRow,
  HostRecord,
  HostRow,
  PoolRecord,
  PoolRow,
  VolumePatch,
  VolumePatchRow,
  VolumeRecord,
  VolumeRow,
} from './records.js';

/** Which volumes a listing returns. */
export interface VolumeListOptions {
  /**
   * Also list volumes of deleted images not purged yet (`removed`). Default
   * false: VDSM's listings no longer show an image once it is renamed
   * `_remove_me_`; purge and recovery code asks for them explicitly.
   */
  readonly includeRemoved?: boolean;
}

const POOL_COLUMNS = 'id, name, master_domain_id, master_version, spm_host_id, lver';
const HOST_COLUMNS = 'id, uuid, name, pool_id';
const DOMAIN_COLUMNS =
  'id, pool_id, name, kind, type, class, role, status, version, capacity, block_size, discard, reachable';
const VOLUME_COLUMNS =
  'domain_id, id, image_id, parent_id, format, allocation, role, disk_type, capacity, legality, generation, description, ctime, removed';

/** `@a, @b, ...` for a column list. */
function namedParams(columns: string): string {
  return columns
    .split(', ')
    .map((column) => `@${column}`)
    .join(', ');
}

/** `a = excluded.a, ...` for an upsert of every column but the key. */
function updateFromExcluded(columns: string, key: string): string {
  return columns
    .split(', ')
    .filter((column) => column !== key)
    .map((column) => `${column} = excluded.${column}`)
    .join(', ');
}

/** The fake's persistent model over one state database (see `openStateDatabase`). */
export class StateStore {
  readonly #db: StateDatabase;

  readonly #getPool: Statement<[string], PoolRow>;
  readonly #listPools: Statement<[], PoolRow>;
  readonly #upsertPool: Statement<[PoolRow]>;
  readonly #setSpm: Statement<[{ id: string; spm_host_id: number | null; lver: number }]>;

  readonly #getHost: Statement<[number], HostRow>;
  readonly #listHosts: Statement<[], HostRow>;
  readonly #listHostsOfPool: Statement<[string], HostRow>;
  readonly #upsertHost: Statement<[HostRow]>;

  readonly #getDomain: Statement<[string], DomainRow>;
  readonly #listDomains: Statement<[], DomainRow>;
  readonly #listDomainsOfPool: Statement<[string], DomainRow>;
  readonly #upsertDomain: Statement<[DomainRow]>;

  readonly #getVolume: Statement<[string, string], VolumeRow>;
  // The last parameter is the highest `removed` value listed: 0 hides removed volumes, 1 shows them.
  readonly #listDomainVolumes: Statement<[string, number], VolumeRow>;
  readonly #listImageVolumes: Statement<[string, string, number], VolumeRow>;
  readonly #listImages: Statement<[string, number], string>;
  readonly #insertVolume: Statement<[VolumeRow]>;
  readonly #updateVolume: Statement<[VolumePatchRow]>;
  readonly #deleteVolume: Statement<[string, string]>;
  readonly #deleteImageRows: Statement<[string, string]>;

  constructor(db: StateDatabase) {
    this.#db = db;

    this.#getPool = db.prepare(`SELECT ${POOL_COLUMNS} FROM pools WHERE id = ?`);
    this.#listPools = db.prepare(`SELECT ${POOL_COLUMNS} FROM pools ORDER BY id`);
    this.#upsertPool = db.prepare(
      `INSERT INTO pools (${POOL_COLUMNS}) VALUES (${namedParams(POOL_COLUMNS)})
       ON CONFLICT (id) DO UPDATE SET ${updateFromExcluded(POOL_COLUMNS, 'id')}`,
    );
    this.#setSpm = db.prepare('UPDATE pools SET spm_host_id = @spm_host_id, lver = @lver WHERE id = @id');

    this.#getHost = db.prepare(`SELECT ${HOST_COLUMNS} FROM hosts WHERE id = ?`);
    this.#listHosts = db.prepare(`SELECT ${HOST_COLUMNS} FROM hosts ORDER BY id`);
    this.#listHostsOfPool = db.prepare(`SELECT ${HOST_COLUMNS} FROM hosts WHERE pool_id = ? ORDER BY id`);
    this.#upsertHost = db.prepare(
      `INSERT INTO hosts (${HOST_COLUMNS}) VALUES (${namedParams(HOST_COLUMNS)})
       ON CONFLICT (id) DO UPDATE SET ${updateFromExcluded(HOST_COLUMNS, 'id')}`,
    );

    this.#getDomain = db.prepare(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE id = ?`);
    this.#listDomains = db.prepare(`SELECT ${DOMAIN_COLUMNS} FROM domains ORDER BY id`);
    this.#listDomainsOfPool = db.prepare(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE pool_id = ? ORDER BY id`);
    this.#upsertDomain = db.prepare(
      `INSERT INTO domains (${DOMAIN_COLUMNS}) VALUES (${namedParams(DOMAIN_COLUMNS)})
       ON CONFLICT (id) DO UPDATE SET ${updateFromExcluded(DOMAIN_COLUMNS, 'id')}`,
    );

    this.#getVolume = db.prepare(`SELECT ${VOLUME_COLUMNS} FROM volumes WHERE domain_id = ? AND id = ?`);
    this.#listDomainVolumes = db.prepare(
      `SELECT ${VOLUME_COLUMNS} FROM volumes WHERE domain_id = ? AND removed <= ? ORDER BY image_id, id`,
    );
    this.#listImageVolumes = db.prepare(
      `SELECT ${VOLUME_COLUMNS} FROM volumes WHERE domain_id = ? AND image_id = ? AND removed <= ? ORDER BY id`,
    );
    this.#listImages = db
      .prepare<[string, number], string>(
        'SELECT DISTINCT image_id FROM volumes WHERE domain_id = ? AND removed <= ? ORDER BY image_id',
      )
      .pluck();
    this.#insertVolume = db.prepare(`INSERT INTO volumes (${VOLUME_COLUMNS}) VALUES (${namedParams(VOLUME_COLUMNS)})`);
    // One statement for every patch: a NULL parameter keeps the column (no volume column is nullable).
    this.#updateVolume = db.prepare(
      `UPDATE volumes SET
         parent_id = COALESCE(@parent_id, parent_id),
         format = COALESCE(@format, format),
         allocation = COALESCE(@allocation, allocation),
         role = COALESCE(@role, role),
         disk_type = COALESCE(@disk_type, disk_type),
         capacity = COALESCE(@capacity, capacity),
         legality = COALESCE(@legality, legality),
         generation = COALESCE(@generation, generation),
         description = COALESCE(@description, description),
         removed = COALESCE(@removed, removed)
       WHERE domain_id = @domain_id AND id = @id`,
    );
    this.#deleteVolume = db.prepare('DELETE FROM volumes WHERE domain_id = ? AND id = ?');
    this.#deleteImageRows = db.prepare('DELETE FROM volumes WHERE domain_id = ? AND image_id = ?');
  }

  // ---- pools ----

  /** The pool `id`, or undefined. */
  getPool(id: string): PoolRecord | undefined {
    const row = this.#getPool.get(id);
    return row && poolFromRow(row);
  }

  /** Every pool, by id. */
  listPools(): PoolRecord[] {
    return this.#listPools.all().map(poolFromRow);
  }

  /** Inserts the pool or replaces every field of the one with its id. */
  upsertPool(pool: PoolRecord): void {
    this.#upsertPool.run(poolToRow(pool));
  }

  /**
   * Records who holds the SPM role (`hostId` null: nobody) and the lease version.
   *
   * @returns false when the pool does not exist.
   */
  setSpm(poolId: string, hostId: number | null, lver: number): boolean {
    return this.#setSpm.run({ id: poolId, spm_host_id: hostId, lver }).changes > 0;
  }

  // ---- hosts ----

  /** The host with VDSM host id `id`, or undefined. */
  getHost(id: number): HostRecord | undefined {
    const row = this.#getHost.get(id);
    return row && hostFromRow(row);
  }

  /** The pool whose SPM host `id` is now, or undefined (connected to no pool, or another host holds the role). */
  spmPoolOf(id: number): string | undefined {
    const poolId = this.getHost(id)?.poolId ?? undefined;
    return poolId !== undefined && this.getPool(poolId)?.spmHostId === id ? poolId : undefined;
  }

  /** Every host by id, or those connected to `poolId`. */
  listHosts(poolId?: string): HostRecord[] {
    const rows = poolId === undefined ? this.#listHosts.all() : this.#listHostsOfPool.all(poolId);
    return rows.map(hostFromRow);
  }

  /** Inserts the host or replaces every field of the one with its id (its uuid must stay unique). */
  upsertHost(host: HostRecord): void {
    this.#upsertHost.run(hostToRow(host));
  }

  // ---- domains ----

  /** The domain `id`, or undefined. */
  getDomain(id: string): DomainRecord | undefined {
    const row = this.#getDomain.get(id);
    return row && domainFromRow(row);
  }

  /** Every domain by id, or those of `poolId`. */
  listDomains(poolId?: string): DomainRecord[] {
    const rows = poolId === undefined ? this.#listDomains.all() : this.#listDomainsOfPool.all(poolId);
    return rows.map(domainFromRow);
  }

  /** Inserts the domain or replaces every field of the one with its id (its pool must exist). */
  upsertDomain(domain: DomainRecord): void {
    this.#upsertDomain.run(domainToRow(domain));
  }

  // ---- volumes ----

  /** The volume `volumeId` on `domainId`, removed or not (check `removed`). */
  getVolume(domainId: string, volumeId: string): VolumeRecord | undefined {
    const row = this.#getVolume.get(domainId, volumeId);
    return row && volumeFromRow(row);
  }

  /** The volumes of a domain (ordered by image, then id), or of one image on it (by id). */
  listVolumes(domainId: string, imageId?: string, options: VolumeListOptions = {}): VolumeRecord[] {
    const maxRemoved = options.includeRemoved ? 1 : 0;
    const rows =
      imageId === undefined
        ? this.#listDomainVolumes.all(domainId, maxRemoved)
        : this.#listImageVolumes.all(domainId, imageId, maxRemoved);
    return rows.map(volumeFromRow);
  }

  /** The ids of the images with volumes on a domain, sorted. */
  listImages(domainId: string, options: VolumeListOptions = {}): string[] {
    return this.#listImages.all(domainId, options.includeRemoved ? 1 : 0);
  }

  /**
   * Adds a volume row.
   *
   * @throws SqliteError `SQLITE_CONSTRAINT_PRIMARYKEY` when the domain already
   *   has a volume with this id; `SQLITE_CONSTRAINT_FOREIGNKEY` for an unknown domain.
   */
  insertVolume(volume: VolumeRecord): void {
    this.#insertVolume.run(volumeToRow(volume));
  }

  /**
   * Changes the fields in `patch`; absent fields keep their value.
   *
   * @returns false when there is no such volume.
   */
  updateVolume(domainId: string, volumeId: string, patch: VolumePatch): boolean {
    return this.#updateVolume.run(volumePatchToRow(domainId, volumeId, patch)).changes > 0;
  }

  /** @returns false when there was no such volume. */
  deleteVolume(domainId: string, volumeId: string): boolean {
    return this.#deleteVolume.run(domainId, volumeId).changes > 0;
  }

  /** Deletes every volume row of an image on a domain (removed ones included). @returns how many. */
  deleteImageRows(domainId: string, imageId: string): number {
    return this.#deleteImageRows.run(domainId, imageId).changes;
  }

  // ---- transactions ----

  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when
   * it throws (the error is re-thrown). `fn` must be synchronous; do file I/O
   * before or after, never inside. Nested calls become savepoints. IMMEDIATE,
   * so a second connection on the same file waits for the write lock up
   * front instead of failing half-way with SQLITE_BUSY.
   */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }
}
