//! Batch mode: all of a job's items go to OpenAI as one JSONL file and one batch (half the price of background
//! responses), which the worker polls; when it ends, its output and error files are read and each line is matched
//! back to its item by `custom_id` (lines come in any order).
//!
//! A crash between creating the batch and recording it costs one extra batch; only the recorded batch is ever read,
//! so no decision is applied twice.

use std::collections::BTreeMap;

use bw_db::llm::{self, ItemEnd, ItemStatus, LlmJob};
use bw_db::pool;
use bw_openai::{BatchOutcome, BatchResult, BatchStatus, OpenAi};
use bw_queue::Queue;
use diesel_async::AsyncConnection as _;

use crate::stats::Stats;
use crate::worker::{Worker, failed, item_end};

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
        let file = openai.upload_batch_file(jsonl.into_bytes(), &format!("job-{}.jsonl", job.id)).await?;
        let metadata = BTreeMap::from([("job_id".to_owned(), job.id.to_string())]);
        let batch = openai.create_batch(&file.id, &metadata).await?;
        let mut conn = pool::conn(&self.pool).await?;
        let n = conn
            .transaction::<_, anyhow::Error, _>(async |c| llm::record_batch(c, job.id, &file.id, &batch.id).await)
            .await?;
        tracing::info!(batch.id = %batch.id, items = n, "batch submitted");
        Ok(())
    }

    async fn poll_batch(&self, job: &LlmJob, batch_id: &str, openai: &OpenAi, stats: &mut Stats) -> anyhow::Result<()> {
        let batch = openai.retrieve_batch(batch_id).await?;
        stats.items_polled += u64::try_from(job.items_submitted)?;
        if !batch.status.is_terminal() {
            tracing::info!(status = batch.status.as_str(), "batch still running");
            return Ok(());
        }
        let mut results: Vec<BatchResult> = Vec::new();
        for file in [&batch.output_file_id, &batch.error_file_id].into_iter().flatten() {
            let content = openai.file_content(file).await?;
            results.extend(bw_openai::parse_batch_output(&String::from_utf8_lossy(&content))?);
        }
        for result in &results {
            let Some(item_id) = item_of(&result.custom_id) else {
                tracing::warn!(custom_id = %result.custom_id, "batch line for no item of this job; ignored");
                continue;
            };
            stats.tally([self.end(job, item_id, &batch_line_end(result)).await]);
        }
        // Items the files do not mention end with the batch's own outcome.
        let left = {
            let mut conn = pool::conn(&self.pool).await?;
            llm::open_items(&mut conn, job.id, ItemStatus::Submitted, PAGE).await?
        };
        let end = leftover_end(&batch);
        for item in left {
            stats.tally([self.end(job, item.item_id, &end).await]);
        }
        Ok(())
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
            status: ItemStatus::Expired,
            output_text: None,
            decision: None,
            error: Some(format!("{}: {message}", code.as_deref().unwrap_or("not run"))),
        },
    }
}

/// How items missing from both files end, given how the batch ended.
fn leftover_end(batch: &bw_openai::Batch) -> ItemEnd {
    match batch.status {
        BatchStatus::Expired => ItemEnd {
            status: ItemStatus::Expired,
            output_text: None,
            decision: None,
            error: Some("the batch expired before this request ran".into()),
        },
        BatchStatus::Cancelled => {
            ItemEnd { status: ItemStatus::Cancelled, output_text: None, decision: None, error: None }
        }
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
