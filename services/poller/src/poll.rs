//! The `llm-jobs` consumer's work on one job. One delivery polls one job under its lease: a duplicate message finds the job leased and
//! skips it (acknowledged: the worker holding the lease re-enqueues the job, and dispatch is the safety net).
//!
//! A crash between creating a response at OpenAI and recording its id leaves the item `pending`: the next worker
//! submits it again (one extra submission), and the orphaned response is never read, so no decision is applied
//! twice. Decisions land through `entity_flags`' primary key, at most once per entity and job.
//!
//! No item is failed by our own clock: the invocation's deadline or a rate limit leaves it as it is for the next
//! invocation, and the job is re-enqueued (no sooner than OpenAI asked). Only a refusal from OpenAI fails an item at
//! once; the attempt and age caps of [`crate::caps`] fail the rest that never end, so every job resolves.

use std::time::{Duration, Instant};

use bw_db::llm::{self, ItemEnd, ItemStatus, JobMode, LlmJob};
use bw_db::pool;
use bw_messages::parse_llm_job_message;
use bw_openai::OpenAi;
use bw_queue::{Failure, Invocation, Outgoing, Queue, RecordHandler, SqsMessage};
use futures::StreamExt as _;
use uuid::Uuid;

use crate::caps;
use crate::delay::{at_least_asked, delay_at};
use crate::item::Step;
use crate::settings::Caps;
use crate::stats::Stats;
use crate::worker::Worker;

fn transient(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Transient(e.into())
}

impl<Q: Queue> RecordHandler for Worker<Q> {
    async fn handle(&self, record: &SqsMessage, invocation: &Invocation) -> Result<(), Failure> {
        let body = record.body.as_deref().unwrap_or_default();
        let message = parse_llm_job_message(body).map_err(|e| Failure::Permanent(e.into()))?;
        let deadline = invocation.deadline_less(Duration::from_secs(10));
        let stats = self.poll_job(message.job_id, deadline).await?;
        stats.report("worker");
        Ok(())
    }

    async fn on_failure(&self, record: &SqsMessage, failure: &Failure) {
        bw_maintenance::failures::record(&self.pool, record, failure).await;
    }
}

impl<Q: Queue> Worker<Q> {
    /// Polls one job: claims it or skips it, works it, then resolves it or re-enqueues it.
    #[tracing::instrument(name = "llm_job", skip_all, fields(job.id = %job_id))]
    pub async fn poll_job(&self, job_id: Uuid, deadline: Option<Instant>) -> Result<Stats, Failure> {
        let owner = Uuid::new_v4();
        let mut conn = pool::conn(&self.pool).await.map_err(transient)?;
        let Some(job) = llm::claim(&mut conn, job_id, owner, self.settings.lease_secs).await.map_err(transient)? else {
            return match llm::load(&mut conn, job_id).await.map_err(transient)? {
                None => Err(Failure::Permanent(anyhow::anyhow!("LLM job {job_id} does not exist"))),
                Some(job) if job.status.is_resolved() => {
                    tracing::info!(status = %job.status, "job already resolved; acknowledging");
                    Ok(Stats::default())
                }
                Some(_) => {
                    tracing::info!("job is held by another worker; skipping this message");
                    Ok(Stats::default())
                }
            };
        };
        drop(conn);
        let lease_secs = self.settings.lease_secs;
        let _renewal = bw_db::lease::keep(self.pool.clone(), lease_secs, move |mut conn| async move {
            llm::renew(&mut conn, job_id, owner, lease_secs).await
        });
        let budget_end = Instant::now() + self.settings.budget;
        let openai = self.openai.with_deadline(deadline.map_or(budget_end, |d| d.min(budget_end)));
        let mut stats = Stats { jobs_polled: 1, ..Stats::default() };
        let worked = self.work(&job, &openai, &mut stats).await;
        let settled = self.settle(&job, owner, &mut stats).await;
        worked.and(settled).map_err(transient)?;
        Ok(stats)
    }

