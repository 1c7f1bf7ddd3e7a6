//! The `llm-jobs` worker: what it holds (built once in `main`) and how it ends one item. How it works a job is in
//! [`crate::poll`] (claim, work, settle), built on [`crate::background`], [`crate::batch`] and [`crate::tries`],
//! which add the worker's methods for each mode and for OpenAI's errors.

use bw_db::llm::{self, ItemEnd, JobMode, LlmJob};
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
        let mut end = end.clone();
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
        let end = &end;
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
}
