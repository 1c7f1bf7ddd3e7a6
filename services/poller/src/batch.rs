//! Batch mode: a job's items go to OpenAI in as many batches as they need (half the price of background responses),
//! each within [`BatchLimits`] (OpenAI's 50,000 requests and 200 MB per input file, from the lines' real sizes).
//! An invocation submits batches while its time lasts, each written to a temporary file a page of postings at a
//! time and streamed to the upload; and it reads the batches that ended, their output and error files streamed a
//! line at a time (lines come in any order, matched to items by `custom_id`) and applied in chunks of
//! [`APPLY_CHUNK`] lines, each chunk's items ended in one transaction with the count of lines applied. What its
//! time does not cover is continued by the next invocation, from where the counts say.
//!
//! A crash between creating a batch and recording it costs one extra batch; only recorded batches are ever read, so
//! no decision is applied twice. An OpenAI error about a batch stands for the job's items it could be about: a
//! refusal fails them, a wait (the deadline, a rate limit) leaves them for the next invocation, anything else is a
//! failed try of each (see [`crate::caps`]). Each batch's window end (`expires_at`) is recorded with it, for the age
//! cap.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bw_db::llm::{self, BatchEnded, ItemEnd, ItemStatus, Learnt, LlmBatch, LlmJob, NewBatch, ResultFile};
use bw_db::llm_tries::Scope;
use bw_db::pool;
use bw_openai::{Batch, BatchOutcome, BatchResult, BatchStatus, OpenAi, OpenAiError};
use bw_queue::Queue;
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection as _;

use crate::batch_file::{InputFile, Pushed, Written};
use crate::caps::{self, BATCH_WINDOW, Request};
use crate::item::{failed, item_end};
use crate::stats::Stats;
use crate::tries::BatchVerdict;
use crate::worker::Worker;

pub use crate::batch_file::BatchLimits;

/// The custom id of an item's request.
pub fn custom_id(item_id: i32) -> String {
    format!("item-{item_id}")
}

fn item_of(custom_id: &str) -> Option<i32> {
    custom_id.strip_prefix("item-")?.parse().ok()
}

/// Result lines (or leftover items) ended in one transaction.
pub const APPLY_CHUNK: usize = 500;
/// Pending items read (with their postings' texts) at a time while an input file is written.
const PAGE: i64 = 1_000;

/// What bounds how long a batch job's open items may wait before they are given up.
pub enum Window {
    /// None of its batches runs: the job's age ([`crate::Caps::max_age`]).
    Age,
    /// The last completion window of its batches running at OpenAI closes then ([`crate::Caps::batch_grace`] after).
    Closes(DateTime<Utc>),
    /// A batch that ended has results still to apply: nothing is given up meanwhile.
    Applying,
}

/// What applying a batch's result files came to.
enum Applied {
    /// Every line applied and the batch done.
    Done,
    /// The invocation's time ran out first: the next one goes on.
    OutOfTime,
    /// A file could not be read: OpenAI's error, to be dealt with as a failed poll of the batch.
    Failed(OpenAiError),
}

/// Least time left in the invocation to start writing and sending a batch (a 200 MB file takes seconds to write and
/// upload): a batch created at OpenAI after the deadline cut the call short would run unrecorded.
const SUBMIT_MIN_LEFT: Duration = Duration::from_secs(30);

impl<Q: Queue> Worker<Q> {
    /// Reads the job's batches that ended, then submits batches of its pending items, while the time lasts.
    pub(crate) async fn work_batch(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        until: Instant,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        if self.read_batches(job, openai, until, stats).await? {
            self.submit_batches(job, openai, until, stats).await?;
        }
        Ok(())
    }

