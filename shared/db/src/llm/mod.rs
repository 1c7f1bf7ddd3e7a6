//! LLM jobs and their items. Every item transition names the statuses it leaves, and moves the job's aggregates in
//! the same transaction; a decision lands in `entity_flags` at most once per (entity, job), so a result processed
//! twice is applied once.
//!
//! [`jobs`] holds a job's life (creation, the worker's lease, resolution, cancel), [`items`] its items' transitions
//! and the postings they are about, [`batches`] a batch-mode job's OpenAI batches, [`flags`] the decisions landed on
//! the postings.

mod batches;
mod ends;
mod flags;
mod items;
mod jobs;
mod loops;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use batches::{
    BatchEnded, LlmBatch, NewBatch, ResultFile, applied_lines, batches, batches_of, file_applied, finish_batch,
    finish_open_batches, open_batches, open_items_of, pending_after, record_batch, record_outcome, requeue_batch,
};
pub use bw_vocab::{ItemStatus, JobMode, JobStatus, Learnt};
pub use ends::end_items;
pub use flags::Decision;
pub(crate) use items::shift;
pub use items::{
    ItemEnd, ItemUsage, ReadyWork, end_item, items, mark_submitted, open_items, overdue_items, owned_postings,
    posting_texts, postings_matching, pushed_items, ready_postings_of_run, ready_work, touch_polled,
};
pub use jobs::{
    NewJob, claim, create, due, get, list, load, of_run, postpone, release, renew, request_cancel, resolve_if_done,
    set_poll_budget, unresolved_count, usage_of,
};
pub use loops::{Passed, holds_loop, pass_loop, restart_loops};

use crate::schema::{llm_job_items, llm_jobs};

/// An LLM job with its aggregates.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = llm_jobs)]
pub struct LlmJob {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    pub model: String,
    pub instructions: String,
    pub mode: JobMode,
    pub status: JobStatus,
    pub items_total: i32,
    pub items_pending: i32,
    pub items_submitted: i32,
    pub items_completed: i32,
    pub items_failed: i32,
    pub items_cancelled: i32,
    pub items_expired: i32,
    pub flags_applied: i32,
    pub next_poll_at: DateTime<Utc>,
    #[serde(skip)]
    pub poll_budget: i32,
    #[serde(skip)]
    pub lease_owner: Option<Uuid>,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The standing screen that started it (for a run), if one did.
    pub screen_id: Option<Uuid>,
    /// The run whose new and changed postings it judges, when a standing screen started it.
    pub run_id: Option<Uuid>,
    /// Items whose end at OpenAI a webhook event announced.
    pub ends_pushed: i32,
    /// Items whose end at OpenAI the worker found by polling.
    pub ends_polled: i32,
}

/// What a job's ended items used and cost, summed.
#[derive(Clone, Debug, Default, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = crate::schema::llm_job_usage)]
pub struct JobUsage {
    #[serde(skip)]
    pub job_id: Uuid,
    /// Tokens read, as OpenAI reported them; cached input tokens among them.
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    /// Tokens written; reasoning tokens among them.
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// Estimated cost in US dollars, from the worker's price table (a batch at its discount).
    pub cost_usd: f64,
    /// Items whose model has no price in the table: the cost leaves them out.
    pub items_unpriced: i32,
}

/// One entity of a job.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = llm_job_items)]
pub struct LlmJobItem {
    #[serde(skip)]
    pub job_id: Uuid,
    pub item_id: i32,
    pub entity_kind: String,
    pub entity_id: i64,
    pub status: ItemStatus,
    pub response_id: Option<String>,
    /// Submissions and failed tries (a submission or a poll that failed after the client's own retries).
    pub attempts: i32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub output_text: Option<String>,
    pub decision: Option<serde_json::Value>,
    pub error: Option<String>,
    /// The last failed try while the item is open (it is retried; `error` is set when it ends).
    pub last_error: Option<String>,
    /// When a webhook event announced its end (the worker reads it next).
    pub pushed_at: Option<DateTime<Utc>>,
    /// How its end at OpenAI was learnt: `push` (a webhook event) or `poll`; empty while open, or when it ended
    /// here (cancelled, given up).
    pub learnt_by: Option<Learnt>,
    /// Tokens used, as OpenAI reported them (empty until it ended, or when it reported none).
    pub input_tokens: Option<i32>,
    pub cached_input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub reasoning_tokens: Option<i32>,
    /// Estimated cost in US dollars; empty when its model has no price.
    pub cost_usd: Option<f64>,
    /// Batch mode: the job's batch (its `seq`) it went out in.
    pub batch_seq: Option<i32>,
}

/// Most items one job may have: the API refuses more. A batch-mode job is split into as many batches as they need.
pub const MAX_ITEMS: i64 = 1_000_000;
