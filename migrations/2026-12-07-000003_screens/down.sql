DROP INDEX postings_user_content_changed;
DROP INDEX llm_job_items_entity;
DROP INDEX llm_jobs_run;
DROP INDEX llm_jobs_screen_run;
ALTER TABLE llm_jobs DROP COLUMN run_id, DROP COLUMN screen_id;
DROP TABLE screens;
