//! Putting dead-lettered messages back. A whole DLQ goes back with an SQS message move task (started by
//! `bw_ops::redrive`, which the API shares, and watched here until it ends); a filtered or capped redrive receives,
//! sends to the destination, and deletes from the DLQ only after the send succeeded, so no message is lost (a failed
//! delete leaves a duplicate, which the idempotent consumers absorb). Without `--yes` nothing moves: the plan says
//! what would.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use bw_ops::Ops;
use bw_ops::peek::{self, Peeked};
use bw_ops::redrive::RedriveError;
use bw_ops::target::{QueueRef, sources_of};

use crate::filter::{Filter, all_match};
use crate::progress::Progress;

/// What the operator asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--to`: where the messages go; default, the queue each came from.
    pub to: Option<QueueRef>,
    pub filters: Vec<Filter>,
    pub max: Option<usize>,
    /// Messages per second at most.
    pub rate: Option<u32>,
    /// Act (`--yes`); otherwise only say what would happen.
    pub execute: bool,
    /// Allow a destination that is not one of the DLQ's sources.
    pub force: bool,
    /// Where consumers record failure reasons (for `reason` filters).
    pub database_url: Option<String>,
    /// Show a progress bar (an interactive terminal and no `--json`).
    pub progress: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// SQS moves every message itself.
    MessageMoveTask,
    /// `ctl` receives, sends, then deletes, message by message.
    ReceiveSendDelete,
}

/// What a redrive did, or would do on a dry run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub dlq: String,
    /// The destination queue; `None` when each message returns to the queue it came from.
    pub destination: Option<String>,
    pub method: Method,
    pub dry_run: bool,
    pub filters: Vec<String>,
    /// Messages looked at (receive-send-delete), or the DLQ's depth (message move task).
    pub scanned: usize,
    /// Messages that passed the filters and the cap: moved, or to be moved on a dry run.
    pub matched: usize,
    pub moved: usize,
    /// Sends that failed: the messages stay in the DLQ.
    pub failed: usize,
    /// Sent, but the delete from the DLQ failed: the message is in both queues.
    pub duplicated: usize,
    /// Ids of the matched messages (receive-send-delete only; at most 100).
    pub message_ids: Vec<String>,
    /// The move task's handle and final status (message move task only).
    pub task_handle: Option<String>,
    pub task_status: Option<String>,
}

/// Checks the destination against the DLQ's sources and runs (or plans) the redrive.
pub async fn redrive(ops: &Ops, dlq: &QueueRef, request: &Request) -> anyhow::Result<Summary> {
    let sources = sources_of(ops, dlq).await?;
    anyhow::ensure!(
        !sources.is_empty(),
        "{} is not a dead-letter queue: no queue's redrive policy points at it, so there is nowhere to redrive to",
        dlq.name
    );
    anyhow::ensure!(
        !request.filters.iter().any(|f| matches!(f.key, crate::filter::Key::Reason)) || request.database_url.is_some(),
        "a reason filter needs DATABASE_URL: the failure reasons are kept in the database"
    );
    if let Some(to) = &request.to {
        anyhow::ensure!(to.arn != dlq.arn, "refusing to redrive {} into itself", dlq.name);
        let is_source = sources.iter().any(|s| s.arn == to.arn);
        anyhow::ensure!(
            is_source || request.force,
            "refusing to redrive {} into {}: it is not the DLQ's source queue ({}); pass --force to do it anyway",
            dlq.name,
            to.name,
            names(&sources)
        );
    }
    let whole_queue = request.filters.is_empty() && request.max.is_none();
    if whole_queue {
        return move_task(ops, dlq, request).await;
    }
    let destination = match (&request.to, sources.as_slice()) {
        (Some(to), _) => to.clone(),
        (None, [only]) => only.clone(),
        (None, several) => anyhow::bail!(
            "{} is the DLQ of several queues ({}): say which one to send to with --to",
            dlq.name,
            names(several)
        ),
    };
    receive_send_delete(ops, dlq, &destination, request).await
}

fn names(queues: &[QueueRef]) -> String {
    queues.iter().map(|q| q.name.as_str()).collect::<Vec<_>>().join(", ")
}

impl Summary {
    fn new(dlq: &QueueRef, destination: Option<&QueueRef>, method: Method, request: &Request) -> Self {
        Self {
            dlq: dlq.name.clone(),
            destination: destination.map(|d| d.name.clone()),
            method,
            dry_run: !request.execute,
            filters: request.filters.iter().map(ToString::to_string).collect(),
            scanned: 0,
            matched: 0,
            moved: 0,
            failed: 0,
            duplicated: 0,
            message_ids: Vec::new(),
            task_handle: None,
            task_status: None,
        }
    }
}

