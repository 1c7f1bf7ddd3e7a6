//! `ctl queues`: every queue of the system with its depth, the age of its oldest message, and its DLQ's depth.
//!
//! The listing is `bw_ops::queues::list`, where a work queue's age comes from CloudWatch. `ctl` adds its DLQs' ages,
//! read off their messages by peeking, which is safe only there: a DLQ has no consumer and no redrive policy of its
//! own.

use bw_ops::Ops;
use bw_ops::queues::{Dlq, WorkQueue};
use bw_queue::Depth;
use serde::Serialize;

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

/// Every work queue of the system, each followed by its DLQ.
pub async fn list(ops: &Ops) -> anyhow::Result<Vec<QueueRow>> {
    let mut rows = Vec::new();
    for work in bw_ops::queues::list(ops).await? {
        let dlq_row = match &work.dlq {
            Some(dlq) => Some(dlq_row(ops, dlq).await?),
            None => None,
        };
        rows.push(work_row(work));
        rows.extend(dlq_row);
    }
    Ok(rows)
}

fn work_row(work: WorkQueue) -> QueueRow {
    QueueRow {
        name: work.queue.name,
        role: "queue",
        url: work.queue.url,
        depth: work.depth,
        oldest_age_secs: work.oldest_age_secs,
        oldest_age_from: work.oldest_age_secs.map(|_| "cloudwatch"),
        dlq: work.dlq.as_ref().map(|d| d.queue.name.clone()),
        dlq_depth: work.dlq.as_ref().map(|d| d.depth.visible),
        consumers_paused: Some(work.paused),
    }
}

/// A DLQ's line, with the age of its oldest message (peeked).
async fn dlq_row(ops: &Ops, dlq: &Dlq) -> anyhow::Result<QueueRow> {
    let oldest = if dlq.depth.visible == 0 {
        None
    } else {
        let peeked = bw_ops::peek::peek(ops, &dlq.queue.url, OLDEST_SAMPLE, None).await?;
        let now = chrono::Utc::now();
        peeked.iter().filter_map(|m| m.sent_at).min().map(|sent| (now - sent).num_seconds().max(0))
    };
    Ok(QueueRow {
        name: dlq.queue.name.clone(),
        role: "dlq",
        url: dlq.queue.url.clone(),
        depth: dlq.depth,
        oldest_age_secs: oldest,
        oldest_age_from: oldest.map(|_| "peek"),
        dlq: None,
        dlq_depth: None,
        consumers_paused: None,
    })
}