    /// Submits batches of the job's pending items while at least [`SUBMIT_MIN_LEFT`] (or half the budget, if
    /// shorter) and twice the last one's time are left before `until`; what is left is the next invocation's (soon: the job has a backlog). After OpenAI
    /// failed one of the job's batches for its enqueued-token limit, no more are submitted while others run.
    async fn submit_batches(
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

    /// Looks at the job's batches with items open (those an event announced first) and applies those that ended,
    /// while the time lasts. An error about one batch is dealt with on its items alone, and the others are looked
    /// at. Returns whether the invocation may go on (not out of time, not asked to wait).
    async fn read_batches(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        until: Instant,
        stats: &mut Stats,
    ) -> anyhow::Result<bool> {
        let open = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_batches(&mut conn, job.id).await?
        };
        for mut batch in open {
            if Instant::now() >= until {
                stats.backlog = true;
                return Ok(false);
            }
            if batch.outcome.is_none() {
                stats.items_polled += u64::try_from(batch.items)?;
                let ended = match openai.retrieve_batch(&batch.batch_id).await {
                    Ok(ended) => ended,
                    Err(e) => match self.batch_error(job, &batch, "OpenAI refused to give the batch", &e, stats).await?
                    {
                        BatchVerdict::Wait => return Ok(false),
                        BatchVerdict::Noted | BatchVerdict::GivenUp => continue,
                    },
                };
                if !ended.status.is_terminal() {
                    tracing::info!(batch.id = %batch.batch_id, status = ended.status.as_str(), "batch still running");
                    if batch.pushed_at.is_some() {
                        // An event said it ended and OpenAI does not say so yet: looked at again shortly.
                        stats.items_waiting += 1;
                    }
                    continue;
                }
                let reasons = failure_reasons(&ended);
                let record = BatchEnded {
                    outcome: ended.status.as_str(),
                    output_file_id: ended.output_file_id.as_deref(),
                    error_file_id: ended.error_file_id.as_deref(),
                    error: reasons.as_deref(),
                };
                let mut conn = pool::conn(&self.pool).await?;
                llm::record_outcome(&mut conn, &batch, &record).await?;
                batch.outcome = Some(ended.status.as_str().to_owned());
                batch.output_file_id = ended.output_file_id.clone();
                batch.error_file_id = ended.error_file_id.clone();
                batch.error = reasons;
                if ended.status == BatchStatus::Failed && is_token_limit(batch.error.as_deref()) {
                    let n =
                        conn.transaction::<_, anyhow::Error, _>(async |c| llm::requeue_batch(c, &batch).await).await?;
                    tracing::warn!(batch.id = %batch.batch_id, items = n, "OpenAI's enqueued-token limit failed the batch; its items go out again later");
                    continue;
                }
            }
            match self.apply_batch(job, openai, &batch, until, stats).await? {
                Applied::Done => {}
                Applied::OutOfTime => {
                    stats.backlog = true;
                    return Ok(false);
                }
                Applied::Failed(e) => {
                    let refused = "OpenAI refused to give the batch's results";
                    if self.batch_error(job, &batch, refused, &e, stats).await? == BatchVerdict::Wait {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// An error asking about a submitted batch, dealt with on its items; a batch whose items were given up is done.
    async fn batch_error(
        &self,
        job: &LlmJob,
        batch: &LlmBatch,
        refused: &str,
        e: &OpenAiError,
        stats: &mut Stats,
    ) -> anyhow::Result<BatchVerdict> {
        let verdict = self.after_batch_error(job, Scope::Batch(batch.seq), (Request::Poll, refused), e, stats).await?;
        if verdict == BatchVerdict::GivenUp {
            let mut conn = pool::conn(&self.pool).await?;
            llm::finish_batch(&mut conn, batch).await?;
        }
        Ok(verdict)
    }

    /// Applies an ended batch's output and error files from where earlier invocations left them, then ends the
    /// items neither file mentions with the batch's own outcome, and marks it done.
    async fn apply_batch(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        batch: &LlmBatch,
        until: Instant,
        stats: &mut Stats,
    ) -> anyhow::Result<Applied> {
        let learnt = if batch.pushed_at.is_some() { Learnt::Push } else { Learnt::Poll };
        let files = [
            (ResultFile::Output, &batch.output_file_id, batch.output_lines_applied, 1),
            (ResultFile::Error, &batch.error_file_id, batch.error_lines_applied, 2),
        ];
        for (which, file_id, applied, done) in files {
            if batch.files_applied >= done {
                continue;
            }
            if let Some(file_id) = file_id {
                let started = Instant::now();
                let file = (which, file_id.as_str(), applied);
                let outcome = self.apply_file(job, openai, batch, file, learnt, until, stats).await;
                stats.batch_apply_ms += u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                match outcome? {
                    Applied::Done => {}
                    other => return Ok(other),
                }
            }
            let mut conn = pool::conn(&self.pool).await?;
            llm::file_applied(&mut conn, batch, which).await?;
        }
        let end = leftover_end(batch).learnt(learnt);
        loop {
            let left = {
                let mut conn = pool::conn(&self.pool).await?;
                llm::open_items_of(&mut conn, batch, APPLY_CHUNK as i64).await?
            };
            if left.is_empty() {
                break;
            }
            if Instant::now() >= until {
                return Ok(Applied::OutOfTime);
            }
            let ends = left.iter().map(|i| (i.item_id, end.clone())).collect();
            stats.tally(self.end_chunk(job, ends, None).await?);
        }
        let mut conn = pool::conn(&self.pool).await?;
        llm::finish_batch(&mut conn, batch).await?;
        tracing::info!(batch.id = %batch.batch_id, outcome = batch.outcome.as_deref().unwrap_or(""), "batch applied");
        Ok(Applied::Done)
    }

    /// Streams one result file, skipping the `applied` lines earlier invocations applied, and applies the rest a
    /// chunk at a time while another chunk of the last one's length fits twice before `until`. A line that is not
    /// a batch result is skipped with a warning (counted as applied): its item ends with the batch's outcome, as
    /// one the files do not mention.
    #[expect(clippy::too_many_arguments, reason = "the file, where it stands, and the invocation's budget")]
    async fn apply_file(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        batch: &LlmBatch,
        (which, file_id, applied): (ResultFile, &str, i64),
        learnt: Learnt,
        until: Instant,
        stats: &mut Stats,
    ) -> anyhow::Result<Applied> {
        // A transfer our own deadline cut short is out of time, not a failure.
        let broke = |e: OpenAiError| {
            if Instant::now() + Duration::from_secs(1) >= until { Applied::OutOfTime } else { Applied::Failed(e) }
        };
        let mut lines = match openai.file_lines(file_id).await {
            Ok(lines) => lines,
            Err(e) => return Ok(broke(e)),
        };
        if let Err(e) = lines.skip(u64::try_from(applied)?).await {
            return Ok(broke(e));
        }
        let mut position = applied;
        let mut took = Duration::ZERO;
        loop {
            if Instant::now() + took * 2 >= until {
                return Ok(Applied::OutOfTime);
            }
            let started = Instant::now();
            let (mut ends, mut read, mut ended) = (Vec::with_capacity(APPLY_CHUNK), 0_i64, false);
            let mut broken = None;
            while read < APPLY_CHUNK as i64 {
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => {
                        ended = true;
                        break;
                    }
                    Err(e) => {
                        broken = Some(e);
                        break;
                    }
                };
                read += 1;
                match bw_openai::parse_batch_line(&line, lines.read()) {
                    Ok(Some(result)) => match item_of(&result.custom_id) {
                        Some(item) if (batch.first_item..=batch.last_item).contains(&item) => {
                            ends.push((item, batch_line_end(&result).learnt(learnt)));
                        }
                        _ => {
                            tracing::warn!(custom_id = %result.custom_id, "batch line for no item of this batch; ignored")
                        }
                    },
                    Ok(None) => {}
                    Err(e) => tracing::warn!(batch.id = %batch.batch_id, error = %e, "unreadable batch line skipped"),
                }
            }
            // What was read is applied, even when the download broke: the rest next time, from the count.
            if read > 0 {
                let steps = self.end_chunk(job, ends, Some((batch, which, (position, position + read)))).await?;
                stats.tally(steps);
                stats.batch_lines_applied += u64::try_from(read)?;
                position += read;
            }
            if let Some(e) = broken {
                return Ok(broke(e));
            }
            if ended {
                return Ok(Applied::Done);
            }
            took = started.elapsed();
        }
    }
}

impl<Q: Queue> Worker<Q> {
    /// What bounds the job's wait (see [`caps::overdue`]): results of ended batches still to apply, else the last
    /// completion window of its batches running at OpenAI, else (none running) the job's age.
    pub(crate) async fn batch_window(&self, job: &LlmJob) -> anyhow::Result<Window> {
        let mut conn = pool::conn(&self.pool).await?;
        let open = llm::open_batches(&mut conn, job.id).await?;
        if open.iter().any(|b| b.outcome.is_some()) {
            return Ok(Window::Applying);
        }
        let running = open.iter().filter_map(|b| caps::window_closes(Some(b.expires_at), job.created_at)).max();
        Ok(running.map_or(Window::Age, Window::Closes))
    }

    /// Cancels the job's open batches at OpenAI (best effort: nobody reads them after this) and `reason`.
    pub(crate) async fn cancel_open_batches(&self, job: &LlmJob, openai: &OpenAi, reason: &str) -> anyhow::Result<()> {
        let open = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_batches(&mut conn, job.id).await?
        };
        for batch in open.iter().filter(|b| b.outcome.is_none()) {
            if let Err(e) = openai.cancel_batch(&batch.batch_id).await {
                tracing::warn!(batch.id = %batch.batch_id, error = %bw_telemetry::chain(&e), "cancel of the batch at OpenAI failed ({reason}); ending its items here anyway");
            }
        }
        Ok(())
    }

    /// A batch job's cancel: its batches cancelled at OpenAI, then all its open items cancelled here at once.
    pub(crate) async fn cancel_batches(&self, job: &LlmJob, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        self.cancel_open_batches(job, openai, "the job's cancel").await?;
        let mut conn = pool::conn(&self.pool).await?;
        let ended = conn
            .transaction::<_, anyhow::Error, _>(async |c| {
                let ended = bw_db::llm_tries::cancel_open(c, job.id).await?;
                llm::finish_open_batches(c, job.id).await?;
                Ok(ended)
            })
            .await?;
        tracing::info!(items = ended, "cancelled the batch job's open items");
        stats.items_updated += u64::try_from(ended)?;
        Ok(())
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

/// How one output or error line ends its item.
fn batch_line_end(result: &BatchResult) -> ItemEnd {
    match &result.outcome {
        BatchOutcome::Answered { .. } => match result.response() {
            Ok(response) => item_end(&response),
            Err(e) => failed(&format!("malformed answer: {e}")),
        },
        BatchOutcome::HttpError { status_code, error, .. } => {
            failed(&format!("OpenAI answered {status_code}: {}", error.message))
        }
        BatchOutcome::NotRun { code, message } => ItemEnd {
            error: Some(format!("{}: {message}", code.as_deref().unwrap_or("not run"))),
            ..ItemEnd::bare(ItemStatus::Expired)
        },
    }
}

/// Why a failed batch failed: the first three of its errors, as `code: message`.
fn failure_reasons(batch: &Batch) -> Option<String> {
    (batch.status == BatchStatus::Failed).then(|| {
        let reasons: Vec<String> = batch
            .errors
            .iter()
            .flat_map(|e| e.data.iter())
            .take(3)
            .map(|e| match (&e.code, &e.message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (code, message) => code.clone().or_else(|| message.clone()).unwrap_or_default(),
            })
            .collect();
        reasons.join("; ")
    })
}

/// OpenAI failed the batch because the organisation's enqueued tokens reached their limit (its own queue, not the
/// requests): its items are sent again later.
fn is_token_limit(error: Option<&str>) -> bool {
    error.is_some_and(|e| e.starts_with("token_limit_exceeded"))
}

/// How items missing from both files end, given how the batch ended.
fn leftover_end(batch: &LlmBatch) -> ItemEnd {
    match batch.outcome.as_deref() {
        Some("expired") => ItemEnd {
            error: Some("the batch expired before this request ran".into()),
            ..ItemEnd::bare(ItemStatus::Expired)
        },
        Some("cancelled") => ItemEnd::bare(ItemStatus::Cancelled),
        Some("failed") => failed(&format!("the batch failed: {}", batch.error.as_deref().unwrap_or_default())),
        _ => failed("missing from the batch's output"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn custom_ids_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(super::item_of(&super::custom_id(42)), Some(42));
        assert_eq!(super::item_of("request-1"), None);
        assert_eq!(super::item_of("item-x"), None);
    }
}
