//! What the worker does with an OpenAI error, and how it gives up on items: the verdicts of [`crate::caps`] applied
//! to the database, each item change in one transaction with the job's aggregates.

use bw_db::llm::LlmJob;
use bw_db::llm_tries::{self, Scope};
use bw_db::pool;
use bw_openai::{OpenAi, OpenAiError};
use bw_queue::Queue;
use diesel_async::AsyncConnection as _;

use crate::caps::{self, Request, Verdict};
use crate::item::{Step, failed};
use crate::stats::Stats;
use crate::worker::Worker;

/// What an OpenAI error about a batch came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchVerdict {
    /// Nothing changed; the invocation stops (its deadline, or OpenAI asked to wait).
    Wait,
    /// Noted on the items (a failed try or poll); the invocation may go on with the job's other batches.
    Noted,
    /// The items were given up.
    GivenUp,
}

impl<Q: Queue> Worker<Q> {
    /// What `error`, met by a `request` about one item, does to it ([`caps::verdict`]): a refusal fails it
    /// (`refused` and the error), a wait leaves it as it is, a failed submission is a failed try, a failed poll is
    /// noted.
    pub(crate) async fn after_error(
        &self,
        job: &LlmJob,
        item_id: i32,
        request: Request,
        refused: &str,
        error: &OpenAiError,
    ) -> Step {
        match caps::verdict(error, request) {
            Verdict::Refused => self.end(job, item_id, &failed(&format!("{refused}: {error}"))).await,
            Verdict::Wait(asked) => {
                tracing::info!(item.id = item_id, %error, "item left for the next invocation");
                Step::Waiting(asked)
            }
            Verdict::FailedTry => match self.failed_try(job, item_id, &error.to_string()).await {
                Ok(true) => Step::Ended(None),
                Ok(false) => Step::Error(error.to_string()),
                Err(e) => Step::Error(format!("{error}; and recording the failed try failed: {e:#}")),
            },
            Verdict::PollFailed => {
                let noted = async {
                    let mut conn = pool::conn(&self.pool).await?;
                    llm_tries::record_failed_try(&mut conn, job.id, item_id, &error.to_string(), false).await
                };
                match noted.await {
                    Ok(_) => Step::Error(error.to_string()),
                    Err(e) => Step::Error(format!("{error}; and noting it failed: {e:#}")),
                }
            }
        }
    }

    /// Counts a failed try of one item, and gives the item up (in the same transaction) when it has had its
    /// attempts. Returns whether the item ended.
    async fn failed_try(&self, job: &LlmJob, item_id: i32, error: &str) -> anyhow::Result<bool> {
        let caps = self.settings.caps;
        let mut conn = pool::conn(&self.pool).await?;
        conn.transaction::<_, anyhow::Error, _>(async |c| {
            let Some(attempts) = llm_tries::record_failed_try(c, job.id, item_id, error, true).await? else {
                return Ok(false);
            };
            if !caps::out_of_attempts(attempts, &caps) {
                return Ok(false);
            }
            Ok(llm_tries::give_up_items(c, job.id, &[item_id], &caps::attempts_reason(attempts)).await? == 1)
        })
        .await
    }

    /// What `error`, met by a `request` about a batch (its items in `scope`: those of an input file, or of a
    /// submitted batch), does to them: a refusal fails them all, a wait leaves them (and the invocation stops), a
    /// failed submission is a failed try of each (past the attempts they are given up), a failed poll is noted on
    /// each. The job's other batches are not touched.
    pub(crate) async fn after_batch_error(
        &self,
        job: &LlmJob,
        scope: Scope<'_>,
        (request, refused): (Request, &str),
        error: &OpenAiError,
        stats: &mut Stats,
    ) -> anyhow::Result<BatchVerdict> {
        let reason = match caps::verdict(error, request) {
            Verdict::Refused => format!("{refused}: {error}"),
            Verdict::Wait(asked) => {
                tracing::info!(%error, "batch left for the next invocation");
                stats.tally([Step::Waiting(asked)]);
                return Ok(BatchVerdict::Wait);
            }
            Verdict::FailedTry => {
                let attempts = {
                    let mut conn = pool::conn(&self.pool).await?;
                    llm_tries::record_failed_tries(&mut conn, job.id, scope, &error.to_string(), true).await?
                };
                if !caps::out_of_attempts(attempts, &self.settings.caps) {
                    stats.tally([Step::Error(error.to_string())]);
                    return Ok(BatchVerdict::Noted);
                }
                caps::attempts_reason(attempts)
            }
            Verdict::PollFailed => {
                let mut conn = pool::conn(&self.pool).await?;
                llm_tries::record_failed_tries(&mut conn, job.id, scope, &error.to_string(), false).await?;
                stats.tally([Step::Error(error.to_string())]);
                return Ok(BatchVerdict::Noted);
            }
        };
        let mut conn = pool::conn(&self.pool).await?;
        let ended = conn
            .transaction::<_, anyhow::Error, _>(async |c| llm_tries::give_up_scope(c, job.id, scope, &reason).await)
            .await?;
        tracing::warn!(items = ended, %reason, "gave up on the batch's items");
        stats.items_updated += u64::try_from(ended)?;
        Ok(BatchVerdict::GivenUp)
    }

    /// Ends every open item of the job `failed` with `reason`, which also becomes the job's error; cancels its
    /// batches at OpenAI (best effort: nobody will read them).
    pub(crate) async fn give_up_job(
        &self,
        job: &LlmJob,
        openai: &OpenAi,
        reason: &str,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        if job.mode == bw_db::llm::JobMode::Batch {
            self.cancel_open_batches(job, openai, "the job given up").await?;
        }
        let mut conn = pool::conn(&self.pool).await?;
        let ended = conn
            .transaction::<_, anyhow::Error, _>(async |c| {
                let ended = llm_tries::give_up_job(c, job.id, reason).await?;
                bw_db::llm::finish_open_batches(c, job.id).await?;
                Ok(ended)
            })
            .await?;
        tracing::warn!(items = ended, %reason, "gave up on the job's open items");
        stats.items_updated += u64::try_from(ended)?;
        Ok(())
    }
}
