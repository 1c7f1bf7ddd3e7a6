//! The `llm-jobs` consumer. One delivery polls one job under its lease: a duplicate message finds the job leased and
//! skips it (acknowledged: the worker holding the lease re-enqueues the job, and dispatch is the safety net).
//!
//! A crash between creating a response at OpenAI and recording its id leaves the item `pending`: the next worker
//! submits it again (one extra submission), and the orphaned response is never read, so no decision is applied
//! twice. Decisions land through `entity_flags`' primary key, at most once per entity and job.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bw_db::llm::{self, Decision, ItemEnd, ItemStatus, LlmJob, LlmJobItem};
use bw_db::{PgPool, pool};
use bw_messages::parse_llm_job_message;
use bw_openai::{OpenAi, OpenAiError, Response, ResponseStatus};
use bw_queue::{Failure, Invocation, Outgoing, Queue, RecordHandler, SqsMessage};
use diesel_async::AsyncConnection as _;
use futures::StreamExt as _;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::delay::{next_delay, poll_budget};
use crate::settings::Settings;
use crate::stats::Stats;

/// The worker, built once in `main`.
pub struct Worker<Q> {
    pub pool: PgPool,
    pub openai: OpenAi,
    pub queue: Q,
    /// The `llm-jobs` queue, where a running job is re-enqueued with a delay.
    pub queue_url: String,
    pub settings: Settings,
}

fn transient(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Transient(e.into())
}

impl<Q: Queue> RecordHandler for Worker<Q> {
    async fn handle(&self, record: &SqsMessage, invocation: &Invocation) -> Result<(), Failure> {
        let body = record.body.as_deref().unwrap_or_default();
        let message = parse_llm_job_message(body).map_err(|e| Failure::Permanent(e.into()))?;
        let deadline = invocation.deadline_less(Duration::from_secs(10));
        let span = tracing::info_span!("llm_job", job.id = %message.job_id);
        let stats = self.poll_job(message.job_id, deadline).instrument(span).await?;
        stats.report("worker");
        Ok(())
    }

    async fn on_failure(&self, record: &SqsMessage, failure: &Failure) {
        bw_maintenance::failures::record(&self.pool, record, failure).await;
    }
}

