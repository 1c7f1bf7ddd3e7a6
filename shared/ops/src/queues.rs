//! The system's work queues, each with its depth, the age of its oldest message, whether its consumers are paused,
//! and its DLQ with that queue's depth.
//!
//! SQS's queue attributes have no oldest-message age. For a work queue it comes from CloudWatch
//! (`ApproximateAgeOfOldestMessage`, published by SQS every minute; LocalStack does not publish it, so locally it is
//! unknown). A DLQ's age could only be read off its messages by peeking, which receives them: this listing does not
//! (it is read-only, and the API lists queues on every refresh of the operators' page); `ctl queues` does.

use anyhow::Context as _;
use bw_queue::Depth;

use crate::Ops;
use crate::target::{QueueRef, redrive_target, resolve};

/// One work queue of the system, as an operator sees it.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    /// The logical name (`runs`).
    pub name: &'static str,
    pub queue: QueueRef,
    pub depth: Depth,
    /// Age of the oldest message in seconds, from CloudWatch; `None` when it has no data.
    pub oldest_age_secs: Option<i64>,
    /// Whether an operator paused its consumers (`ctl consumers pause`).
    pub paused: bool,
    /// The target of its redrive policy; `None` when it has none.
    pub dlq: Option<Dlq>,
}

/// A work queue's DLQ.
#[derive(Clone, Debug)]
pub struct Dlq {
    pub queue: QueueRef,
    pub depth: Depth,
}

/// Every work queue of the system, in the order of the definitions.
pub async fn list(ops: &Ops) -> anyhow::Result<Vec<WorkQueue>> {
    let mut all = Vec::new();
    for def in bw_queue::definitions::ALL {
        let name = ops.real_name(def.name);
        let queue = resolve(ops, &name)
            .await
            .with_context(|| format!("queue {name} is missing: create the queues (ctl queues create)"))?;
        let dlq = match redrive_target(ops, &queue.url).await? {
            Some(target) => {
                let dlq = resolve(ops, &target).await.with_context(|| format!("the DLQ of {name} is missing"))?;
                Some(Dlq { depth: ops.depth(&dlq.url).await?, queue: dlq })
            }
            None => None,
        };
        all.push(WorkQueue {
            name: def.name,
            depth: ops.depth(&queue.url).await?,
            oldest_age_secs: oldest_from_cloudwatch(ops, &queue.name).await,
            paused: bw_queue::pause::is_paused(ops.sqs(), &queue.url).await?,
            queue,
            dlq,
        });
    }
    Ok(all)
}

/// The latest `ApproximateAgeOfOldestMessage` of the last 10 minutes; `None` when CloudWatch has none (or cannot
/// be reached: the age is extra information, and the depths are shown without it).
pub async fn oldest_from_cloudwatch(ops: &Ops, queue_name: &str) -> Option<i64> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let now = chrono::Utc::now().timestamp();
    let out = ops
        .cloudwatch
        .get_metric_statistics()
        .namespace("AWS/SQS")
        .metric_name("ApproximateAgeOfOldestMessage")
        .dimensions(Dimension::builder().name("QueueName").value(queue_name).build())
        .start_time(DateTime::from_secs(now - 600))
        // A minute ahead: `now` in whole seconds would leave out a datapoint of the current second.
        .end_time(DateTime::from_secs(now + 60))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .ok()?;
    let latest = out.datapoints.unwrap_or_default().into_iter().max_by_key(|d| d.timestamp.map(|t| t.secs()))?;
    // Whole seconds of age; the float is only CloudWatch's representation of them.
    latest.maximum.map(|age| age.round() as i64)
}
