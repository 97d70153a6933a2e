/**
 * The one home of the fake's SQL schema: every table, in migrations ordered by
 * version (`PRAGMA user_version` says which ones a state file already has).
 *
 * Add a change as a NEW migration at the end; never edit a released one, or an
 * existing state folder and a fresh one would disagree.
 *
 * Columns the brief marks `NULL` are nullable; the model's other columns are
 * `NOT NULL` (a NULL would slip past `CHECK (x IN (...))`). The `tasks` and
 * `locks` tables belong to the task manager (tasks/) and are exactly as agreed.
 */

/** One step of the schema. */
export interface Migration {
  /** The `user_version` the database has after this step (1, 2, ... without gaps). */
  readonly version: number;
  readonly description: string;
  /** DDL run with `db.exec` inside the migration's transaction. */
  readonly sql: string;
}

const V1_SQL = `
-- A storage pool (a data centre). lver -1 is LVER_INVALID; spm_host_id NULL: no SPM.
CREATE TABLE pools (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  master_domain_id TEXT NOT NULL,
  master_version   INT  NOT NULL,
  spm_host_id      INT  NULL,
  lver             INT  NOT NULL
) STRICT;

-- A host, by VDSM host id (1..N); pool_id NULL: not connected to a pool.
CREATE TABLE hosts (
  id      INT  PRIMARY KEY,
  uuid    TEXT NOT NULL UNIQUE,
  name    TEXT NOT NULL,
  pool_id TEXT NULL REFERENCES pools (id)
) STRICT;

-- A storage domain: file (NFS-like) or block (iSCSI-like, 128 MiB extents).
-- Free space is derived from the volumes (model/space.ts), never stored.
CREATE TABLE domains (
  id         TEXT PRIMARY KEY,
  pool_id    TEXT NOT NULL REFERENCES pools (id),
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('file', 'block')),
  type       TEXT NOT NULL,                           -- NFS | ISCSI | ...
  class      TEXT NOT NULL,                           -- Data | Iso | Backup
  role       TEXT NOT NULL,                           -- Master | Regular
  status     TEXT NOT NULL,                           -- Active | Attached | ...
  version    INT  NOT NULL,
  capacity   INT  NOT NULL,                           -- bytes
  block_size INT  NOT NULL,
  discard    INT  NOT NULL CHECK (discard IN (0, 1)), -- 1: supports discard
  reachable  INT  NOT NULL DEFAULT 1 CHECK (reachable IN (0, 1))
) STRICT;

-- A volume. The key is (domain, volume): during a copy the same volume UUID
-- lives on the source and on the target domain.
CREATE TABLE volumes (
  domain_id   TEXT NOT NULL REFERENCES domains (id),
  id          TEXT NOT NULL,
  image_id    TEXT NOT NULL,
  parent_id   TEXT NOT NULL,                           -- BLANK_UUID when none
  format      INT  NOT NULL CHECK (format IN (4, 5)),  -- 4 COW, 5 RAW
  allocation  INT  NOT NULL CHECK (allocation IN (1, 2)), -- 1 preallocated, 2 sparse
  role        INT  NOT NULL CHECK (role IN (6, 7, 8)), -- shared, internal, leaf
  disk_type   TEXT NOT NULL DEFAULT 'DATA',
  capacity    INT  NOT NULL,                           -- bytes
  legality    TEXT NOT NULL CHECK (legality IN ('LEGAL', 'ILLEGAL', 'FAKE')),
  generation  INT  NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  ctime       INT  NOT NULL,                           -- seconds since the epoch
  removed     INT  NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)), -- 1: renamed _remove_me_
  PRIMARY KEY (domain_id, id)
) STRICT;

-- Image listings and chains read the volumes of one image on one domain.
CREATE INDEX volumes_by_image ON volumes (domain_id, image_id);

-- VDSM's tasks (tasks/task-repo.ts). state is the internal state name,
-- job is JSON {kind, params}, recovery is JSON: what a rollback must undo.
CREATE TABLE tasks (
  id       TEXT PRIMARY KEY,
  pool_id  TEXT,
  verb     TEXT,
  tag      TEXT,
  state    TEXT,
  code     INT DEFAULT 0,
  message  TEXT,
  job      TEXT,
  progress REAL DEFAULT 0,
  recovery TEXT,
  created  INT,
  updated  INT
) STRICT;

-- Resource locks held by tasks (tasks/resource-locks.ts); owner is a task id.
CREATE TABLE locks (
  namespace TEXT,
  name      TEXT,
  mode      TEXT CHECK (mode IN ('shared', 'exclusive')),
  owner     TEXT,
  PRIMARY KEY (namespace, name, owner)
) STRICT;
`;

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'pools, hosts, domains, volumes, tasks, locks', sql: V1_SQL },
];

/** The `user_version` of a state database this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
