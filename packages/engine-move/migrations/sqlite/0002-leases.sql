-- Leases, so that several processes can share one store (store/leases.ts):
-- each move gets an owner, a lease end and an epoch (the fencing token, bumped
-- by every claim); one leader lease per pool for the SPM poller, and the
-- poller's last status. Additive: an older engine-move ignores the new columns.
-- Lease times are milliseconds on the system clock (SQLite serves one machine).

ALTER TABLE moves ADD COLUMN owner TEXT;
ALTER TABLE moves ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0);
ALTER TABLE moves ADD COLUMN lease_until INTEGER;

-- Claims scan the moves not done, oldest first.
CREATE INDEX moves_claimable ON moves (created_at, move_id) WHERE state <> 'done';
-- The shared submission window counts a pool's tasks in flight.
CREATE INDEX tasks_in_flight_by_pool ON tasks (pool_id) WHERE state IN ('placeholder', 'running');

CREATE TABLE pool_leases (
  pool_id     TEXT PRIMARY KEY,
  owner       TEXT,
  epoch       INTEGER NOT NULL CHECK (epoch >= 1),
  lease_until INTEGER NOT NULL
) STRICT;

CREATE TABLE pool_status (
  pool_id   TEXT PRIMARY KEY,
  epoch     INTEGER NOT NULL,
  polled_at INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  body      TEXT NOT NULL
) STRICT;
