-- The move store's first schema on PostgreSQL: the same tables as
-- migrations/sqlite/0001-initial.sql (disks, volumes, moves, phases, tasks,
-- compensation, leftovers, audit), with PostgreSQL's types. Times of the
-- orchestrator are bigint milliseconds, as on SQLite, so both stores return
-- the same records. Plus store_writes: the ids of committed writes, so that a
-- write retried after its connection died at COMMIT (outcome unknown) is
-- recognised as done instead of being applied twice or refused as stale.

CREATE TABLE disks (
  disk_id text PRIMARY KEY,
  pool_id text NOT NULL
);

CREATE TABLE volumes (
  disk_id   text NOT NULL REFERENCES disks (disk_id),
  volume_id text NOT NULL,
  domain_id text NOT NULL,
  status    text NOT NULL CHECK (status IN ('OK', 'LOCKED', 'ILLEGAL')),
  parent_id text,
  position  integer NOT NULL CHECK (position >= 0),
  PRIMARY KEY (disk_id, volume_id),
  UNIQUE (disk_id, position)
);

CREATE TABLE moves (
  move_id           text PRIMARY KEY,
  pool_id           text NOT NULL,
  disk_id           text NOT NULL REFERENCES disks (disk_id),
  src_domain_id     text NOT NULL,
  dst_domain_id     text NOT NULL,
  wipe_after_delete boolean NOT NULL,
  discard           boolean NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('copy-delete', 'legacy')),
  state             text NOT NULL CHECK (state IN ('queued', 'copy-submitting', 'copying',
                      'source-delete-submitting', 'deleting-source', 'target-delete-submitting',
                      'deleting-target', 'legacy-submitting', 'legacy-moving', 'done')),
  result            text CHECK (result IN ('moved', 'failed', 'cancelled')),
  failed_phase      text CHECK (failed_phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  error_code        integer,
  error_message     text,
  cancel_requested  boolean NOT NULL DEFAULT false,
  created_at        bigint NOT NULL,
  available_at      bigint,
  done_at           bigint,
  version           bigint NOT NULL DEFAULT 1,
  CHECK ((state = 'done') = (result IS NOT NULL)),
  CHECK (src_domain_id <> dst_domain_id)
);

-- The guard against a second move of a disk already moving (engine-move.md s5 row 4).
CREATE UNIQUE INDEX moves_one_active_per_disk ON moves (disk_id) WHERE state <> 'done';
CREATE INDEX moves_by_state ON moves (state);

CREATE TABLE phases (
  move_id       text NOT NULL REFERENCES moves (move_id),
  phase         text NOT NULL CHECK (phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  started_at    bigint NOT NULL,
  ended_at      bigint,
  outcome       text CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
  error_code    integer,
  error_message text,
  -- Insertion order, for phases started at the same time (SQLite's rowid).
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (move_id, phase)
);

CREATE TABLE tasks (
  move_id      text NOT NULL REFERENCES moves (move_id),
  phase        text NOT NULL CHECK (phase IN ('copy', 'delete-source', 'delete-target', 'legacy-move')),
  pool_id      text NOT NULL,
  verb         text NOT NULL,
  domain_id    text NOT NULL,
  image_id     text NOT NULL,
  vdsm_task_id text,
  state        text NOT NULL CHECK (state IN ('placeholder', 'running', 'ended', 'cleared')),
  created_at   bigint NOT NULL,
  ended_at     bigint,
  end_code     integer,
  end_message  text,
  PRIMARY KEY (move_id, phase),
  CHECK ((state = 'placeholder') = (vdsm_task_id IS NULL))
);
CREATE INDEX tasks_by_state ON tasks (state);

CREATE TABLE compensation (
  move_id         text NOT NULL REFERENCES moves (move_id),
  disk_id         text NOT NULL,
  volume_id       text NOT NULL,
  previous_status text NOT NULL CHECK (previous_status IN ('OK', 'LOCKED', 'ILLEGAL')),
  PRIMARY KEY (move_id, volume_id),
  FOREIGN KEY (disk_id, volume_id) REFERENCES volumes (disk_id, volume_id)
);

CREATE TABLE leftovers (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  move_id     text NOT NULL REFERENCES moves (move_id),
  domain_id   text NOT NULL,
  image_id    text NOT NULL,
  reason      text NOT NULL,
  recorded_at bigint NOT NULL
);

CREATE TABLE audit (
  seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       bigint NOT NULL,
  type     integer NOT NULL CHECK (type IN (2008, 2009, 2010, 2011, 2025, 2026, 2053, 9500, 9501)),
  severity text NOT NULL CHECK (severity IN ('normal', 'warning', 'error')),
  move_id  text REFERENCES moves (move_id),
  disk_id  text,
  message  text NOT NULL
);
CREATE INDEX audit_by_move ON audit (move_id, seq);

CREATE TABLE store_writes (
  write_id     uuid PRIMARY KEY,
  committed_at timestamptz NOT NULL DEFAULT now(),
  -- What the write returned, so that its retry returns the same.
  result       jsonb
);
CREATE INDEX store_writes_by_age ON store_writes (committed_at);
