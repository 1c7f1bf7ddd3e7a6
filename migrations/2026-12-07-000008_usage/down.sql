DROP TABLE llm_job_usage;
ALTER TABLE llm_job_items
    DROP COLUMN cost_usd, DROP COLUMN reasoning_tokens, DROP COLUMN output_tokens, DROP COLUMN cached_input_tokens,
    DROP COLUMN input_tokens;
