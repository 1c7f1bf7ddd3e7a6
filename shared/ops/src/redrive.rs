//! Putting a whole DLQ back with an SQS message move task (`StartMessageMoveTask`): SQS moves every message itself,
//! to one destination, or each to the queue it came from. A dry run only counts. SQS runs at most one task per DLQ;
//! asking for a second is answered with the one running ([`RedriveError::AlreadyRunning`]).

use anyhow::Context as _;
use bw_queue::Depth;

use crate::Ops;
use crate::target::QueueRef;
use crate::tasks::{self, Task};

/// A whole-DLQ redrive, counted (a dry run, or an empty DLQ) or started.
#[derive(Clone, Debug)]
pub struct MoveAll {
    /// The DLQ's messages when asked.
    pub depth: Depth,
    /// The task started; `None` on a dry run, or when the DLQ had no message at all.
    pub started: Option<Started>,
}

/// A message move task this process started.
#[derive(Clone, Debug)]
pub struct Started {
    pub handle: String,
    /// A few seconds before it was asked for (clocks may disagree): the task started after this.
    pub asked_at: chrono::DateTime<chrono::Utc>,
}

/// Why a redrive did not start.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("{}", already_running(.0))]
    AlreadyRunning(Box<Task>),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

fn already_running(task: &Task) -> String {
    let of = task.to_move.map_or_else(String::new, |n| format!(" of {n}"));
    format!(
        "a message move task is already {} on {} (task {}, {}{of} moved): wait for it to end, or cancel it",
        task.status.to_lowercase(),
        task.dlq,
        task.task_handle.as_deref().unwrap_or("without a handle"),
        task.moved
    )
}

/// Counts the DLQ's messages and, when `execute`, starts a task moving them all to `to` (each to the queue it came
/// from without `to`), at most `rate` a second. Nothing starts when the DLQ has no message, visible or not.
pub async fn move_all(
    ops: &Ops,
    dlq: &QueueRef,
    to: Option<&QueueRef>,
    rate: Option<u32>,
    execute: bool,
) -> Result<MoveAll, RedriveError> {
    let depth = ops.depth(&dlq.url).await?;
    if !execute || crate::total(&depth) == 0 {
        return Ok(MoveAll { depth, started: None });
    }
    if let Some(task) = tasks::active(ops, dlq).await? {
        return Err(RedriveError::AlreadyRunning(Box::new(task)));
    }
    let mut start = ops.sqs().start_message_move_task().source_arn(&dlq.arn);
    if let Some(to) = to {
        start = start.destination_arn(&to.arn);
    }
    if let Some(rate) = rate {
        start = start.max_number_of_messages_per_second(i32::try_from(rate).unwrap_or(i32::MAX));
    }
    let asked_at = chrono::Utc::now() - chrono::Duration::seconds(5);
    let started = match start.send().await {
        Ok(started) => started,
        // Another operator's task may have started since the check.
        Err(error) => match tasks::active(ops, dlq).await? {
            Some(task) => return Err(RedriveError::AlreadyRunning(Box::new(task))),
            None => {
                return Err(anyhow::Error::new(error)
                    .context(format!("failed to start a message move task on {}", dlq.name))
                    .into());
            }
        },
    };
    let handle = started.task_handle.context("SQS returned no task handle")?;
    Ok(MoveAll { depth, started: Some(Started { handle, asked_at }) })
}

/// The started task as SQS lists it now: the one with its handle while it runs, or, once it ended (SQS then drops
/// the handle), the newest task, if it started after it was asked for. `None` until SQS lists it.
pub async fn find(ops: &Ops, dlq: &QueueRef, started: &Started) -> anyhow::Result<Option<Task>> {
    let tasks = tasks::list(ops, dlq, 10).await?;
    let by_handle = tasks.iter().find(|t| t.task_handle.as_deref() == Some(started.handle.as_str()));
    let newest = || tasks.first().filter(|t| t.started_at.is_some_and(|at| at >= started.asked_at));
    Ok(by_handle.or_else(newest).cloned())
}
