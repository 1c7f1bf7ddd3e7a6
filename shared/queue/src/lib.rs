//! SQS for the services: a small trait over the queue, per-record batch processing that answers with exactly the
//! failed message ids, a local event-source runner that behaves like an SQS event source mapping, and Lambda mode.

pub mod backoff;
pub mod batch;
pub mod client;
pub mod definitions;
pub mod lambda;
pub mod pause;
pub mod runner;

pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
pub use backoff::{Backoff, Retry};
pub use batch::{Failure, Handled, Invocation, Kind, RecordHandler, handle_event, process_event};
pub use client::{Depth, Outgoing, Queue, SqsQueue};

/// True when this process is running inside AWS Lambda (the runtime API address is set).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}