/// The whole DLQ through a message move task (`bw_ops::redrive`), watched until it ends.
async fn move_task(ops: &Ops, dlq: &QueueRef, request: &Request) -> anyhow::Result<Summary> {
    let mut summary = Summary::new(dlq, request.to.as_ref(), Method::MessageMoveTask, request);
    let planned = match bw_ops::redrive::move_all(ops, dlq, request.to.as_ref(), request.rate, request.execute).await {
        Ok(planned) => planned,
        Err(running @ RedriveError::AlreadyRunning(_)) => anyhow::bail!("{running}; see `ctl dlq status`"),
        Err(RedriveError::Failed(error)) => return Err(error),
    };
    summary.scanned = usize::try_from(planned.depth.visible).unwrap_or(0);
    summary.matched = summary.scanned;
    if !request.execute {
        return Ok(summary);
    }
    let Some(started) = planned.started else {
        summary.task_status = Some("NOTHING TO MOVE".to_owned());
        return Ok(summary);
    };
    summary.task_handle = Some(started.handle.clone());
    let progress = Progress::new(request.progress, summary.matched as u64, "moving");
    let mut unlisted = 0;
    loop {
        let Some(task) = bw_ops::redrive::find(ops, dlq, &started).await? else {
            unlisted += 1;
            anyhow::ensure!(
                unlisted < 120,
                "the message move task {} does not show in ListMessageMoveTasks",
                started.handle
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        progress.set(u64::try_from(task.moved).unwrap_or(0), task.to_move.and_then(|n| u64::try_from(n).ok()));
        if !task.is_active() {
            summary.moved = usize::try_from(task.moved).unwrap_or(0);
            summary.task_status = Some(task.status.clone());
            progress.finish();
            anyhow::ensure!(
                task.status == "COMPLETED",
                "the message move task ended {}: {}",
                task.status,
                task.failure_reason.unwrap_or_default()
            );
            return Ok(summary);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How long a scanned message stays hidden: a scan that takes longer sees messages again (and skips them by id).
const HOLD: Duration = Duration::from_secs(300);

/// Matching messages, one by one: send to `destination`, then delete from the DLQ. The rest are released, also
/// when the scan stops on an error, so no message stays hidden for the hold.
async fn receive_send_delete(
    ops: &Ops,
    dlq: &QueueRef,
    destination: &QueueRef,
    request: &Request,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::new(dlq, Some(destination), Method::ReceiveSendDelete, request);
    let mut keep: HashMap<String, Peeked> = HashMap::new();
    let reasons = if request.filters.iter().any(|f| matches!(f.key, crate::filter::Key::Reason)) {
        peek::Reasons::open(request.database_url.as_deref())?
    } else {
        None
    };
    let scanned = scan(ops, dlq, destination, request, reasons.as_ref(), &mut summary, &mut keep).await;
    let released = peek::release(ops, &dlq.url, &keep.values().collect::<Vec<_>>()).await;
    scanned?;
    released?;
    Ok(summary)
}

async fn scan(
    ops: &Ops,
    dlq: &QueueRef,
    destination: &QueueRef,
    request: &Request,
    reasons: Option<&peek::Reasons>,
    summary: &mut Summary,
    keep: &mut HashMap<String, Peeked>,
) -> anyhow::Result<()> {
    let cap = request.max.unwrap_or(usize::MAX);
    let depth = ops.depth(&dlq.url).await?;
    // Messages that arrive during the scan are left for the next one: a redrive never chases its own tail.
    let scan_limit = usize::try_from(depth.visible + depth.in_flight).unwrap_or(0).saturating_mul(2).max(100);
    let estimate = u64::try_from(depth.visible).unwrap_or(0).min(cap as u64);
    let progress = Progress::new(request.progress, estimate, if request.execute { "moving" } else { "scanning" });
    let mut pace = request.rate.map(|rate| {
        let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every
    });
    let mut seen = HashSet::new();
    let mut empty_in_a_row = 0;
    while summary.matched < cap && summary.scanned < scan_limit && empty_in_a_row < 2 {
        let mut batch = peek::receive_batch(ops, &dlq.url, 10, HOLD).await?;
        // A message seen before is back because the scan outlived the hold: keep its newest receipt handle.
        batch.retain_mut(|m| {
            if seen.insert(m.message_id.clone()) {
                return true;
            }
            if let Some(kept) = keep.get_mut(&m.message_id) {
                kept.receipt_handle = std::mem::take(&mut m.receipt_handle);
            }
            false
        });
        if batch.is_empty() {
            empty_in_a_row += 1;
            continue;
        }
        empty_in_a_row = 0;
        if let Some(reasons) = reasons {
            reasons.attach(&mut batch).await?;
        }
        for message in batch {
            summary.scanned += 1;
            if summary.matched >= cap || !all_match(&request.filters, &message) {
                keep.insert(message.message_id.clone(), message);
                continue;
            }
            summary.matched += 1;
            if summary.message_ids.len() < 100 {
                summary.message_ids.push(message.message_id.clone());
            }
            if !request.execute {
                keep.insert(message.message_id.clone(), message);
                progress.inc();
                continue;
            }
            if let Some(pace) = &mut pace {
                pace.tick().await;
            }
            match move_one(ops, dlq, destination, &message).await {
                Moved::Yes => summary.moved += 1,
                Moved::SentNotDeleted => summary.duplicated += 1,
                Moved::No => {
                    summary.failed += 1;
                    keep.insert(message.message_id.clone(), message);
                }
            }
            progress.inc();
        }
    }
    progress.finish();
    Ok(())
}

enum Moved {
    Yes,
    SentNotDeleted,
    No,
}

/// Sends `message` (same body and attributes) to `destination`, then deletes it from the DLQ.
async fn move_one(ops: &Ops, dlq: &QueueRef, destination: &QueueRef, message: &Peeked) -> Moved {
    let mut send = ops.sqs().send_message().queue_url(&destination.url).message_body(&message.body);
    if let Some(attributes) = message.raw.as_ref().and_then(|m| m.message_attributes.clone()) {
        send = send.set_message_attributes(Some(attributes));
    }
    if let Err(error) = send.send().await {
        eprintln!("could not send {} to {}: {}; it stays in {}", message.message_id, destination.name, error, dlq.name);
        return Moved::No;
    }
    match ops.sqs().delete_message().queue_url(&dlq.url).receipt_handle(&message.receipt_handle).send().await {
        Ok(_) => Moved::Yes,
        Err(error) => {
            eprintln!(
                "sent {} to {} but could not delete it from {}: {}; it is in both queues",
                message.message_id, destination.name, dlq.name, error
            );
            Moved::SentNotDeleted
        }
    }
}
