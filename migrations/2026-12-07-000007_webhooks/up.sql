-- OpenAI's webhooks: events received (each delivery's `webhook-id` once, however often it is delivered), and how an
-- item's end was learnt (pushed by an event, or found by polling).

CREATE TABLE webhook_events (
    -- The delivery's `webhook-id`: the same on every retry of one event, so a redelivery finds its row.
    webhook_id  TEXT PRIMARY KEY,
    -- The event's own id (`evt_...`), its type (`response.completed`, `batch.failed`, ...) and the object it is about
    -- (a response or a batch id).
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    -- The job the object belongs to, when one did when the event came.
    job_id      UUID,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- An event that comes before its response or batch id is recorded is found by the id when it is.
CREATE INDEX webhook_events_object ON webhook_events (object_id);
-- Pruned once OpenAI has stopped redelivering (it retries for up to 72 hours).
CREATE INDEX webhook_events_received ON webhook_events (received_at);

-- An event announced the item's end: the worker reads it first, and its end is learnt by push.
ALTER TABLE llm_job_items
    ADD COLUMN pushed_at TIMESTAMPTZ,
    ADD COLUMN learnt_by TEXT CONSTRAINT llm_job_items_learnt_by_check CHECK (learnt_by IN ('push', 'poll'));
-- Events name a response: its item is found by the id.
CREATE INDEX llm_job_items_response ON llm_job_items (response_id) WHERE response_id IS NOT NULL;
-- Pushed items still open, which the worker reads before any other.
CREATE INDEX llm_job_items_pushed ON llm_job_items (job_id, item_id)
    WHERE status = 'submitted' AND pushed_at IS NOT NULL;

ALTER TABLE llm_jobs
    -- How many of the job's items ended learnt by push and by poll (items ended here, by a cancel or given up,
    -- are neither).
    ADD COLUMN ends_pushed INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN ends_polled INTEGER NOT NULL DEFAULT 0,
    -- Batch mode: when an event announced the batch's end.
    ADD COLUMN batch_pushed_at TIMESTAMPTZ;
CREATE INDEX llm_jobs_batch ON llm_jobs (batch_id) WHERE batch_id IS NOT NULL;
