-- What screening costs: each item's token usage as OpenAI reported it (a response's, or its batch line's), its
-- estimated cost from the worker's price table, and each job's sums (a table of their own, written in the
-- transaction that ends each item).
ALTER TABLE llm_job_items
    ADD COLUMN input_tokens        INTEGER,
    ADD COLUMN cached_input_tokens INTEGER,
    ADD COLUMN output_tokens       INTEGER,
    ADD COLUMN reasoning_tokens    INTEGER,
    -- US dollars, estimated; empty when the model has no price in the table.
    ADD COLUMN cost_usd            DOUBLE PRECISION;

CREATE TABLE llm_job_usage (
    job_id              UUID PRIMARY KEY REFERENCES llm_jobs (id) ON DELETE CASCADE,
    input_tokens        BIGINT NOT NULL DEFAULT 0,
    cached_input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens       BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens    BIGINT NOT NULL DEFAULT 0,
    cost_usd            DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- Items with a usage but no price (a model the table lacks): the cost leaves them out.
    items_unpriced      INTEGER NOT NULL DEFAULT 0
);
