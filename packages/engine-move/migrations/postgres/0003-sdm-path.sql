-- The SDM copy path (issue 12): what the user asked for the copy (path auto,
-- sdm or spm; hosts never to copy on; retries of a failed host job), the path
-- the move took, and one row per host job, written as a placeholder
-- {job_id, host, generation} BEFORE SDM.copy_data is sent, so a restart
-- resumes the job (Host.getJobs on that host, then the volume itself) and
-- never copies again on a guess. Additive: an older engine-move ignores it.

ALTER TABLE moves
  ADD COLUMN copy_path_requested text NOT NULL DEFAULT 'auto' CHECK (copy_path_requested IN ('auto', 'sdm', 'spm')),
  ADD COLUMN exclude_hosts text NOT NULL DEFAULT '[]',
  ADD COLUMN copy_retries integer NOT NULL DEFAULT 0 CHECK (copy_retries >= 0),
  ADD COLUMN copy_path text CHECK (copy_path IN ('sdm', 'spm'));

CREATE TABLE sdm_jobs (
  job_id      text PRIMARY KEY,
  move_id     text NOT NULL REFERENCES moves (move_id),
  volume_id   text NOT NULL,
  position    integer NOT NULL CHECK (position >= 0),
  host        text NOT NULL,
  generation  integer NOT NULL CHECK (generation BETWEEN 0 AND 999),
  attempt     integer NOT NULL CHECK (attempt >= 0),
  state       text NOT NULL CHECK (state IN ('placeholder', 'running', 'ended')),
  created_at  bigint NOT NULL,
  ended_at    bigint,
  end_code    integer,
  end_message text,
  UNIQUE (move_id, position, attempt)
);
-- The host choice counts each host's jobs in flight, of every move.
CREATE INDEX sdm_jobs_in_flight ON sdm_jobs (host) WHERE state IN ('placeholder', 'running');
CREATE INDEX sdm_jobs_by_move ON sdm_jobs (move_id, position, attempt);
