-- Leases, so that several orchestrator instances share the moves
-- (store/leases.ts, postgres-workers.md s5): each move gets an owner, a lease
-- end and an epoch (the fencing token, bumped by every claim); one leader
-- lease per pool for the SPM poller and the poller's last status; a row per
-- pool that a placeholder write locks, so the shared submission window is
-- counted by one writer at a time. Additive: an older engine-move ignores it.
-- Lease times are the database's clock (timestamptz from now()).

ALTER TABLE moves
  ADD COLUMN owner text,
  ADD COLUMN epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  ADD COLUMN lease_until timestamptz;

-- Claims scan the moves not done, oldest first.
CREATE INDEX moves_claimable ON moves (created_at, move_id) WHERE state <> 'done';
-- The shared submission window counts a pool's tasks in flight.
CREATE INDEX tasks_in_flight_by_pool ON tasks (pool_id) WHERE state IN ('placeholder', 'running');

CREATE TABLE pool_leases (
  pool_id     text PRIMARY KEY,
  owner       text,
  epoch       bigint NOT NULL CHECK (epoch >= 1),
  lease_until timestamptz NOT NULL
);

CREATE TABLE pool_status (
  pool_id   text PRIMARY KEY,
  epoch     bigint NOT NULL,
  polled_at bigint NOT NULL,
  seq       bigint NOT NULL,
  body      jsonb NOT NULL
);

CREATE TABLE pool_windows (
  pool_id text PRIMARY KEY
);
