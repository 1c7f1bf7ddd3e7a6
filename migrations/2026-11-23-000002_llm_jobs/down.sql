DROP TABLE entity_flags;
DROP TABLE llm_job_items;
DROP TABLE llm_jobs;
