ALTER TABLE llm_jobs ADD COLUMN input_file_id TEXT, ADD COLUMN batch_id TEXT, ADD COLUMN batch_expires_at TIMESTAMPTZ,
    ADD COLUMN batch_pushed_at TIMESTAMPTZ;
-- A job keeps its first batch (a job of several cannot be told in the old shape).
UPDATE llm_jobs j SET input_file_id = b.input_file_id, batch_id = b.batch_id, batch_expires_at = b.expires_at,
                      batch_pushed_at = b.pushed_at
FROM llm_batches b WHERE b.job_id = j.id AND b.seq = 1;
CREATE INDEX llm_jobs_batch ON llm_jobs (batch_id) WHERE batch_id IS NOT NULL;
DROP TABLE llm_batches;
