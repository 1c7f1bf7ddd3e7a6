//! Lambda mode: the same handler behind the Lambda Runtime API, fed by an SQS event source mapping with
//! `ReportBatchItemFailures`. The mapping leaves a failed record to reappear when its visibility timeout ends; with a
//! [`Redelivery`] the function sets each failed record's visibility itself first ([`crate::backoff`]).

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::backoff::Redelivery;
use crate::batch::{Invocation, RecordHandler, handle_event};
use crate::client::Queue;

/// The longest the visibility changes of one invocation may take.
const APPLY_AT_MOST: std::time::Duration = std::time::Duration::from_secs(5);
/// What they leave of the invocation at least.
const APPLY_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves SQS events from the Lambda Runtime API until the runtime stops.
pub async fn run<H: RecordHandler + 'static, Q: Queue + 'static>(
    handler: Arc<H>,
    concurrency: usize,
    redelivery: Option<Redelivery<Q>>,
) -> Result<(), lambda_runtime::Error> {
    let redelivery = Arc::new(redelivery);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (handler, redelivery) = (Arc::clone(&handler), Arc::clone(&redelivery));
        // The deadline lets a long handler stop at a boundary and continue in a new invocation instead of being
        // cut off by the Lambda timeout.
        let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.context.deadline);
        let invocation = Invocation { deadline: Some(deadline) };
        async move {
            let handled = handle_event(&*handler, event.payload, concurrency, &invocation).await;
            if let Some(redelivery) = redelivery.as_ref() {
                // Bounded, and within the deadline: a slow SQS must not push the invocation past its timeout (the
                // whole batch, successes included, would then be delivered again).
                let until = invocation.deadline_less(APPLY_MARGIN).map_or(APPLY_AT_MOST, |d| {
                    d.saturating_duration_since(std::time::Instant::now()).min(APPLY_AT_MOST)
                });
                if tokio::time::timeout(until, redelivery.apply(&handled.retries)).await.is_err() {
                    tracing::warn!("setting the failed records' visibility timed out; they return when it ends");
                }
            }
            Ok::<SqsBatchResponse, lambda_runtime::Error>(handled.response)
        }
    }))
    .await
}
