//! Lambda mode: the same handler behind the Lambda Runtime API, fed by an SQS event source mapping with
//! `ReportBatchItemFailures`.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::batch::{Invocation, RecordHandler, process_event_in};

/// Serves SQS events from the Lambda Runtime API until the runtime stops.
pub async fn run<H: RecordHandler + 'static>(handler: Arc<H>, concurrency: usize) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        // The deadline lets a long handler stop at a boundary and continue in a new invocation instead of being
        // cut off by the Lambda timeout.
        let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.context.deadline);
        let invocation = Invocation { deadline: Some(deadline) };
        async move {
            let response = process_event_in(&*handler, event.payload, concurrency, &invocation).await;
            Ok::<SqsBatchResponse, lambda_runtime::Error>(response)
        }
    }))
    .await
}
