-- A posting's history and browsing it.
--
-- Which runs changed a posting: the run that first stored it (`first_run_id`, kept on the row so a first run writes
-- one row per posting), and a row per later change: its content changed, it was seen again after it had expired or
-- failed (same content), or it expired. The UPSERT and the expiry write these rows in their own statements, in the
-- company's transaction.
ALTER TABLE postings ADD COLUMN first_run_id UUID;
-- Rows stored before this migration: the earliest run known is the last that changed them.
UPDATE postings SET first_run_id = run_id;
ALTER TABLE postings ALTER COLUMN first_run_id SET NOT NULL;

CREATE TABLE posting_changes (
    posting_id BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    run_id     UUID NOT NULL,
    change     TEXT NOT NULL CHECK (change IN ('changed', 'seen_again', 'expired')),
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (posting_id, run_id, change)
);
-- What a run inserted or changed: its new postings by first_run_id, its changed ones here.
CREATE INDEX posting_changes_run ON posting_changes (run_id, posting_id) WHERE change = 'changed';
CREATE INDEX postings_first_run ON postings (first_run_id);

-- Browsing a user's postings: newest first (the default order), and by title. Neither column moves when a run sees
-- an unchanged posting again, so that update (`last_seen_at`) stays a HOT update: no index on `last_seen_at`.
CREATE INDEX postings_user_first_seen ON postings (user_id, first_seen_at DESC, id DESC);
CREATE INDEX postings_user_title ON postings (user_id, title, id);
-- The postings a job flagged (the listing's `job_id` filter); by label, `entity_flags_user_label` serves.
CREATE INDEX entity_flags_job ON entity_flags (job_id, entity_id) WHERE flag;
