//! What the API needs from outside its database, each behind a small trait: [`Enqueue`] (where a run's or a job's
//! first message goes), [`Boards`] (the career boards a dry run lists) and [`QueueOps`] (the queues the operators'
//! routes show, peek at and redrive). `main` wires the real ones ([`sqs::SqsEnqueue`], [`HttpBoards`] and
//! [`sqs::SqsOps`]); the API's HTTP tests wire in-memory ones (`bw-test-support`), so a test of a 401 needs no
//! LocalStack.
//!
//! [`HttpBoards`]: bw_extract::HttpBoards

pub mod sqs;

use bw_extract::{Board, BoardSource, ExtractError, Listing};
use bw_ops::peek::Peeked;
use bw_ops::queues::WorkQueue;
use bw_ops::redrive::RedriveError;
use bw_ops::tasks::Task;
use bw_queue::Outgoing;
use bw_queue::definitions::QueueDef;

/// The queues the API sends to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `runs`: a started run's message.
    Runs,
    /// `llm-jobs`: a new job's first message.
    LlmJobs,
}

/// Sends the API's messages.
#[async_trait::async_trait]
pub trait Enqueue: Send + Sync {
    /// Sends `message` to the queue `to`.
    async fn send(&self, to: Destination, message: Outgoing) -> anyhow::Result<()>;
}

/// Lists a career board now, for the dry run.
#[async_trait::async_trait]
pub trait Boards: Send + Sync {
    /// The board's open postings, with warnings about what of its listing could not be read.
    async fn list(&self, board: &Board) -> Result<Listing, ExtractError>;
}

/// Every [`BoardSource`] (the HTTP client of the boards, or a test's) lists boards for the API.
#[async_trait::async_trait]
impl<T: BoardSource> Boards for T {
    async fn list(&self, board: &Board) -> Result<Listing, ExtractError> {
        BoardSource::list(self, board).await
    }
}

/// What a whole-DLQ redrive counted, and the message move task it started.
#[derive(Clone, Debug)]
pub struct Redrive {
    /// The SQS name of the DLQ.
    pub dlq: String,
    /// The DLQ's messages (visible, being peeked, or delayed): what moves.
    pub messages: i64,
    /// The SQS name of the work queue they go back to.
    pub destination: String,
    /// The handle of the task started; `None` on a dry run or when the DLQ was empty.
    pub started: Option<String>,
    /// The task, as SQS lists it (as it started, until SQS lists it); `None` when none started.
    pub task: Option<Task>,
}

/// The operators' view of the system's queues. Each method names a work queue by its definition (`runs`,
/// `llm-jobs`); the routes answer 404 for any other name before asking.
#[async_trait::async_trait]
pub trait QueueOps: Send + Sync {
    /// The prefix of the queues' real names (`runs` is `{prefix}runs`).
    fn prefix(&self) -> &str;

    /// Every work queue with its depth, its consumers' state and its DLQ. Receives nothing.
    async fn queues(&self) -> anyhow::Result<Vec<WorkQueue>>;

    /// Up to `limit` messages of the work queue's DLQ with the failure reasons their consumers recorded; they stay
    /// in the DLQ.
    async fn peek(&self, queue: &QueueDef, limit: usize) -> anyhow::Result<Vec<Peeked>>;

    /// Counts the work queue's DLQ and, unless `dry_run`, starts a message move task putting it all back.
    async fn redrive(&self, queue: &QueueDef, dry_run: bool) -> Result<Redrive, RedriveError>;
}
