-- The move store's first schema. One row per disk and per volume (the
-- volume-to-domain mapping and each volume's status), per move and per phase,
-- one task row per phase (written as a placeholder before the VDSM call),
-- compensation (the statuses a move's lock replaced), leftovers, audit log.
-- STRICT tables and CHECKs keep a bad value out even if code forgets.

CREATE TABLE disks (
  disk_id TEXT PRIMARY KEY,
  pool_id TEXT NOT NULL
) STRICT;

CREATE TABLE volumes (
  disk_id   TEXT NOT NULL REFERENCES disks (disk_id),
  volume_id TEXT NOT NULL,
  domain_id TEXT NOT NULL,
  status    TEXT NOT NULL CHECK (status IN ('OK', 'LOCKED', 'ILLEGAL')),
  parent_id TEXT,
  position  INTEGER NOT NULL CHECK (position >= 0),
  PRIMARY KEY (disk_id, volume_id),
  UNIQUE (disk_id, position)
) STRICT;

CREATE TABLE moves (
  move_id           TEXT PRIMARY KEY,
  pool_id           TEXT NOT NULL,
  disk_id           TEXT NOT NULL REFERENCES disks (disk_id),
  src_domain_id     TEXT NOT NULL,
  dst_domain_id     TEXT NOT NULL,
  wipe_after_delete INTEGER NOT NULL CHECK (wipe_after_delete IN (0, 1)),
  discard           INTEGER NOT NULL CHECK (discard IN (0, 1)),
  mode              TEXT NOT NULL CHECK (mode IN ('copy-delete', 'legacy')),
  state             TEXT NOT NULL CHECK (state IN ('queued', 'copy-submitting', 'copying',
                      'source-delete-submitting', 'deleting-source', 'target-delete-submitting',
                      'deleting-target', 'legacy-submitting', 'legacy-moving', 'done')),
  result            TEXT CHECK (result IN ('moved', 'failed', 'cancelled')),
  failed_phase      TEXT CHECK (failed_phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  error_code        INTEGER,
  error_message     TEXT,
  cancel_requested  INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  created_at        INTEGER NOT NULL,
  available_at      INTEGER,
  done_at           INTEGER,
  version           INTEGER NOT NULL DEFAULT 1,
  CHECK ((state = 'done') = (result IS NOT NULL)),
  CHECK (src_domain_id <> dst_domain_id)
) STRICT;

-- The guard against a second move of a disk already moving (engine-move.md s5 row 4).
CREATE UNIQUE INDEX moves_one_active_per_disk ON moves (disk_id) WHERE state <> 'done';
CREATE INDEX moves_by_state ON moves (state);

CREATE TABLE phases (
  move_id       TEXT NOT NULL REFERENCES moves (move_id),
  phase         TEXT NOT NULL CHECK (phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  outcome       TEXT CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
  error_code    INTEGER,
  error_message TEXT,
  PRIMARY KEY (move_id, phase)
) STRICT;

CREATE TABLE tasks (
  move_id      TEXT NOT NULL REFERENCES moves (move_id),
  phase        TEXT NOT NULL CHECK (phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  pool_id      TEXT NOT NULL,
  verb         TEXT NOT NULL,
  domain_id    TEXT NOT NULL,
  image_id     TEXT NOT NULL,
  vdsm_task_id TEXT,
  state        TEXT NOT NULL CHECK (state IN ('placeholder', 'running', 'ended', 'cleared')),
  created_at   INTEGER NOT NULL,
  ended_at     INTEGER,
  end_code     INTEGER,
  end_message  TEXT,
  PRIMARY KEY (move_id, phase),
  CHECK ((state = 'placeholder') = (vdsm_task_id IS NULL))
) STRICT;
CREATE INDEX tasks_by_state ON tasks (state);

CREATE TABLE compensation (
  move_id         TEXT NOT NULL REFERENCES moves (move_id),
  disk_id         TEXT NOT NULL,
  volume_id       TEXT NOT NULL,
  previous_status TEXT NOT NULL CHECK (previous_status IN ('OK', 'LOCKED', 'ILLEGAL')),
  PRIMARY KEY (move_id, volume_id),
  FOREIGN KEY (disk_id, volume_id) REFERENCES volumes (disk_id, volume_id)
) STRICT;

CREATE TABLE leftovers (
  id          INTEGER PRIMARY KEY,
  move_id     TEXT NOT NULL REFERENCES moves (move_id),
  domain_id   TEXT NOT NULL,
  image_id    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  type     INTEGER NOT NULL CHECK (type IN (2008, 2009, 2010, 2011, 2025, 2026, 2053, 9500, 9501)),
  severity TEXT NOT NULL CHECK (severity IN ('normal', 'warning', 'error')),
  move_id  TEXT REFERENCES moves (move_id),
  disk_id  TEXT,
  message  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_move ON audit (move_id, seq);