impl<Q: Queue> Worker<Q> {
    /// Polls one job: claims it or skips it, works it, then resolves it or re-enqueues it.
    pub async fn poll_job(&self, job_id: Uuid, deadline: Option<Instant>) -> Result<Stats, Failure> {
        let owner = Uuid::new_v4();
        let mut conn = pool::conn(&self.pool).await.map_err(transient)?;
        let Some(job) = llm::claim(&mut conn, job_id, owner, self.settings.lease_secs).await.map_err(transient)? else {
            return match llm::load(&mut conn, job_id).await.map_err(transient)? {
                None => Err(Failure::Permanent(anyhow::anyhow!("LLM job {job_id} does not exist"))),
                Some(job) if !llm::UNRESOLVED.contains(&job.status.as_str()) => {
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
        if job.mode == "batch" {
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
        let delay = next_delay(&job.mode);
        llm::release(&mut conn, job.id, owner, i64::from(delay)).await?;
        drop(conn);
        self.queue.send(&self.queue_url, Outgoing::llm_job(job.id, Some(delay))).await?;
        tracing::info!(delay_secs = delay, "job re-enqueued");
        Ok(())
    }

    /// Submits up to `cap` pending items; returns how many it tried.
    async fn submit_pending(&self, job: &LlmJob, openai: &OpenAi, cap: i64, stats: &mut Stats) -> anyhow::Result<i64> {
        let items = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_items(&mut conn, job.id, ItemStatus::Pending, cap).await?
        };
        if items.is_empty() {
            return Ok(0);
        }
        let texts = {
            let mut conn = pool::conn(&self.pool).await?;
            let ids: Vec<i64> = items.iter().map(|i| i.entity_id).collect();
            llm::posting_texts(&mut conn, &ids, self.settings.max_input_chars).await?
        };
        let tried = i64::try_from(items.len())?;
        let outcomes: Vec<Step> = futures::stream::iter(items)
            .map(|item| {
                let text = texts.get(&item.entity_id).cloned();
                async move { self.submit_one(job, openai, item, text).await }
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        stats.tally(outcomes);
        Ok(tried)
    }

    async fn submit_one(&self, job: &LlmJob, openai: &OpenAi, item: LlmJobItem, text: Option<String>) -> Step {
        let Some(text) = text else {
            let end = failed("the posting no longer exists");
            return self.end(job, item.item_id, &end).await;
        };
        let metadata = BTreeMap::from([
            ("job_id".to_owned(), job.id.to_string()),
            ("item_id".to_owned(), item.item_id.to_string()),
        ]);
        match openai.create_background_response(&job.model, &job.instructions, &text, &metadata).await {
            Ok(response) => {
                let recorded = async {
                    let mut conn = pool::conn(&self.pool).await?;
                    conn.transaction::<_, anyhow::Error, _>(async |c| {
                        llm::mark_submitted(c, job.id, item.item_id, &response.id).await
                    })
                    .await
                };
                match recorded.await {
                    Ok(_) => Step::Submitted,
                    Err(e) => Step::Error(format!("{e:#}")),
                }
            }
            Err(e) if e.is_retryable() => Step::Error(e.to_string()),
            Err(e) => self.end(job, item.item_id, &failed(&format!("OpenAI refused the request: {e}"))).await,
        }
    }

    /// Polls the job's budget of submitted items (at most `cap`), least recently polled first, records the ones that
    /// ended, and sets the next budget from how many did.
    async fn poll_submitted(&self, job: &LlmJob, openai: &OpenAi, cap: i64, stats: &mut Stats) -> anyhow::Result<()> {
        let budget = if job.poll_budget > 0 { job.poll_budget } else { poll_budget(job.items_total, 0) };
        let cap = cap.min(i64::from(budget));
        if cap == 0 {
            return Ok(());
        }
        let items = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_items(&mut conn, job.id, ItemStatus::Submitted, cap).await?
        };
        if items.is_empty() {
            return Ok(());
        }
        stats.items_polled += u64::try_from(items.len())?;
        let outcomes: Vec<(i32, Step)> = futures::stream::iter(items)
            .map(|item| async move {
                let id = item.response_id.clone().unwrap_or_default();
                let step = match openai.retrieve_response(&id).await {
                    Ok(response) if response.status.is_terminal() => {
                        self.end(job, item.item_id, &item_end(&response)).await
                    }
                    Ok(_) => Step::Running,
                    Err(OpenAiError::Api { status: 404, .. }) => {
                        self.end(job, item.item_id, &failed("OpenAI no longer knows this response")).await
                    }
                    Err(e) => Step::Error(e.to_string()),
                };
                (item.item_id, step)
            })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let running: Vec<i32> =
            outcomes.iter().filter(|(_, s)| matches!(s, Step::Running)).map(|(id, _)| *id).collect();
        if !running.is_empty() {
            let mut conn = pool::conn(&self.pool).await?;
            llm::touch_polled(&mut conn, job.id, &running).await?;
        }
        let found = outcomes.iter().filter(|(_, s)| matches!(s, Step::Ended)).count();
        let mut conn = pool::conn(&self.pool).await?;
        llm::set_poll_budget(&mut conn, job.id, poll_budget(job.items_total, i32::try_from(found)?)).await?;
        stats.tally(outcomes.into_iter().map(|(_, s)| s));
        Ok(())
    }

    /// Cancels up to `cap` open items: at OpenAI too (the batch, or each submitted response; best effort), then here.
    async fn cancel(&self, job: &LlmJob, openai: &OpenAi, cap: i64, stats: &mut Stats) -> anyhow::Result<()> {
        if let Some(batch_id) = &job.batch_id
            && let Err(e) = openai.cancel_batch(batch_id).await
        {
            tracing::warn!(batch.id = %batch_id, error = %e, "cancel of the batch at OpenAI failed; cancelling here anyway");
        }
        let mut items = {
            let mut conn = pool::conn(&self.pool).await?;
            let mut open = llm::open_items(&mut conn, job.id, ItemStatus::Submitted, cap).await?;
            open.extend(llm::open_items(&mut conn, job.id, ItemStatus::Pending, cap).await?);
            open
        };
        items.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        let cancelled = ItemEnd { status: ItemStatus::Cancelled, output_text: None, decision: None, error: None };
        let outcomes: Vec<Step> = futures::stream::iter(items)
            .map(|item| {
                let cancelled = cancelled.clone();
                async move {
                    if let Some(id) = item.response_id.as_ref().filter(|_| job.batch_id.is_none())
                        && let Err(e) = openai.cancel_response(id).await
                    {
                        tracing::warn!(item.id = item.item_id, error = %e, "cancel at OpenAI failed; cancelling here anyway");
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

    /// Ends one item in its own transaction.
    pub(crate) async fn end(&self, job: &LlmJob, item_id: i32, end: &ItemEnd) -> Step {
        let done = async {
            let mut conn = pool::conn(&self.pool).await?;
            conn.transaction::<_, anyhow::Error, _>(async |c| {
                llm::end_item(c, job.id, &job.user_id, item_id, end).await
            })
            .await
        };
        match done.await {
            Ok(true) => Step::Ended,
            Ok(false) => Step::Running,
            Err(e) => Step::Error(format!("{e:#}")),
        }
    }
}

/// What happened to one item in this invocation.
pub(crate) enum Step {
    Submitted,
    Ended,
    Running,
    Error(String),
}

pub(crate) fn failed(reason: &str) -> ItemEnd {
    ItemEnd { status: ItemStatus::Failed, output_text: None, decision: None, error: Some(reason.to_owned()) }
}

/// How a terminal response ends its item: a completed one with a readable decision completes it; a malformed
/// answer, a failure or an incomplete answer fails it with the reason; a cancelled one is cancelled.
pub fn item_end(response: &Response) -> ItemEnd {
    let output_text = response.output_text();
    match response.status {
        ResponseStatus::Completed => match response.decision() {
            Ok(d) => ItemEnd {
                status: ItemStatus::Completed,
                output_text,
                decision: Some(Decision { flag: d.flag, label: d.label, reason: d.reason }),
                error: None,
            },
            Err(e) => ItemEnd { output_text, ..failed(&format!("malformed answer: {e}")) },
        },
        ResponseStatus::Cancelled => {
            ItemEnd { status: ItemStatus::Cancelled, output_text, decision: None, error: None }
        }
        _ => {
            let reason = response
                .decision()
                .err()
                .map_or_else(|| format!("response {}", response.status.as_str()), |e| e.to_string());
            ItemEnd { output_text, ..failed(&reason) }
        }
    }
}
