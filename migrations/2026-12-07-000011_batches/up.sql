-- A batch-mode job is split into as many OpenAI batches as its items need (each within 50,000 requests and 200 MB
-- of input). Each batch covers the job's items from first_item to last_item that were pending when it was recorded;
-- its output and error files are applied a bounded chunk at a time, and how many lines of each are applied is kept
-- with it, so an invocation that runs out of time is continued by the next.
CREATE TABLE llm_batches (
    job_id UUID NOT NULL REFERENCES llm_jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    batch_id TEXT NOT NULL UNIQUE,
    input_file_id TEXT NOT NULL,
    first_item INTEGER NOT NULL,
    last_item INTEGER NOT NULL,
    items INTEGER NOT NULL,
    input_bytes BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- When a webhook event announced its end.
    pushed_at TIMESTAMPTZ,
    -- OpenAI's terminal status, and its files, once the worker saw it ended.
    outcome TEXT,
    output_file_id TEXT,
    error_file_id TEXT,
    -- Why OpenAI failed it, as its errors say (validation).
    error TEXT,
    output_lines_applied BIGINT NOT NULL DEFAULT 0,
    error_lines_applied BIGINT NOT NULL DEFAULT 0,
    -- Result files read to their end, in order: 0 none, 1 the output file, 2 both.
    files_applied SMALLINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Every item it covers has ended.
    done_at TIMESTAMPTZ,
    PRIMARY KEY (job_id, seq),
    CHECK (first_item <= last_item)
);
CREATE INDEX llm_batches_open ON llm_batches (job_id) WHERE done_at IS NULL;

-- The batch (its seq) an item went out in, while it is submitted and after.
ALTER TABLE llm_job_items ADD COLUMN batch_seq INTEGER;
CREATE INDEX llm_job_items_batch ON llm_job_items (job_id, batch_seq) WHERE status = 'submitted';

-- A job's one batch, as recorded before, becomes its first.
INSERT INTO llm_batches (job_id, seq, batch_id, input_file_id, first_item, last_item, items, input_bytes, expires_at,
                         pushed_at, created_at, done_at)
SELECT j.id, 1, j.batch_id, coalesce(j.input_file_id, ''),
       coalesce((SELECT min(item_id) FROM llm_job_items WHERE job_id = j.id), 1),
       coalesce((SELECT max(item_id) FROM llm_job_items WHERE job_id = j.id), 1),
       j.items_total, 0, coalesce(j.batch_expires_at, j.created_at + interval '24 hours'), j.batch_pushed_at,
       j.created_at, CASE WHEN j.status NOT IN ('queued', 'submitting', 'running') THEN coalesce(j.resolved_at, now()) END
FROM llm_jobs j WHERE j.batch_id IS NOT NULL;
UPDATE llm_job_items i SET batch_seq = 1 FROM llm_jobs j
WHERE j.id = i.job_id AND j.batch_id IS NOT NULL AND i.status NOT IN ('pending');

-- llm_jobs' batch columns are no longer read or written. They stay for one release, so that a worker or API of the
-- previous release still running while this one deploys (migrations run first) finds the columns it selects; a
-- later migration drops them.
COMMENT ON COLUMN llm_jobs.batch_id IS 'unused since llm_batches (2026-12-07-000011); to be dropped';
