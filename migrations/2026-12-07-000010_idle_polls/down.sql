ALTER TABLE llm_job_loops DROP COLUMN idle_polls;
