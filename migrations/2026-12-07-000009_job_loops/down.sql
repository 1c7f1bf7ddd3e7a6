DROP TABLE llm_job_loops;
