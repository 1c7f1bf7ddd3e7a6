//! The `llm-jobs` worker: what it holds (built once in `main`) and how it ends one item. How it works a job is in
//! [`crate::poll`] (claim, work, settle), built on [`crate::background`], [`crate::batch`] and [`crate::tries`],
//! which add the worker's methods for each mode and for OpenAI's errors.

use bw_db::llm::{self, ItemEnd, JobMode, LlmBatch, LlmJob, ResultFile};
use bw_db::{PgPool, pool};
use bw_openai::OpenAi;
use diesel_async::AsyncConnection as _;

use crate::item::Step;
use crate::settings::Settings;

/// The worker, built once in `main`.
pub struct Worker<Q> {
    pub pool: PgPool,
    pub openai: OpenAi,
    pub queue: Q,
    /// The `llm-jobs` queue, where a running job is re-enqueued with a delay.
    pub queue_url: String,
    pub settings: Settings,
}

impl<Q> Worker<Q> {
    /// Ends one item in its own transaction, its usage priced from the settings' price table.
    pub(crate) async fn end(&self, job: &LlmJob, item_id: i32, end: &ItemEnd) -> Step {
        let end = &self.priced(job, end.clone());
        let done = async {
            let mut conn = pool::conn(&self.pool).await?;
            conn.transaction::<_, anyhow::Error, _>(async |c| {
                llm::end_item(c, job.id, &job.user_id, item_id, end).await
            })
            .await
        };
        match done.await {
            Ok(true) => Step::Ended(end.usage),
            Ok(false) => Step::Running,
            Err(e) => Step::Error(format!("{e:#}")),
        }
    }

    /// Ends a chunk of items in one transaction, with the count of result-file lines applied moved from and to
    /// (`read`) when given: all of it or none. Items that had already ended are left alone.
    pub(crate) async fn end_chunk(
        &self,
        job: &LlmJob,
        ends: Vec<(i32, ItemEnd)>,
        read: Option<(&LlmBatch, ResultFile, (i64, i64))>,
    ) -> anyhow::Result<Vec<Step>> {
        let ends: Vec<(i32, ItemEnd)> = ends.into_iter().map(|(id, end)| (id, self.priced(job, end))).collect();
        let mut conn = pool::conn(&self.pool).await?;
        let ended = conn
            .transaction::<_, anyhow::Error, _>(async |c| {
                let ended = llm::end_items(c, job.id, &job.user_id, &ends).await?;
                if let Some((batch, file, lines)) = read {
                    llm::applied_lines(c, batch, file, lines).await?;
                }
                Ok(ended)
            })
            .await?;
        let mut ended: std::collections::HashSet<i32> = ended.into_iter().collect();
        let steps = ends.iter().map(|(id, end)| if ended.remove(id) { Step::Ended(end.usage) } else { Step::Running });
        Ok(steps.collect())
    }

    /// The end with its usage's estimated cost, from the settings' price table (a batch at its discount).
    fn priced(&self, job: &LlmJob, mut end: ItemEnd) -> ItemEnd {
        if let Some(usage) = end.usage.as_mut().filter(|u| u.cost_usd.is_none()) {
            let tokens = |n: i32| u64::try_from(n).unwrap_or(0);
            usage.cost_usd = self.settings.prices.cost_of(
                &job.model,
                job.mode == JobMode::Batch,
                tokens(usage.input_tokens),
                tokens(usage.cached_input_tokens),
                tokens(usage.output_tokens),
            );
        }
        end
    }
}
