//! `ctl queues`: every queue of the system with its depth, the age of its oldest message, and its DLQ's depth.
//!
//! SQS's queue attributes have no oldest-message age. For a work queue it comes from CloudWatch
//! (`ApproximateAgeOfOldestMessage`, published by SQS every minute; LocalStack does not publish it, so locally it is
//! unknown). For a DLQ it is read off the messages themselves by peeking, which is safe only there: a DLQ has no
//! consumer and no redrive policy of its own.

use anyhow::Context as _;
use bw_queue::Depth;
use serde::Serialize;

use crate::target::{Aws, resolve};

/// One queue's line of `ctl queues`.
#[derive(Clone, Debug, Serialize)]
pub struct QueueRow {
    pub name: String,
    /// `queue` (a work queue) or `dlq`.
    pub role: &'static str,
    pub url: String,
    #[serde(flatten)]
    pub depth: Depth,
    /// Age of the oldest message in seconds; `None` when it cannot be known (see the module's notes).
    pub oldest_age_secs: Option<i64>,
    /// Where the age came from: `cloudwatch`, or `peek` (of up to [`OLDEST_SAMPLE`] messages).
    pub oldest_age_from: Option<&'static str>,
    /// A work queue's DLQ and its visible messages.
    pub dlq: Option<String>,
    pub dlq_depth: Option<i64>,
    /// Whether an operator paused this work queue's consumers (`ctl consumers pause`).
    pub consumers_paused: Option<bool>,
}

/// Messages a DLQ peek reads to find the oldest; a deeper DLQ's age is the oldest of this sample.
pub const OLDEST_SAMPLE: usize = 100;

/// Every work queue of the system and its DLQ.
pub async fn list(aws: &Aws) -> anyhow::Result<Vec<QueueRow>> {
    let mut rows = Vec::new();
    for def in bw_queue::definitions::ALL {
        let name = format!("{}{}", aws.prefix, def.name);
        let queue = resolve(aws, &name)
            .await
            .with_context(|| format!("queue {name} is missing: create the queues (ctl queues create)"))?;
        let dlq_name = format!("{name}-dlq");
        let dlq = resolve(aws, &dlq_name)
            .await
            .with_context(|| format!("queue {dlq_name} is missing: create the queues (ctl queues create)"))?;
        let depth = depth(aws, &queue.url).await?;
        let dlq_depth = depth_of_dlq(aws, &dlq.url).await?;
        let oldest = oldest_from_cloudwatch(aws, &queue.name).await;
        rows.push(QueueRow {
            name: queue.name.clone(),
            role: "queue",
            url: queue.url.clone(),
            depth,
            oldest_age_secs: oldest,
            oldest_age_from: oldest.map(|_| "cloudwatch"),
            dlq: Some(dlq.name.clone()),
            dlq_depth: Some(dlq_depth.0.visible),
            consumers_paused: Some(bw_queue::pause::is_paused(aws.sqs(), &queue.url).await?),
        });
        rows.push(QueueRow {
            name: dlq.name.clone(),
            role: "dlq",
            url: dlq.url.clone(),
            depth: dlq_depth.0,
            oldest_age_secs: dlq_depth.1,
            oldest_age_from: dlq_depth.1.map(|_| "peek"),
            dlq: None,
            dlq_depth: None,
            consumers_paused: None,
        });
    }
    Ok(rows)
}

/// A DLQ's depth and the age of its oldest message (peeked).
async fn depth_of_dlq(aws: &Aws, url: &str) -> anyhow::Result<(Depth, Option<i64>)> {
    let depth = depth(aws, url).await?;
    if depth.visible == 0 {
        return Ok((depth, None));
    }
    let peeked = crate::peek::peek(aws, url, OLDEST_SAMPLE, None).await?;
    let now = chrono::Utc::now();
    let oldest = peeked.iter().filter_map(|m| m.sent_at).min().map(|sent| (now - sent).num_seconds().max(0));
    Ok((depth, oldest))
}

/// The queue's visible, in-flight and delayed messages.
pub async fn depth(aws: &Aws, url: &str) -> anyhow::Result<Depth> {
    aws.queue.depth(url).await
}

/// The latest `ApproximateAgeOfOldestMessage` of the last 10 minutes; `None` when CloudWatch has none (or cannot
/// be reached: the age is extra information, and `ctl queues` still shows the depths without it).
pub async fn oldest_from_cloudwatch(aws: &Aws, queue_name: &str) -> Option<i64> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let now = chrono::Utc::now().timestamp();
    let out = aws
        .cloudwatch
        .get_metric_statistics()
        .namespace("AWS/SQS")
        .metric_name("ApproximateAgeOfOldestMessage")
        .dimensions(Dimension::builder().name("QueueName").value(queue_name).build())
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .ok()?;
    let latest = out.datapoints.unwrap_or_default().into_iter().max_by_key(|d| d.timestamp.map(|t| t.secs()))?;
    // Whole seconds of age; the float is only CloudWatch's representation of them.
    latest.maximum.map(|age| age.round() as i64)
}
