//! Reading a batch job's batches: each one's status, and for one that ended its output and error files, streamed a
//! line at a time and applied a chunk at a time from where earlier invocations left them.

use std::time::{Duration, Instant};

use bw_db::llm::{self, BatchEnded, ItemEnd, ItemStatus, Learnt, LlmBatch, LlmJob, ResultFile};
use bw_db::llm_tries::Scope;
use bw_db::pool;
use bw_openai::{Batch, BatchOutcome, BatchResult, BatchStatus, OpenAi, OpenAiError};
use bw_queue::Queue;
use diesel_async::AsyncConnection as _;

use super::{APPLY_CHUNK, is_token_limit, item_of};
use crate::caps::Request;
use crate::item::{failed, item_end};
use crate::stats::Stats;
use crate::tries::BatchVerdict;
use crate::worker::Worker;

/// What applying a batch's result files came to.
enum Applied {
    /// Every line applied and the batch done.
    Done,
    /// The invocation's time ran out first: the next one goes on.
    OutOfTime,
    /// A file could not be read: OpenAI's error, to be dealt with as a failed poll of the batch.
    Failed(OpenAiError),
}

impl<Q: Queue> Worker<Q> {
    /// Looks at the job's batches with items open (those an event announced first) and applies those that ended,
    /// while the time lasts. An error about one batch is dealt with on its items alone, and the others are looked
    /// at. Returns whether the invocation may go on (not out of time, not asked to wait).
    pub(super) async fn read_batches(
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
        for which in ResultFile::ALL {
            if batch.files_applied >= which.applied_mark() {
                continue;
            }
            let (file_id, applied) = match which {
                ResultFile::Output => (&batch.output_file_id, batch.output_lines_applied),
                ResultFile::Error => (&batch.error_file_id, batch.error_lines_applied),
            };
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
