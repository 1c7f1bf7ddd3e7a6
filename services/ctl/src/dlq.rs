//! Message move tasks (status, cancel) and purging a DLQ.

use anyhow::Context as _;
use serde::Serialize;

use crate::target::{Aws, QueueRef, name_of_arn};

/// A message move task as `ctl dlq status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Task {
    pub dlq: String,
    /// Present while the task runs (SQS drops it once the task ended).
    pub task_handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    /// The destination; `None` when each message returns to the queue it came from.
    pub destination: Option<String>,
    pub moved: i64,
    pub to_move: Option<i64>,
    pub max_per_second: Option<i32>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub failure_reason: Option<String>,
}

/// The DLQ's most recent message move tasks, newest first (SQS keeps those of the last 14 days).
pub async fn tasks(aws: &Aws, dlq: &QueueRef, limit: i32) -> anyhow::Result<Vec<Task>> {
    let out = aws
        .sqs()
        .list_message_move_tasks()
        .source_arn(&dlq.arn)
        .max_results(limit.clamp(1, 10))
        .send()
        .await
        .with_context(|| format!("failed to list the message move tasks of {}", dlq.name))?;
    Ok(out
        .results
        .unwrap_or_default()
        .into_iter()
        .map(|t| Task {
            dlq: dlq.name.clone(),
            task_handle: t.task_handle,
            status: t.status.unwrap_or_default(),
            destination: t.destination_arn.as_deref().map(|arn| name_of_arn(arn).to_owned()),
            moved: t.approximate_number_of_messages_moved,
            to_move: t.approximate_number_of_messages_to_move,
            max_per_second: t.max_number_of_messages_per_second,
            started_at: chrono::DateTime::from_timestamp_millis(t.started_timestamp),
            failure_reason: t.failure_reason,
        })
        .collect())
}

/// Cancels the DLQ's running message move task; returns it as it was when cancelled.
pub async fn cancel(aws: &Aws, dlq: &QueueRef) -> anyhow::Result<Task> {
    let mut running = tasks(aws, dlq, 10).await?.into_iter().filter(|t| t.status == "RUNNING");
    let task = running.next().with_context(|| format!("no message move task is running on {}", dlq.name))?;
    let handle = task.task_handle.clone().context("the running task has no handle")?;
    let out = aws
        .sqs()
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .with_context(|| format!("failed to cancel the message move task on {}", dlq.name))?;
    Ok(Task { status: "CANCELLING".to_owned(), moved: out.approximate_number_of_messages_moved, ..task })
}

/// Deletes every message of the DLQ. The caller has confirmed.
pub async fn purge(aws: &Aws, dlq: &QueueRef) -> anyhow::Result<i64> {
    let depth = crate::queues::depth(aws, &dlq.url).await?;
    aws.sqs()
        .purge_queue()
        .queue_url(&dlq.url)
        .send()
        .await
        .with_context(|| format!("failed to purge {} (SQS allows one purge a minute per queue)", dlq.name))?;
    Ok(depth.visible + depth.in_flight + depth.delayed)
}
