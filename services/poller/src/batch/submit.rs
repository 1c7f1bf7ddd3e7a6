//! Writing and sending a batch job's batches: its pending items in item order, a page of postings at a time, into
//! input files within the batch limits, each uploaded and created at OpenAI and recorded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bw_db::llm::{self, LlmJob, NewBatch};
use bw_db::llm_tries::Scope;
use bw_db::pool;
use bw_openai::{Batch, OpenAi, OpenAiError};
use bw_queue::Queue;
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection as _;

use super::{custom_id, is_token_limit};
use crate::batch_file::{InputFile, Pushed, Written};
use crate::caps::{BATCH_WINDOW, Request};
use crate::item::failed;
use crate::stats::Stats;
use crate::worker::Worker;

/// Pending items read (with their postings' texts) at a time while an input file is written.
const PAGE: i64 = 1_000;

/// Least time left in the invocation to start writing and sending a batch (a 200 MB file takes seconds to write and
/// upload): a batch created at OpenAI after the deadline cut the call short would run unrecorded.
const SUBMIT_MIN_LEFT: Duration = Duration::from_secs(30);

impl<Q: Queue> Worker<Q> {
    /// Submits batches of the job's pending items while at least [`SUBMIT_MIN_LEFT`] (or half the budget, if
    /// shorter) and twice the last one's time are left before `until`; what is left is the next invocation's (soon: the job has a backlog). After OpenAI
    /// failed one of the job's batches for its enqueued-token limit, no more are submitted while others run.
    pub(super) async fn submit_batches(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        until: Instant,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        let mut took = Duration::ZERO;
        loop {
            let (pending, throttled) = {
                let mut conn = pool::conn(&self.pool).await?;
                let pending = llm::ready_work(&mut conn, job.id).await?.pending > 0;
                let batches = llm::batches(&mut conn, job.id).await?;
                let running = batches.iter().any(|b| b.done_at.is_none() && b.outcome.is_none());
                (pending, running && batches.iter().any(|b| is_token_limit(b.error.as_deref())))
            };
            if !pending || throttled {
                return Ok(());
            }
            // A shorter budget (a test's) asks for half of it.
            let floor = SUBMIT_MIN_LEFT.min(self.settings.budget / 2);
            if Instant::now() + floor.max(took * 2) >= until {
                stats.backlog = true;
                return Ok(());
            }
            let started = Instant::now();
            let Some(file) = self.write_input(job, stats).await? else { return Ok(()) };
            let batch = match send_batch(job, openai, &file).await {
                Ok(batch) => batch,
                Err(e) => {
                    let refused = "OpenAI refused the batch";
                    let scope = Scope::Items(&file.item_ids);
                    self.after_batch_error(job, scope, (Request::Submit, refused), &e, stats).await?;
                    return Ok(());
                }
            };
            let new = NewBatch {
                batch_id: &batch.id,
                input_file_id: batch.input_file_id.as_deref().unwrap_or_default(),
                item_ids: &file.item_ids,
                input_bytes: i64::try_from(file.bytes)?,
                expires_at: expires_at(&batch),
            };
            let mut conn = pool::conn(&self.pool).await?;
            let n = conn.transaction::<_, anyhow::Error, _>(async |c| llm::record_batch(c, job.id, &new).await).await?;
            tracing::info!(
                batch.id = %batch.id, items = n, bytes = file.bytes, expires_at = %new.expires_at, "batch submitted"
            );
            stats.items_updated += u64::try_from(n)?;
            took = started.elapsed();
        }
    }

    /// Writes the next batch's input file from the job's pending items in item order, until a limit is reached or
    /// none is left; `None` when there was none to write. An item whose posting is gone, or whose request alone is
    /// larger than a batch file may be, is failed on the way.
    async fn write_input(&self, job: &LlmJob, stats: &mut Stats) -> anyhow::Result<Option<Written>> {
        let mut file = InputFile::new(self.settings.batch_limits)?;
        let mut after = 0;
        'pages: loop {
            let mut conn = pool::conn(&self.pool).await?;
            let items = llm::pending_after(&mut conn, job.id, after, PAGE).await?;
            let Some(last) = items.last() else { break };
            after = last.item_id;
            let ids: Vec<i64> = items.iter().map(|i| i.entity_id).collect();
            let texts = llm::posting_texts(&mut conn, &ids, self.settings.max_input_chars).await?;
            drop(conn);
            for item in &items {
                let Some(text) = texts.get(&item.entity_id) else {
                    stats.tally([self.end(job, item.item_id, &failed("the posting no longer exists")).await]);
                    continue;
                };
                let line = bw_openai::batch_request_line(&custom_id(item.item_id), &job.model, &job.instructions, text);
                match file.push(item.item_id, &line)? {
                    Pushed::Added => {}
                    Pushed::Full => break 'pages,
                    Pushed::TooLarge { bytes } => {
                        let limit = self.settings.batch_limits.max_bytes;
                        let reason = format!("its request is {bytes} bytes, more than a batch file may hold ({limit})");
                        stats.tally([self.end(job, item.item_id, &failed(&reason)).await]);
                    }
                }
            }
        }
        Ok(file.finish()?)
    }
}

/// Uploads a batch's input file and creates the batch over it.
async fn send_batch(job: &LlmJob, openai: &OpenAi, file: &Written) -> Result<Batch, OpenAiError> {
    let (first, last) = (file.item_ids.first().copied().unwrap_or(0), file.item_ids.last().copied().unwrap_or(0));
    let name = format!("job-{}-items-{first}-{last}.jsonl", job.id);
    let uploaded = openai.upload_batch_file_from(&file.path, &name).await?;
    let metadata =
        BTreeMap::from([("job_id".to_owned(), job.id.to_string()), ("items".to_owned(), format!("{first}-{last}"))]);
    let mut batch = openai.create_batch(&uploaded.id, &metadata).await?;
    batch.input_file_id.get_or_insert(uploaded.id);
    Ok(batch)
}

/// When the batch's completion window closes: OpenAI's `expires_at`, else a full window from now.
fn expires_at(batch: &Batch) -> DateTime<Utc> {
    batch
        .expires_at
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .or_else(|| Utc::now().checked_add_signed(TimeDelta::from_std(BATCH_WINDOW).ok()?))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
