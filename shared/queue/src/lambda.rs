//! Lambda mode: the same handler behind the Lambda Runtime API, fed by an SQS event source mapping with
//! `ReportBatchItemFailures`.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::batch::{RecordHandler, process_event};

/// Serves SQS events from the Lambda Runtime API until the runtime stops.
pub async fn run<H: RecordHandler + 'static>(handler: Arc<H>, concurrency: usize) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(process_event(&*handler, event.payload, concurrency).await)
        }
    }))
    .await
}
