//! The `llm-jobs` worker: what it holds (built once in `main`) and how it ends one item. How it works a job is in
//! [`crate::poll`] (claim, work, settle), built on [`crate::background`], [`crate::batch`] and [`crate::tries`],
//! which add the worker's methods for each mode and for OpenAI's errors.

use bw_db::llm::{self, ItemEnd, LlmJob};
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
    /// Ends one item in its own transaction.
    pub(crate) async fn end(&self, job: &LlmJob, item_id: i32, end: &ItemEnd) -> Step {
        let done = async {
            let mut conn = pool::conn(&self.pool).await?;
            conn.transaction::<_, anyhow::Error, _>(async |c| {
                llm::end_item(c, job.id, &job.user_id, item_id, end).await
            })
            .await
        };
        match done.await {
            Ok(true) => Step::Ended,
            Ok(false) => Step::Running,
            Err(e) => Step::Error(format!("{e:#}")),
        }
    }
}
