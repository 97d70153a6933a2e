-- Audit pages (listAudit with afterSeq) never skip an entry. seq is taken
-- from an identity sequence when a row is inserted, not when it commits: a
-- transaction holding seq 7 can commit after another's seq 8, and a reader
-- that had paged past 8 would never see 7. Each row keeps the id of the
-- transaction that wrote it, and a page shows only rows written by
-- transactions older than every one still running (pg_snapshot_xmin), so it
-- ends before the first entry a lower one could still join (the technique
-- of transactional outboxes).
ALTER TABLE audit ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
