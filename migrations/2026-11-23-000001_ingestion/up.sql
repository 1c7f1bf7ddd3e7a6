-- Companies, ingestion runs, their event log and per-company checkpoints, and postings.

CREATE TABLE companies (
    id          UUID PRIMARY KEY,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    board_kind  TEXT NOT NULL CHECK (board_kind IN ('greenhouse', 'lever', 'ashby', 'jsonld')),
    board_token TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Removal is soft: the next run expires the company's postings, then nothing refers to it again.
    deleted_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX companies_user_board_live ON companies (user_id, board_kind, board_token) WHERE deleted_at IS NULL;
CREATE INDEX companies_user ON companies (user_id);

CREATE TABLE runs (
    id                  UUID PRIMARY KEY,
    user_id             TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'initializing', 'ingesting', 'finished', 'failed', 'aborted')),
    stage               TEXT,
    counts              JSONB NOT NULL DEFAULT '{}'::jsonb,
    error               TEXT,
    abort_requested_at  TIMESTAMPTZ,
    lease_owner         UUID,
    lease_until         TIMESTAMPTZ,
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at          TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at         TIMESTAMPTZ
);
-- One active run per user: a second start while one is active is refused with 409.
CREATE UNIQUE INDEX runs_one_active_per_user ON runs (user_id)
    WHERE status IN ('pending', 'initializing', 'ingesting');
CREATE INDEX runs_user_created ON runs (user_id, created_at DESC);

CREATE TABLE run_events (
    id      BIGSERIAL PRIMARY KEY,
    run_id  UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    level   TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    stage   TEXT,
    message TEXT NOT NULL,
    data    JSONB
);
CREATE INDEX run_events_run ON run_events (run_id, id);

-- The checkpoint of one company within one run: written in the transaction that stores its postings.
CREATE TABLE run_companies (
    run_id         UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    company_id     UUID NOT NULL REFERENCES companies (id),
    extract_status TEXT NOT NULL CHECK (extract_status IN ('ok', 'failed')),
    error          TEXT,
    found          INTEGER NOT NULL DEFAULT 0,
    inserted       INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    expired        INTEGER NOT NULL DEFAULT 0,
    ready          INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    completed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, company_id)
);

CREATE TABLE postings (
    id                BIGSERIAL PRIMARY KEY,
    user_id           TEXT NOT NULL,
    company_id        UUID NOT NULL REFERENCES companies (id),
    external_id       TEXT NOT NULL,
    run_id            UUID NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed', 'expired')),
    content_hash      BYTEA NOT NULL,
    title             TEXT NOT NULL,
    url               TEXT,
    -- The board's item exactly as received: re-parsed at ingest, never queried inside, so plain JSON (cheaper to
    -- write than JSONB) with lz4 compression.
    raw               JSON COMPRESSION lz4 NOT NULL,
    location          TEXT,
    remote            BOOLEAN,
    department        TEXT,
    employment_type   TEXT,
    compensation      TEXT,
    description       TEXT COMPRESSION lz4,
    posted_at         TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ,
    ingest_error      TEXT,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    content_changed_at TIMESTAMPTZ NOT NULL,
    expired_at        TIMESTAMPTZ,
    UNIQUE (company_id, external_id)
) WITH (fillfactor = 85);
-- Free space on each page lets the `last_seen_at` bump of an unchanged posting be a HOT update (no index writes).
-- The ingest stage pages through a user's pending postings in id order; ready ones leave this index.
CREATE INDEX postings_pending ON postings (user_id, id) WHERE status = 'pending';
CREATE INDEX postings_run ON postings (run_id);
