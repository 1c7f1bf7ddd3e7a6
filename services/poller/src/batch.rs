//! Batch mode: all of a job's items go to OpenAI as one JSONL file and one batch (half the price of background
//! responses), which the worker polls; when it ends, its output and error files are read and each line is matched
//! back to its item by `custom_id` (lines come in any order).
//!
//! A crash between creating the batch and recording it costs one extra batch; only the recorded batch is ever read,
//! so no decision is applied twice. An OpenAI error stands for every item of the batch: a refusal fails them all, a
//! wait (the deadline, a rate limit) leaves them for the next invocation, anything else is a failed try of each
//! (see [`crate::caps`]). The batch's window end (`expires_at`) is recorded with it, for the age cap.

use std::collections::BTreeMap;

use bw_db::llm::{self, ItemEnd, ItemStatus, Learnt, LlmJob};
use bw_db::pool;
use bw_openai::{Batch, BatchOutcome, BatchResult, BatchStatus, OpenAi, OpenAiError};
use bw_queue::Queue;
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection as _;

use crate::caps::{BATCH_WINDOW, Request};
use crate::item::{failed, item_end};
use crate::stats::Stats;
use crate::worker::Worker;

/// The custom id of an item's request.
pub fn custom_id(item_id: i32) -> String {
    format!("item-{item_id}")
}

fn item_of(custom_id: &str) -> Option<i32> {
    custom_id.strip_prefix("item-")?.parse().ok()
}

/// Every item of a job at once (a job has at most `MAX_ITEMS`): one batch carries them all.
const PAGE: i64 = llm::MAX_ITEMS;

impl<Q: Queue> Worker<Q> {
    /// Submits the job's batch, or polls it.
    pub(crate) async fn work_batch(&self, job: &LlmJob, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        match &job.batch_id {
            None => self.submit_batch(job, openai, stats).await,
            Some(batch_id) => self.poll_batch(job, batch_id, openai, stats).await,
        }
    }

    async fn submit_batch(&self, job: &LlmJob, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        let mut conn = pool::conn(&self.pool).await?;
        let items = llm::open_items(&mut conn, job.id, ItemStatus::Pending, PAGE).await?;
        let mut texts = std::collections::HashMap::new();
        for chunk in items.chunks(1_000) {
            let ids: Vec<i64> = chunk.iter().map(|i| i.entity_id).collect();
            texts.extend(llm::posting_texts(&mut conn, &ids, self.settings.max_input_chars).await?);
        }
        drop(conn);
        let mut jsonl = String::new();
        for item in &items {
            match texts.get(&item.entity_id) {
                Some(text) => {
                    jsonl.push_str(&bw_openai::batch_request_line(
                        &custom_id(item.item_id),
                        &job.model,
                        &job.instructions,
                        text,
                    ));
                    jsonl.push('\n');
                }
                None => stats.tally([self.end(job, item.item_id, &failed("the posting no longer exists")).await]),
            }
        }
        if jsonl.is_empty() {
            return Ok(());
        }
        let batch = match send_batch(job, openai, jsonl).await {
            Ok(batch) => batch,
            Err(e) => {
                let refused = "OpenAI refused the batch";
                return self
                    .after_batch_error(job, openai, ItemStatus::Pending, Request::Submit, refused, &e, stats)
                    .await;
            }
        };
        let input_file_id = batch.input_file_id.clone().unwrap_or_default();
        let expires_at = expires_at(&batch);
        let mut conn = pool::conn(&self.pool).await?;
        let n = conn
            .transaction::<_, anyhow::Error, _>(async |c| {
                llm::record_batch(c, job.id, &input_file_id, &batch.id, expires_at).await
            })
            .await?;
        tracing::info!(batch.id = %batch.id, items = n, %expires_at, "batch submitted");
        Ok(())
    }

    async fn poll_batch(&self, job: &LlmJob, batch_id: &str, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        stats.items_polled += u64::try_from(job.items_submitted)?;
        let learnt = if job.batch_pushed_at.is_some() { Learnt::Push } else { Learnt::Poll };
        let (batch, results) = match fetch_results(openai, batch_id).await {
            Ok(Some(ended)) => ended,
            Ok(None) => return Ok(()),
            Err(e) => {
                let refused = "OpenAI refused to give the batch's results";
                return self
                    .after_batch_error(job, openai, ItemStatus::Submitted, Request::Poll, refused, &e, stats)
                    .await;
            }
        };
        for result in &results {
            let Some(item_id) = item_of(&result.custom_id) else {
                tracing::warn!(custom_id = %result.custom_id, "batch line for no item of this job; ignored");
                continue;
            };
            stats.tally([self.end(job, item_id, &batch_line_end(result).learnt(learnt)).await]);
        }
        // Items the files do not mention end with the batch's own outcome.
        let left = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_items(&mut conn, job.id, ItemStatus::Submitted, PAGE).await?
        };
        let end = leftover_end(&batch).learnt(learnt);
        for item in left {
            stats.tally([self.end(job, item.item_id, &end).await]);
        }
        Ok(())
    }
}

/// Uploads the job's requests and creates its batch over them.
async fn send_batch(job: &LlmJob, openai: &OpenAi, jsonl: String) -> Result<Batch, OpenAiError> {
    let file = openai.upload_batch_file(jsonl.into_bytes(), &format!("job-{}.jsonl", job.id)).await?;
    let metadata = BTreeMap::from([("job_id".to_owned(), job.id.to_string())]);
    let mut batch = openai.create_batch(&file.id, &metadata).await?;
    batch.input_file_id.get_or_insert(file.id);
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

/// The batch and the lines of its output and error files once it has ended; `None` while it runs.
async fn fetch_results(openai: &OpenAi, batch_id: &str) -> Result<Option<(Batch, Vec<BatchResult>)>, OpenAiError> {
    let batch = openai.retrieve_batch(batch_id).await?;
    if !batch.status.is_terminal() {
        tracing::info!(status = batch.status.as_str(), "batch still running");
        return Ok(None);
    }
    let mut results: Vec<BatchResult> = Vec::new();
    for file in [&batch.output_file_id, &batch.error_file_id].into_iter().flatten() {
        let content = openai.file_content(file).await?;
        results.extend(bw_openai::parse_batch_output(&String::from_utf8_lossy(&content))?);
    }
    Ok(Some((batch, results)))
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

/// How items missing from both files end, given how the batch ended.
fn leftover_end(batch: &bw_openai::Batch) -> ItemEnd {
    match batch.status {
        BatchStatus::Expired => ItemEnd {
            error: Some("the batch expired before this request ran".into()),
            ..ItemEnd::bare(ItemStatus::Expired)
        },
        BatchStatus::Cancelled => ItemEnd::bare(ItemStatus::Cancelled),
        BatchStatus::Failed => {
            let reasons: Vec<String> =
                batch.errors.iter().flat_map(|e| e.data.iter()).filter_map(|e| e.message.clone()).take(3).collect();
            failed(&format!("the batch failed: {}", reasons.join("; ")))
        }
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
