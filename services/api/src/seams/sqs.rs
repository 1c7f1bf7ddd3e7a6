//! The real seams: SQS for the API's messages, and SQS with CloudWatch for the operators' routes (through `bw_ops`,
//! which `ctl` shares).

use bw_ops::Ops;
use bw_ops::peek::{Peeked, Reasons};
use bw_ops::queues::WorkQueue;
use bw_ops::redrive::RedriveError;
use bw_ops::target::{QueueRef, dlq_of, resolve};
use bw_ops::tasks::Task;
use bw_queue::definitions::QueueDef;
use bw_queue::{Outgoing, Queue as _, SqsQueue};

use super::{Destination, Enqueue, QueueOps, Redrive};

/// The `runs` and `llm-jobs` queues, by URL.
#[derive(Clone, Debug)]
pub struct SqsEnqueue {
    pub queue: SqsQueue,
    pub runs_url: String,
    pub llm_jobs_url: String,
}

#[async_trait::async_trait]
impl Enqueue for SqsEnqueue {
    async fn send(&self, to: Destination, message: Outgoing) -> anyhow::Result<()> {
        let url = match to {
            Destination::Runs => &self.runs_url,
            Destination::LlmJobs => &self.llm_jobs_url,
        };
        self.queue.send(url, message).await.map(drop)
    }
}

/// The system's queues in SQS, found by name (`{QUEUE_PREFIX}runs`), and the failure reasons in the database.
pub struct SqsOps {
    pub ops: Ops,
    pub reasons: Reasons,
}

impl SqsOps {
    /// The work queue of `def` and its DLQ.
    async fn work_queue_and_dlq(&self, def: &QueueDef) -> anyhow::Result<(QueueRef, QueueRef)> {
        let queue = resolve(&self.ops, &self.ops.real_name(def.name)).await?;
        let dlq = dlq_of(&self.ops, &queue).await?;
        Ok((queue, dlq))
    }
}

#[async_trait::async_trait]
impl QueueOps for SqsOps {
    fn prefix(&self) -> &str {
        &self.ops.prefix
    }

    async fn queues(&self) -> anyhow::Result<Vec<WorkQueue>> {
        bw_ops::queues::list(&self.ops).await
    }

    async fn peek(&self, queue: &QueueDef, limit: usize) -> anyhow::Result<Vec<Peeked>> {
        let (_, dlq) = self.work_queue_and_dlq(queue).await?;
        bw_ops::peek::peek(&self.ops, &dlq.url, limit, Some(&self.reasons)).await
    }

    async fn redrive(&self, queue: &QueueDef, dry_run: bool) -> Result<Redrive, RedriveError> {
        let ops = &self.ops;
        let (queue, dlq) = self.work_queue_and_dlq(queue).await?;
        let planned = bw_ops::redrive::move_all(ops, &dlq, Some(&queue), None, !dry_run).await?;
        let messages = bw_ops::total(&planned.depth);
        let mut redrive =
            Redrive { dlq: dlq.name.clone(), messages, destination: queue.name.clone(), started: None, task: None };
        let Some(started) = planned.started else { return Ok(redrive) };
        // The task runs from here on, whatever SQS lists: until it lists it (or when listing fails), it is as it
        // started.
        let listed = bw_ops::redrive::find(ops, &dlq, &started).await.unwrap_or_else(|error| {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), dlq = %dlq.name,
                "could not list the message move task just started; answering it as started");
            None
        });
        redrive.task = Some(listed.unwrap_or_else(|| Task {
            dlq: dlq.name.clone(),
            task_handle: Some(started.handle.clone()),
            status: "RUNNING".to_owned(),
            destination: Some(queue.name.clone()),
            moved: 0,
            to_move: None,
            max_per_second: None,
            started_at: None,
            failure_reason: None,
        }));
        redrive.started = Some(started.handle);
        Ok(redrive)
    }
}
