-- Standing screens: a user's screening rules, each judging what every finished run of the user found new or changed.
CREATE TABLE screens (
    id           UUID PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    instructions TEXT NOT NULL,
    model        TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('background', 'batch')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Removal is soft: its jobs, and the decisions they applied, stay.
    deleted_at   TIMESTAMPTZ
);
CREATE INDEX screens_user ON screens (user_id, created_at) WHERE deleted_at IS NULL;

-- A job a screen started for a run: written in the transaction that finishes the run, once per screen and run.
ALTER TABLE llm_jobs ADD COLUMN screen_id UUID REFERENCES screens (id), ADD COLUMN run_id UUID;
CREATE UNIQUE INDEX llm_jobs_screen_run ON llm_jobs (screen_id, run_id) WHERE screen_id IS NOT NULL;
CREATE INDEX llm_jobs_run ON llm_jobs (run_id) WHERE run_id IS NOT NULL;
-- What a screen has judged: a posting's items (a screen judges it again once its content changed after them).
CREATE INDEX llm_job_items_entity ON llm_job_items (entity_id);
-- A run's end looks for the ready postings whose content changed since a screen was added.
CREATE INDEX postings_user_content_changed ON postings (user_id, content_changed_at) WHERE status = 'ready';
