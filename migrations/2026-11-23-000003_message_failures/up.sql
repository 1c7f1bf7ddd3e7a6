-- Why a queue message failed, keyed by its SQS message id (which SQS keeps when it moves the message to the DLQ),
-- so `ctl dlq peek` can show the reason next to a dead-lettered message. One row per message: a later failure of
-- the same message overwrites the reason. Rows older than the DLQ retention (14 days) are pruned by the sweep.
CREATE TABLE message_failures (
    message_id text PRIMARY KEY,
    queue text NOT NULL,
    receive_count integer NOT NULL CHECK (receive_count >= 0),
    retryable boolean NOT NULL,
    reason text NOT NULL,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX message_failures_last_failed_at ON message_failures (last_failed_at);
