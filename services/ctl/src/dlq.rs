//! Cancelling a DLQ's message move task and purging a DLQ (listing tasks is `bw_ops::tasks`).

use anyhow::Context as _;
use bw_ops::Ops;
use bw_ops::target::QueueRef;
use bw_ops::tasks::{self, Task};

/// Cancels the DLQ's running message move task; returns it as it was when cancelled.
pub async fn cancel(ops: &Ops, dlq: &QueueRef) -> anyhow::Result<Task> {
    let mut running = tasks::list(ops, dlq, 10).await?.into_iter().filter(|t| t.status == "RUNNING");
    let task = running.next().with_context(|| format!("no message move task is running on {}", dlq.name))?;
    let handle = task.task_handle.clone().context("the running task has no handle")?;
    let out = ops
        .sqs()
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .with_context(|| format!("failed to cancel the message move task on {}", dlq.name))?;
    Ok(Task { status: "CANCELLING".to_owned(), moved: out.approximate_number_of_messages_moved, ..task })
}

/// Deletes every message of the DLQ. The caller has confirmed.
pub async fn purge(ops: &Ops, dlq: &QueueRef) -> anyhow::Result<i64> {
    let depth = ops.depth(&dlq.url).await?;
    ops.sqs()
        .purge_queue()
        .queue_url(&dlq.url)
        .send()
        .await
        .with_context(|| format!("failed to purge {} (SQS allows one purge a minute per queue)", dlq.name))?;
    Ok(bw_ops::total(&depth))
}
