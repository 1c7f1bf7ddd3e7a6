DROP TRIGGER llm_jobs_progress ON llm_jobs;
DROP TRIGGER runs_progress ON runs;
DROP FUNCTION bw_notify_progress();
DROP INDEX run_events_run_ms;
CREATE INDEX run_events_run ON run_events (run_id, id);
ALTER TABLE run_events DROP COLUMN ms;
ALTER TABLE runs DROP COLUMN log_ms;