    async fn work(&self, job: &LlmJob, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        let cap = self.settings.max_items_per_invocation;
        if job.cancel_requested_at.is_some() {
            return self.cancel(job, openai, cap, stats).await;
        }
        if let Some(reason) = overdue(job, &self.settings.caps) {
            return self.give_up_job(job, openai, &reason, stats).await;
        }
        if job.mode == JobMode::Batch {
            return self.work_batch(job, openai, stats).await;
        }
        let submitted = self.submit_pending(job, openai, cap, stats).await?;
        self.poll_submitted(job, openai, (cap - submitted).max(0), stats).await
    }

    /// Resolves the job if nothing is open; else releases it with its next poll time and re-enqueues it.
    async fn settle(&self, job: &LlmJob, owner: Uuid, stats: &mut Stats) -> anyhow::Result<()> {
        let mut conn = pool::conn(&self.pool).await?;
        if let Some(status) = llm::resolve_if_done(&mut conn, job.id).await? {
            tracing::info!(%status, "job resolved");
            stats.jobs_resolved += 1;
            return llm::release(&mut conn, job.id, owner, 0).await;
        }
        let pending = llm::ready_work(&mut conn, job.id).await?.pending;
        let delay = delay_at(self.settings.cadence, job.mode, pending > 0, stats.retry_after);
        llm::release(&mut conn, job.id, owner, i64::from(delay)).await?;
        // Looked at after the lease is given back: an event that came while this worker held the job found it
        // leased (its message skipped, or none sent: see `bw_db::webhooks`), so what it announced is read now
        // rather than at the job's next poll.
        let ready = llm::ready_work(&mut conn, job.id).await?;
        drop(conn);
        let batch_pushed = job.batch_pushed_at.is_none() && ready.batch_pushed_at.is_some();
        let delay = if ready.pushed > 0 || batch_pushed { at_least_asked(0, stats.retry_after) } else { delay };
        self.queue.send(&self.queue_url, Outgoing::llm_job(job.id, Some(delay))).await?;
        tracing::info!(delay_secs = delay, pushed_waiting = ready.pushed, batch_pushed, "job re-enqueued");
        Ok(())
    }

    /// Cancels up to `cap` open items: at OpenAI too (the batch, or each submitted response; best effort), then here.
    async fn cancel(&self, job: &LlmJob, openai: &OpenAi, cap: i64, stats: &mut Stats) -> anyhow::Result<()> {
        if let Some(batch_id) = &job.batch_id
            && let Err(e) = openai.cancel_batch(batch_id).await
        {
            tracing::warn!(batch.id = %batch_id, error = %bw_telemetry::chain(&e), "cancel of the batch at OpenAI failed; cancelling here anyway");
        }
        let mut items = {
            let mut conn = pool::conn(&self.pool).await?;
            let mut open = llm::open_items(&mut conn, job.id, ItemStatus::Submitted, cap).await?;
            open.extend(llm::open_items(&mut conn, job.id, ItemStatus::Pending, cap).await?);
            open
        };
        items.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        let cancelled = ItemEnd {
            status: ItemStatus::Cancelled,
            output_text: None,
            decision: None,
            error: None,
            learnt: None,
            usage: None,
        };
        let outcomes: Vec<Step> = futures::stream::iter(items)
            .map(|item| {
                let cancelled = cancelled.clone();
                async move {
                    if let Some(id) = item.response_id.as_ref().filter(|_| job.batch_id.is_none())
                        && let Err(e) = openai.cancel_response(id).await
                    {
                        tracing::warn!(item.id = item.item_id, error = %bw_telemetry::chain(&e), "cancel at OpenAI failed; cancelling here anyway");
                    }
                    self.end(job, item.item_id, &cancelled).await
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        stats.tally(outcomes);
        Ok(())
    }
}

/// Why the job's open items are given up for their age now, if they are (see [`caps::overdue`]). The job's times
/// come from the database's clock and `now` from this host's: both are NTP-synchronised, and the caps are meant
/// in hours.
fn overdue(job: &LlmJob, caps: &Caps) -> Option<String> {
    let window = match &job.batch_id {
        Some(_) => Some(caps::window_closes(job.batch_expires_at, job.created_at)?),
        None => None,
    };
    caps::overdue(job.created_at, window, chrono::Utc::now(), caps)
}
