-- A job keeps its first batch in the old shape (a job of several cannot be told there).
UPDATE llm_jobs j SET input_file_id = b.input_file_id, batch_id = b.batch_id, batch_expires_at = b.expires_at,
                      batch_pushed_at = b.pushed_at
FROM llm_batches b WHERE b.job_id = j.id AND b.seq = 1;
COMMENT ON COLUMN llm_jobs.batch_id IS NULL;
DROP TABLE llm_batches;
ALTER TABLE llm_job_items DROP COLUMN batch_seq;
