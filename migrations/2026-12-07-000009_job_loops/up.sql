-- One message loop per job. A job's worker re-enqueues it (a delayed message) after each invocation; wakes (a new
-- job, a cancel, a webhook event) also start invocations, and each used to re-enqueue too, so every wake that found
-- the job free left one more loop running beside the first. The loop message carries the job's current token: only
-- an invocation started by it (or one that finds no loop at all) passes the loop on with a new token; any other
-- invocation does its work and sends nothing more, unless something was pushed meanwhile. Dispatch, finding a job
-- due whose loop was lost, starts a new one (a new token: a late old message then ends there).
CREATE TABLE llm_job_loops (
    job_id UUID PRIMARY KEY REFERENCES llm_jobs (id) ON DELETE CASCADE,
    token  UUID NOT NULL
);
