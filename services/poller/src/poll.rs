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
use bw_db::{PgConn, pool};
use bw_messages::{LlmJobMessage, parse_llm_job_message};
use bw_openai::OpenAi;
use bw_queue::{Failure, Invocation, Outgoing, Queue, RecordHandler, SqsMessage};
use futures::StreamExt as _;
use uuid::Uuid;

use crate::batch::Window;
use crate::caps;
use crate::delay::{ACTIVE_SECS, Cadence, at_least_asked, delay_at};
use crate::item::Step;
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
        let stats = self.poll_job_from(message.job_id, message.loop_token, deadline).await?;
        stats.report("worker");
        Ok(())
    }

    async fn on_failure(&self, record: &SqsMessage, failure: &Failure) {
        bw_maintenance::failures::record(&self.pool, record, failure).await;
    }
}

impl<Q: Queue> Worker<Q> {
    /// Polls one job as a wake would (no loop token): claims it or skips it, works it, then resolves it or
    /// re-enqueues it (when it holds the job's loop, or something was pushed meanwhile).
    pub async fn poll_job(&self, job_id: Uuid, deadline: Option<Instant>) -> Result<Stats, Failure> {
        self.poll_job_from(job_id, None, deadline).await
    }

    /// Polls one job for a message carrying `loop_token` (the job's loop message) or none (a wake).
    #[tracing::instrument(name = "llm_job", skip_all, fields(job.id = %job_id, looping = loop_token.is_some()))]
    pub async fn poll_job_from(
        &self,
        job_id: Uuid,
        loop_token: Option<Uuid>,
        deadline: Option<Instant>,
    ) -> Result<Stats, Failure> {
        let owner = Uuid::new_v4();
        let mut conn = pool::conn(&self.pool).await.map_err(transient)?;
        let Some(job) = llm::claim(&mut conn, job_id, owner, self.settings.lease_secs).await.map_err(transient)? else {
            return match llm::load(&mut conn, job_id).await.map_err(transient)? {
                None => Err(Failure::Permanent(anyhow::anyhow!("LLM job {job_id} does not exist"))),
                Some(job) if job.status.is_resolved() => {
                    tracing::info!(status = %job.status, "job already resolved; acknowledging");
                    Ok(Stats::default())
                }
                Some(_) => self.while_held(&mut conn, job_id, loop_token).await.map_err(transient),
            };
        };
        drop(conn);
        let lease_secs = self.settings.lease_secs;
        let _renewal = bw_db::lease::keep(self.pool.clone(), lease_secs, move |mut conn| async move {
            llm::renew(&mut conn, job_id, owner, lease_secs).await
        });
        let budget_end = Instant::now() + self.settings.budget;
        let until = deadline.map_or(budget_end, |d| d.min(budget_end));
        let openai = self.openai.with_deadline(until);
        let mut stats = Stats { jobs_polled: 1, ..Stats::default() };
        let worked = self.work(&job, &openai, until, &mut stats).await;
        let settled = self.settle(&job, owner, loop_token, &mut stats).await;
        worked.and(settled).map_err(transient)?;
        Ok(stats)
    }

    /// One invocation's work on the job, to be done by `until` (the invocation's deadline or its budget).
    async fn work(&self, job: &LlmJob, openai: &OpenAi, until: Instant, stats: &mut Stats) -> anyhow::Result<()> {
        let cap = self.settings.max_items_per_invocation;
        if job.cancel_requested_at.is_some() {
            return self.cancel(job, openai, cap, stats).await;
        }
        let window = match job.mode {
            JobMode::Batch => self.batch_window(job).await?,
            JobMode::Background => Window::Age,
        };
        // The job's times come from the database's clock and `now` from this host's: both are NTP-synchronised, and
        // the caps are meant in hours. Results being applied are not judged: they are there.
        let now = chrono::Utc::now();
        let overdue = match window {
            Window::Age => caps::overdue(job.created_at, None, now, &self.settings.caps),
            Window::Closes(closes) => caps::overdue(job.created_at, Some(closes), now, &self.settings.caps),
            Window::Applying => None,
        };
        if let Some(reason) = overdue {
            return self.give_up_job(job, openai, &reason, stats).await;
        }
        if job.mode == JobMode::Batch {
            return self.work_batch(job, openai, until, stats).await;
        }
        let round = Instant::now();
        let submitted = self.submit_pending(job, openai, cap, stats).await?;
        self.poll_submitted(job, openai, (cap - submitted).max(0), stats).await?;
        self.submit_more(job, openai, until, (submitted, round.elapsed()), stats).await
    }

    /// Goes on submitting a background job's pending items, a round of `POLL_MAX_ITEMS` at a time, while the last
    /// round was full, OpenAI asked no round to wait (a rate limit), and another round of the last one's length fits
    /// twice before `until`: a job's throughput is set by the rate limit and the invocation's time, not by one round.
    /// With webhooks on, the last round's unused share reads what was pushed meanwhile.
    async fn submit_more(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        until: Instant,
        (mut last, mut took): (i64, Duration),
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        let cap = self.settings.max_items_per_invocation;
        while last == cap && stats.retry_after.is_none() && stats.items_waiting == 0 && stats.errors == 0 {
            if Instant::now() + took * 2 >= until {
                break;
            }
            let round = Instant::now();
            last = self.submit_pending(job, openai, cap, stats).await?;
            if matches!(self.settings.cadence, Cadence::Webhooks { .. }) {
                self.poll_submitted(job, openai, (cap - last).max(0), stats).await?;
            }
            took = round.elapsed();
        }
        Ok(())
    }

