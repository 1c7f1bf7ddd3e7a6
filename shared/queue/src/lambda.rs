//! Lambda mode: the same handler behind the Lambda Runtime API, fed by an SQS event source mapping with
//! `ReportBatchItemFailures`. The mapping leaves a failed record to reappear when its visibility timeout ends; with a
//! [`Redelivery`] the function sets each failed record's visibility itself first ([`crate::backoff`]).

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::backoff::Redelivery;
use crate::batch::{Invocation, RecordHandler, handle_event};
use crate::client::Queue;

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
                redelivery.apply(&handled.retries).await;
            }
            Ok::<SqsBatchResponse, lambda_runtime::Error>(handled.response)
        }
    }))
    .await
}
