ALTER TABLE llm_jobs DROP COLUMN batch_expires_at;
ALTER TABLE llm_job_items DROP COLUMN last_error;
COMMENT ON COLUMN llm_job_items.attempts IS NULL;