    /// A message for a job another worker holds: a wake is dropped (the holder reads what was pushed after giving
    /// the job back); the job's loop message comes back in [`ACTIVE_SECS`], so the loop outlives the other
    /// invocation (which, unless it holds the loop, sends no message of its own).
    async fn while_held(&self, conn: &mut PgConn, job_id: Uuid, loop_token: Option<Uuid>) -> anyhow::Result<Stats> {
        match loop_token {
            Some(token) if llm::holds_loop(conn, job_id, token).await? => {
                let again = LlmJobMessage::looping(job_id, token);
                self.queue.send(&self.queue_url, Outgoing::llm_job_message(&again, Some(ACTIVE_SECS))).await?;
                tracing::info!(delay_secs = ACTIVE_SECS, "job is held by another worker; its loop comes back later");
            }
            _ => tracing::info!("job is held by another worker; skipping this message"),
        }
        Ok(Stats::default())
    }

    /// Resolves the job if nothing is open; else releases it with its next poll time and, when this invocation
    /// holds the job's loop (`loop_token`), passes the loop on with a delayed message; any invocation sends the job
    /// at once when something was pushed while it held the job.
    async fn settle(
        &self,
        job: &LlmJob,
        owner: Uuid,
        loop_token: Option<Uuid>,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        let mut conn = pool::conn(&self.pool).await?;
        if let Some(status) = llm::resolve_if_done(&mut conn, job.id).await? {
            tracing::info!(%status, "job resolved");
            stats.jobs_resolved += 1;
            return llm::release(&mut conn, job.id, owner, 0).await;
        }
        let pending = llm::ready_work(&mut conn, job.id).await?.pending;
        let next_loop = llm::pass_loop(&mut conn, job.id, loop_token, stats.items_updated > 0).await?;
        let idle_polls = next_loop.map_or(0, |l| l.idle_polls);
        let busy = pending > 0 || stats.backlog;
        let delay = match job.mode {
            // A batch job whose invocation ran out of time (batches left to submit or to apply) goes on soon.
            JobMode::Batch if stats.backlog => at_least_asked(ACTIVE_SECS, stats.retry_after),
            _ => delay_at(self.settings.cadence, job.mode, busy, idle_polls, stats.retry_after),
        };
        llm::release(&mut conn, job.id, owner, i64::from(delay)).await?;
        // Looked at after the lease is given back: an event that came while this worker held the job found it
        // leased (its message skipped, or none sent: see `bw_db::webhooks`), so what it announced is read now
        // rather than at the job's next poll.
        let ready = llm::ready_work(&mut conn, job.id).await?;
        drop(conn);
        let batch_pushed = ready.batches_pushed > 0;
        // At once for what was pushed meanwhile; but when reads failed or waited in this invocation, the pushed
        // items still open may be those, and they are tried again after the usual short delay, not in a tight loop.
        let unread = stats.errors > 0 || stats.items_waiting > 0;
        let pushed = ready.pushed > 0 || batch_pushed;
        let delay = match (pushed, unread) {
            (true, false) => at_least_asked(0, stats.retry_after),
            (true, true) => delay.min(at_least_asked(ACTIVE_SECS, stats.retry_after)),
            (false, _) => delay,
        };
        // Without the loop, pushed items still open are sent a wake: at once, or, when reads failed or waited, after
        // the short delay provided this invocation made progress (a read that keeps failing is left to the loop).
        let wake = pushed && (!unread || stats.items_updated > 0);
        let message = match (next_loop, wake) {
            (Some(passed), _) => LlmJobMessage::looping(job.id, passed.token),
            (None, true) => LlmJobMessage::new(job.id),
            (None, false) => {
                tracing::info!(next_poll_secs = delay, "job released; its loop message is on its way");
                return Ok(());
            }
        };
        self.queue.send(&self.queue_url, Outgoing::llm_job_message(&message, Some(delay))).await?;
        tracing::info!(
            delay_secs = delay,
            looping = next_loop.is_some(),
            pushed_waiting = ready.pushed,
            batch_pushed,
            "job re-enqueued"
        );
        Ok(())
    }

    /// Cancels the job's open items, at OpenAI too (best effort): a batch job's batches and all its items at once; a
    /// background job's submitted responses and items, up to `cap` of them.
    async fn cancel(&self, job: &LlmJob, openai: &OpenAi, cap: i64, stats: &mut Stats) -> anyhow::Result<()> {
        if job.mode == JobMode::Batch {
            return self.cancel_batches(job, openai, stats).await;
        }
        let mut items = {
            let mut conn = pool::conn(&self.pool).await?;
            let mut open = llm::open_items(&mut conn, job.id, ItemStatus::Submitted, cap).await?;
            open.extend(llm::open_items(&mut conn, job.id, ItemStatus::Pending, cap).await?);
            open
        };
        items.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        let cancelled = ItemEnd::bare(ItemStatus::Cancelled);
        let outcomes: Vec<Step> = futures::stream::iter(items)
            .map(|item| {
                let cancelled = cancelled.clone();
                async move {
                    if let Some(id) = &item.response_id
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
