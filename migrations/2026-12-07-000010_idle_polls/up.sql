-- Polling alone, a job's loop backs off while nothing ends: how many of its loop's invocations in a row saw no item
-- end (0 as soon as one does).
ALTER TABLE llm_job_loops ADD COLUMN idle_polls INTEGER NOT NULL DEFAULT 0;
