//! A DLQ's SQS message move tasks, as `ListMessageMoveTasks` reports them.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::Ops;
use crate::target::{QueueRef, name_of_arn};

/// One message move task.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Task {
    /// Still moving messages, or being cancelled: SQS refuses another task on the DLQ meanwhile.
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "CANCELLING")
    }
}

/// The DLQ's most recent message move tasks, newest first (SQS keeps those of the last 14 days).
pub async fn list(ops: &Ops, dlq: &QueueRef, limit: i32) -> anyhow::Result<Vec<Task>> {
    let out = ops
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

/// The DLQ's active task (running or being cancelled), if any.
pub async fn active(ops: &Ops, dlq: &QueueRef) -> anyhow::Result<Option<Task>> {
    Ok(list(ops, dlq, 10).await?.into_iter().find(Task::is_active))
}
