-- Users' schedules of runs, and what started each run.
--
-- A schedule is every N hours or a cron expression read in a time zone (one per user); `next_due_at` is when the
-- scheduled dispatch starts the next run. The dispatch takes due schedules with FOR UPDATE SKIP LOCKED and moves
-- `next_due_at` past now in the same transaction as the run it starts.
CREATE TABLE schedules (
    user_id     TEXT PRIMARY KEY,
    every_hours INTEGER CHECK (every_hours BETWEEN 1 AND 8760),
    cron        TEXT,
    time_zone   TEXT NOT NULL DEFAULT 'UTC',
    next_due_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((every_hours IS NULL) <> (cron IS NULL))
);
CREATE INDEX schedules_due ON schedules (next_due_at);

ALTER TABLE runs
    ADD COLUMN started_by TEXT NOT NULL DEFAULT 'manual' CHECK (started_by IN ('manual', 'schedule')),
    -- For a scheduled run: the due time it was started for.
    ADD COLUMN due_at TIMESTAMPTZ;
-- One run per due time of a user's schedule, however many dispatches find it due at once.
CREATE UNIQUE INDEX runs_schedule_slot ON runs (user_id, due_at) WHERE started_by = 'schedule';

-- Scheduled runs not started because the user's run was still active: the user's next run says so in its log.
CREATE TABLE schedule_skips (
    user_id       TEXT NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    active_run_id UUID NOT NULL,
    PRIMARY KEY (user_id, due_at)
);
