-- The SDM copy path (issue 12): what the user asked for the copy (path auto,
-- sdm or spm; hosts never to copy on; retries of a failed host job), the path
-- the move took, and one row per host job, written as a placeholder
-- {job_id, host, generation} BEFORE SDM.copy_data is sent, so a restart
-- resumes the job (Host.getJobs on that host, then the volume itself) and
-- never copies again on a guess. Additive: an older engine-move ignores it.

ALTER TABLE moves ADD COLUMN copy_path_requested TEXT NOT NULL DEFAULT 'auto' CHECK (copy_path_requested IN ('auto', 'sdm', 'spm'));
ALTER TABLE moves ADD COLUMN exclude_hosts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE moves ADD COLUMN copy_retries INTEGER NOT NULL DEFAULT 0 CHECK (copy_retries >= 0);
ALTER TABLE moves ADD COLUMN copy_path TEXT CHECK (copy_path IN ('sdm', 'spm'));

CREATE TABLE sdm_jobs (
  job_id      TEXT PRIMARY KEY,
  move_id     TEXT NOT NULL REFERENCES moves (move_id),
  volume_id   TEXT NOT NULL,
  position    INTEGER NOT NULL CHECK (position >= 0),
  host        TEXT NOT NULL,
  generation  INTEGER NOT NULL CHECK (generation BETWEEN 0 AND 999),
  attempt     INTEGER NOT NULL CHECK (attempt >= 0),
  state       TEXT NOT NULL CHECK (state IN ('placeholder', 'running', 'ended')),
  created_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  end_code    INTEGER,
  end_message TEXT,
  UNIQUE (move_id, position, attempt)
) STRICT;
-- The host choice counts each host's jobs in flight, of every move.
CREATE INDEX sdm_jobs_in_flight ON sdm_jobs (host) WHERE state IN ('placeholder', 'running');
CREATE INDEX sdm_jobs_by_move ON sdm_jobs (move_id, position, attempt);
