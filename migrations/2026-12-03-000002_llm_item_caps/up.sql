-- Caps on LLM items, so that no job is polled forever (the poller's LLM_ITEM_MAX_ATTEMPTS, LLM_ITEM_MAX_AGE_SECS and
-- LLM_BATCH_GRACE_SECS).
--
-- `attempts` already counts an item's submissions; it now also counts its failed tries (a submission or a poll that
-- failed after the client's own retries). `last_error` keeps the last of those failures while the item is open, so
-- the reason an item is given up names it.
ALTER TABLE llm_job_items ADD COLUMN last_error TEXT;
COMMENT ON COLUMN llm_job_items.attempts IS 'submissions and failed tries (submissions or polls) of the item';
COMMENT ON COLUMN llm_job_items.last_error IS 'the last failed try, while the item is open';

-- Batch mode: when the OpenAI batch's completion window closes (its `expires_at`). Its items are not given up for
-- their age before then, however old the job is.
ALTER TABLE llm_jobs ADD COLUMN batch_expires_at TIMESTAMPTZ;

-- Batches recorded before this column: their window is 24 hours from when their items were submitted.
UPDATE llm_jobs j
SET batch_expires_at = s.submitted_at + interval '24 hours'
FROM (SELECT job_id, min(submitted_at) AS submitted_at FROM llm_job_items GROUP BY job_id) s
WHERE j.id = s.job_id AND j.batch_id IS NOT NULL AND s.submitted_at IS NOT NULL;
