-- LLM jobs: one question asked of OpenAI about each of many entities (items); decisions land as entity flags.

CREATE TABLE llm_jobs (
    id                  UUID PRIMARY KEY,
    user_id             TEXT NOT NULL,
    name                TEXT NOT NULL,
    model               TEXT NOT NULL,
    instructions        TEXT NOT NULL,
    mode                TEXT NOT NULL CHECK (mode IN ('background', 'batch')),
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'submitting', 'running', 'completed', 'failed', 'cancelled')),
    -- Aggregates: items per status, kept in the transactions that change items.
    items_total         INTEGER NOT NULL DEFAULT 0,
    items_pending       INTEGER NOT NULL DEFAULT 0,
    items_submitted     INTEGER NOT NULL DEFAULT 0,
    items_completed     INTEGER NOT NULL DEFAULT 0,
    items_failed        INTEGER NOT NULL DEFAULT 0,
    items_cancelled     INTEGER NOT NULL DEFAULT 0,
    items_expired       INTEGER NOT NULL DEFAULT 0,
    flags_applied       INTEGER NOT NULL DEFAULT 0,
    -- Batch mode: the uploaded input file and the OpenAI batch.
    input_file_id       TEXT,
    batch_id            TEXT,
    next_poll_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Background mode: submitted items the next poll asks about, from what the last poll found finished.
    poll_budget         INTEGER NOT NULL DEFAULT 0,
    lease_owner         UUID,
    lease_until         TIMESTAMPTZ,
    cancel_requested_at TIMESTAMPTZ,
    error               TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at         TIMESTAMPTZ
);
-- Dispatch looks for unresolved jobs whose poll time has come.
CREATE INDEX llm_jobs_due ON llm_jobs (next_poll_at) WHERE status IN ('queued', 'submitting', 'running');
CREATE INDEX llm_jobs_user ON llm_jobs (user_id, created_at DESC);

CREATE TABLE llm_job_items (
    job_id              UUID NOT NULL REFERENCES llm_jobs (id) ON DELETE CASCADE,
    -- 1..n within the job; a batch request's custom_id is "item-{item_id}".
    item_id             INTEGER NOT NULL,
    entity_kind         TEXT NOT NULL CHECK (entity_kind IN ('posting')),
    entity_id           BIGINT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'submitted', 'completed', 'failed', 'cancelled', 'expired')),
    response_id         TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    submitted_at        TIMESTAMPTZ,
    last_polled_at      TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    output_text         TEXT,
    decision            JSONB,
    error               TEXT,
    PRIMARY KEY (job_id, item_id),
    UNIQUE (job_id, entity_kind, entity_id)
);
-- The worker walks a job's open items.
CREATE INDEX llm_job_items_open ON llm_job_items (job_id, item_id) WHERE status IN ('pending', 'submitted');

-- A decision applied to an entity: at most one per (entity, job), whatever happens to the messages.
CREATE TABLE entity_flags (
    entity_kind TEXT NOT NULL,
    entity_id   BIGINT NOT NULL,
    job_id      UUID NOT NULL REFERENCES llm_jobs (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    flag        BOOLEAN NOT NULL,
    label       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_kind, entity_id, job_id)
);
CREATE INDEX entity_flags_user_label ON entity_flags (user_id, label) WHERE flag;
