//! Batch mode: a job's items go to OpenAI in as many batches as they need (half the price of background responses),
//! each within [`BatchLimits`] (OpenAI's 50,000 requests and 200 MB per input file, from the lines' real sizes).
//! An invocation submits batches while its time lasts, each written to a temporary file a page of postings at a
//! time and streamed to the upload; and it reads the batches that ended, their output and error files streamed a
//! line at a time (lines come in any order, matched to items by `custom_id`) and applied in chunks of
//! [`APPLY_CHUNK`] lines, each chunk's items ended in one transaction with the count of lines applied. What its
//! time does not cover is continued by the next invocation, from where the counts say.
//!
//! A crash between creating a batch and recording it costs one extra batch; only recorded batches are ever read, so
//! no decision is applied twice. An OpenAI error about a batch stands for its own items (its input file's, or those
//! submitted in it), as [`crate::tries`] says; the job's other batches go on. Each batch's window end (`expires_at`)
//! is recorded with it, for the age cap.
//!
//! [`submit`] writes and sends the batches, [`read`] reads and applies those that ended.

mod read;
mod submit;

use std::time::Instant;

use bw_db::llm::{self, LlmJob};
use bw_db::pool;
use bw_openai::OpenAi;
use bw_queue::Queue;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection as _;

use crate::caps;
use crate::stats::Stats;
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

/// What bounds how long a batch job's open items may wait before they are given up.
pub enum Window {
    /// None of its batches runs: the job's age ([`crate::Caps::max_age`]).
    Age,
    /// The last completion window of its batches running at OpenAI closes then ([`crate::Caps::batch_grace`] after).
    Closes(DateTime<Utc>),
    /// A batch that ended has results still to apply: nothing is given up meanwhile.
    Applying,
}

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

    /// Cancels the job's batches still running at OpenAI (best effort: nobody reads them after this); `reason` says
    /// why, in the log.
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

/// OpenAI failed the batch because the organisation's enqueued tokens reached their limit (its own queue, not the
/// requests): its items are sent again later.
fn is_token_limit(error: Option<&str>) -> bool {
    error.is_some_and(|e| e.starts_with("token_limit_exceeded"))
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
