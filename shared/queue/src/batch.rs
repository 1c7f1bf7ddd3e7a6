//! One SQS event in, one `SqsBatchResponse` out: every record is handled on its own, so one bad body never fails
//! its neighbours, and the response lists exactly the ids of the records that failed. With each failure goes what
//! [`crate::backoff`] needs to say when SQS should deliver it again.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt as _;
use tracing::Instrument as _;

use crate::backoff::Retry;

/// Why a record failed. Every kind is reported as a failure, so SQS delivers the message again and, after the
/// queue's `maxReceiveCount`, moves it to the DLQ: nothing is dropped silently. The kind decides how soon it comes
/// back ([`crate::backoff`]) and says, in the logs, whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The cause may pass (a database or network error).
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// Another worker owns the work right now (it holds the lease); a later delivery finds it done or free. Never a
    /// reason to give the work up.
    #[error("{0:#}")]
    Busy(anyhow::Error),
    /// The message can never succeed as it is (a malformed body, an unknown run); it is bound for the DLQ.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl Failure {
    pub fn retryable(&self) -> bool {
        self.kind() != Kind::Permanent
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Transient(_) => Kind::Transient,
            Self::Busy(_) => Kind::Busy,
            Self::Permanent(_) => Kind::Permanent,
        }
    }
}

/// A [`Failure`]'s kind, without its error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Transient,
    Busy,
    Permanent,
}

/// What handling an event came to: the response for SQS, and the failed records to hand back (see
/// [`crate::backoff::Backoff::apply`]).
#[derive(Debug, Default)]
pub struct Handled {
    pub response: SqsBatchResponse,
    pub retries: Vec<Retry>,
}

/// What a handler knows of the invocation it runs in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Invocation {
    /// When the invocation is cut off (a Lambda's deadline); `None` for the local runner, which has none.
    pub deadline: Option<std::time::SystemTime>,
}

impl Invocation {
    /// The deadline less `margin`, as an `Instant` (what timers and clients take); `None` without a deadline.
    pub fn deadline_less(&self, margin: std::time::Duration) -> Option<std::time::Instant> {
        let left = |d: std::time::SystemTime| d.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        self.deadline.map(|d| std::time::Instant::now() + left(d).saturating_sub(margin))
    }
}

/// Handles one record. Implementations must be idempotent: SQS delivers at least once.
pub trait RecordHandler: Send + Sync {
    fn handle(&self, record: &SqsMessage, invocation: &Invocation) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Called after `handle` failed, to keep the reason where operators look for it (`ctl dlq peek`). Best effort:
    /// it must not fail, and the default keeps nothing.
    fn on_failure(&self, record: &SqsMessage, failure: &Failure) -> impl Future<Output = ()> + Send {
        let _ = (record, failure);
        async {}
    }
}

/// How long [`RecordHandler::on_failure`] may take per failed record.
pub const ON_FAILURE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The name of the queue a record came from: the last part of its `eventSourceARN`, or `unknown`.
pub fn queue_name(record: &SqsMessage) -> &str {
    record
        .event_source_arn
        .as_deref()
        .and_then(|arn| arn.rsplit(':').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("unknown")
}

/// How many times SQS has delivered this record (1 on the first delivery).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// Handles every record of `event`, at most `concurrency` at a time, and returns the failed ids.
pub async fn process_event<H: RecordHandler>(handler: &H, event: SqsEvent, concurrency: usize) -> SqsBatchResponse {
    handle_event(handler, event, concurrency, &Invocation::default()).await.response
}

/// Handles every record of `event` within an invocation (which may have a deadline): the failed ids, and how each
/// failed.
pub async fn handle_event<H: RecordHandler>(
    handler: &H,
    event: SqsEvent,
    concurrency: usize,
    invocation: &Invocation,
) -> Handled {
    let results = futures::stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let receives = receive_count(&record);
            let span = tracing::info_span!("sqs_record", message.id = %id, receive_count = receives);
            let outcome = handler.handle(&record, invocation).instrument(span.clone()).await;
            let failure = outcome.err()?;
            span.in_scope(|| {
                tracing::warn!(error = %failure, kind = ?failure.kind(), "record failed; SQS will deliver it again");
            });
            // Bounded: recording a reason must not eat into the invocation (the database may be what failed).
            let recorded = tokio::time::timeout(ON_FAILURE_TIMEOUT, handler.on_failure(&record, &failure));
            if recorded.instrument(span.clone()).await.is_err() {
                span.in_scope(|| tracing::warn!("recording the failure reason timed out"));
            }
            let receipt_handle = record.receipt_handle.clone().unwrap_or_default();
            Some(Retry { message_id: id, receipt_handle, kind: failure.kind(), receive_count: receives })
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(std::future::ready)
        .collect::<Vec<_>>()
        .await;
    let mut response = SqsBatchResponse::default();
    for retry in &results {
        response.add_failure(retry.message_id.clone());
    }
    Handled { response, retries: results }
}
