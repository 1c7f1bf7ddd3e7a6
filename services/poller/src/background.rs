//! Background mode: one Responses API request per item, submitted with `background: true`, then polled until it
//! ends. What an OpenAI error does to an item is decided in [`crate::caps`]: a refusal fails it, a wait leaves it
//! as it is, anything else is a failed try counted against its attempts.

use std::collections::BTreeMap;

use bw_db::llm::{self, ItemStatus, Learnt, LlmJob, LlmJobItem};
use bw_db::pool;
use bw_openai::{OpenAi, OpenAiError};
use bw_queue::Queue;
use diesel_async::AsyncConnection as _;
use futures::StreamExt as _;

use crate::caps::Request;
use crate::delay::{Cadence, poll_budget};
use crate::item::{Step, failed, item_end};
use crate::stats::Stats;
use crate::worker::Worker;

impl<Q: Queue> Worker<Q> {
    /// Submits up to `cap` pending items; returns how many it tried.
    pub(crate) async fn submit_pending(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        cap: i64,
        stats: &mut Stats,
    ) -> anyhow::Result<i64> {
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
            Err(e) => self.after_error(job, item.item_id, Request::Submit, "OpenAI refused the request", &e).await,
        }
    }

    /// Polls up to `cap` submitted items, those an event announced first; then, polling alone, the job's budget of
    /// the others (least recently polled first, the next budget set from how many had ended), or with webhooks on
    /// only those whose event is overdue.
    pub(crate) async fn poll_submitted(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        cap: i64,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        if cap == 0 {
            return Ok(());
        }
        let mut conn = pool::conn(&self.pool).await?;
        let mut items = llm::pushed_items(&mut conn, job.id, cap).await?;
        let rest = cap - i64::try_from(items.len())?;
        // Whatever filled its share may have left more ready than this invocation took.
        stats.backlog |= rest == 0;
        if rest > 0 {
            let others = match self.settings.cadence {
                Cadence::Webhooks { net } => {
                    let quiet = i64::try_from(net.as_secs()).unwrap_or(i64::MAX);
                    let overdue = llm::overdue_items(&mut conn, job.id, quiet, rest).await?;
                    stats.backlog |= i64::try_from(overdue.len())? == rest;
                    overdue
                }
                Cadence::Polling => {
                    let budget = if job.poll_budget > 0 { job.poll_budget } else { poll_budget(job.items_total, 0) };
                    llm::open_items(&mut conn, job.id, ItemStatus::Submitted, rest.min(i64::from(budget))).await?
                }
            };
            let pushed: std::collections::HashSet<i32> = items.iter().map(|i| i.item_id).collect();
            items.extend(others.into_iter().filter(|i| !pushed.contains(&i.item_id)));
        }
        drop(conn);
        if items.is_empty() {
            return Ok(());
        }
        stats.items_polled += u64::try_from(items.len())?;
        let outcomes: Vec<(i32, Step)> = futures::stream::iter(items)
            .map(|item| async move { (item.item_id, self.poll_one(job, openai, &item).await) })
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let running: Vec<i32> =
            outcomes.iter().filter(|(_, s)| matches!(s, Step::Running)).map(|(id, _)| *id).collect();
        let mut conn = pool::conn(&self.pool).await?;
        if !running.is_empty() {
            llm::touch_polled(&mut conn, job.id, &running).await?;
        }
        if self.settings.cadence == Cadence::Polling {
            let found = outcomes.iter().filter(|(_, s)| matches!(s, Step::Ended(_))).count();
            llm::set_poll_budget(&mut conn, job.id, poll_budget(job.items_total, i32::try_from(found)?)).await?;
        }
        stats.tally(outcomes.into_iter().map(|(_, s)| s));
        Ok(())
    }

    async fn poll_one(&self, job: &LlmJob, openai: &OpenAi, item: &LlmJobItem) -> Step {
        let id = item.response_id.clone().unwrap_or_default();
        match openai.retrieve_response(&id).await {
            Ok(response) if response.status.is_terminal() => {
                let learnt = if item.pushed_at.is_some() { Learnt::Push } else { Learnt::Poll };
                self.end(job, item.item_id, &item_end(&response).learnt(learnt)).await
            }
            Ok(_) => Step::Running,
            Err(OpenAiError::Api { status: 404, .. }) => {
                self.end(job, item.item_id, &failed("OpenAI no longer knows this response")).await
            }
            Err(e) => self.after_error(job, item.item_id, Request::Poll, "OpenAI refused the poll", &e).await,
        }
    }
}
