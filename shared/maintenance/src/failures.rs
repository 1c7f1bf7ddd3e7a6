//! Keeping why messages failed (for `ctl dlq peek`), and forgetting it once SQS would have dropped the message.

use bw_db::failures::{self, NewFailure};
use bw_db::{PgPool, pool};
use bw_queue::SqsMessage;
use bw_queue::batch::{Failure, queue_name, receive_count};

/// Records why `record` failed. Best effort: a failure to record is logged, never raised (the record has already
/// failed, and its reason is in the logs either way).
pub async fn record(pool: &PgPool, record: &SqsMessage, failure: &Failure) {
    let Some(message_id) = record.message_id.as_deref() else { return };
    let reason = failure.to_string();
    let failure = NewFailure {
        message_id,
        queue: queue_name(record),
        receive_count: receive_count(record),
        retryable: failure.retryable(),
        reason: &reason,
    };
    let written = async {
        let mut conn = pool::conn(pool).await?;
        failures::record(&mut conn, &failure).await
    };
    if let Err(error) = written.await {
        tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not record why the message failed");
    }
}

/// Deletes failures SQS no longer keeps messages for (a DLQ's retention); returns how many.
pub async fn prune(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool::conn(pool).await?;
    failures::prune(&mut conn, i64::from(bw_queue::definitions::DLQ_RETENTION_SECS)).await
}
