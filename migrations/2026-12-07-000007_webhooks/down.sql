DROP INDEX llm_jobs_batch;
ALTER TABLE llm_jobs DROP COLUMN batch_pushed_at, DROP COLUMN ends_polled, DROP COLUMN ends_pushed;
DROP INDEX llm_job_items_pushed;
DROP INDEX llm_job_items_response;
ALTER TABLE llm_job_items DROP COLUMN learnt_by, DROP COLUMN pushed_at;
DROP TABLE webhook_events;
