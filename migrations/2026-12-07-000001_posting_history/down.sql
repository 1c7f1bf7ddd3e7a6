DROP INDEX entity_flags_job;
DROP INDEX postings_user_title;
DROP INDEX postings_user_first_seen;
DROP INDEX postings_first_run;
DROP TABLE posting_changes;
ALTER TABLE postings DROP COLUMN first_run_id;
