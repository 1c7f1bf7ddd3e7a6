//! LLM jobs: create (over posting ids, a run's ready postings, or a filter), list, show, items, cancel. The postings
//! they flagged are listed by `GET /api/postings` (`routes::postings`).

use axum::extract::State;
use axum::http::StatusCode;
use bw_db::llm::{self, JobUsage, LlmJob, NewJob};
use bw_db::pool;
use bw_queue::Outgoing;
use bw_vocab::JobMode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::seams::Destination;
use crate::state::AppState;

/// Most items one job may have.
pub const MAX_ITEMS: usize = llm::MAX_ITEMS as usize;

/// Body of `POST /api/llm-jobs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLlmJob {
    pub name: String,
    pub model: String,
    pub instructions: String,
    /// `background` (one response per item, polled) or `batch` (one OpenAI batch, half the price).
    pub mode: String,
    pub entities: Entities,
}

/// Which postings a job asks about: exactly one of the three.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entities {
    pub posting_ids: Option<Vec<i64>>,
    /// The ready postings last written by this run.
    pub run_id: Option<Uuid>,
    pub filter: Option<Filter>,
}

/// Postings by status (default `ready`) and optionally company.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub status: Option<String>,
    pub company_id: Option<Uuid>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// What a job or a standing screen asks, checked alike: a name, a model, instructions and a mode; answers the mode.
pub(crate) fn check_question(name: &str, model: &str, instructions: &str, mode: &str) -> Result<JobMode, ApiError> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(bad("name must be 1-200 characters"));
    }
    let model_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if model.is_empty() || model.len() > 100 || !model.chars().all(model_ok) {
        return Err(bad("model must be a model name such as gpt-4.1-mini"));
    }
    if instructions.trim().is_empty() || instructions.chars().count() > 20_000 {
        return Err(bad("instructions must be 1-20000 characters"));
    }
    JobMode::exact(mode).ok_or_else(|| {
        let all: Vec<&str> = JobMode::ALL.map(JobMode::as_str).to_vec();
        bad(format!("mode must be {}, not {mode:?}", all.join(" or ")))
    })
}

impl NewLlmJob {
    /// The mode asked for, spelt exactly.
    fn mode(&self) -> Result<JobMode, ApiError> {
        check_question(&self.name, &self.model, &self.instructions, &self.mode)
    }

    fn validate(&self) -> Result<(), ApiError> {
        self.mode()?;
        let given =
            [self.entities.posting_ids.is_some(), self.entities.run_id.is_some(), self.entities.filter.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(bad("entities must name exactly one of posting_ids, run_id or filter"));
        }
        Ok(())
    }
}

/// The postings the job covers, checked to be the caller's.
async fn resolve_entities(
    conn: &mut diesel_async::AsyncPgConnection,
    user: &str,
    entities: &Entities,
) -> Result<Vec<i64>, ApiError> {
    let limit = llm::MAX_ITEMS + 1;
    let ids = if let Some(ids) = &entities.posting_ids {
        let mut wanted = ids.clone();
        wanted.sort_unstable();
        wanted.dedup();
        let owned = llm::owned_postings(conn, user, &wanted).await?;
        let unknown: Vec<String> =
            wanted.iter().filter(|id| owned.binary_search(id).is_err()).take(10).map(ToString::to_string).collect();
        if !unknown.is_empty() {
            return Err(bad(format!("entities.posting_ids: unknown postings {}", unknown.join(", "))));
        }
        owned
    } else if let Some(run_id) = entities.run_id {
        bw_db::runs::get(conn, user, run_id)
            .await?
            .ok_or_else(|| bad(format!("entities.run_id: run {run_id} not found")))?;
        llm::ready_postings_of_run(conn, user, run_id).await?
    } else {
        let filter = entities.filter.as_ref().ok_or_else(|| bad("entities: nothing given"))?;
        let status = filter.status.as_deref().unwrap_or("ready");
        if !matches!(status, "pending" | "ready" | "failed" | "expired") {
            return Err(bad(format!(
                "entities.filter.status must be pending, ready, failed or expired, not {status:?}"
            )));
        }
        llm::postings_matching(conn, user, status, filter.company_id, limit).await?
    };
    if ids.is_empty() {
        return Err(bad("entities: no postings match"));
    }
    if ids.len() > MAX_ITEMS {
        return Err(bad(format!("entities: at most {MAX_ITEMS} postings per job")));
    }
    Ok(ids)
}

/// Creates a job over the postings `entities` names; answers at once, the worker submits the items.
#[utoipa::path(post, path = "/api/llm-jobs", tag = "llm-jobs", request_body = NewLlmJob,
    responses((status = 202, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    Json(input): Json<NewLlmJob>,
) -> Result<(StatusCode, axum::Json<JobView>), ApiError> {
    input.validate()?;
    let job = {
        let mut conn = pool::conn(&state.pool).await?;
        let ids = resolve_entities(&mut conn, &user, &input.entities).await?;
        let new = NewJob {
            user_id: &user,
            name: input.name.trim(),
            model: &input.model,
            instructions: &input.instructions,
            mode: input.mode()?,
        };
        use diesel_async::AsyncConnection as _;
        conn.transaction::<_, anyhow::Error, _>(async |c| llm::create(c, new, &ids).await).await?
    };
    enqueue(&state, job.id).await;
    // Nothing of a job just created has ended: its usage is zero, and no read after the commit can fail the answer.
    Ok((StatusCode::ACCEPTED, axum::Json(with_usage(job, JobUsage::default()))))
}

/// Sends the job's first message. A failure is not the user's problem: the job is due now, and dispatch sends it.
async fn enqueue(state: &AppState, job_id: Uuid) {
    if let Err(error) = state.queue.send(Destination::LlmJobs, Outgoing::llm_job(job_id, None)).await {
        tracing::warn!(job.id = %job_id, error = %bw_telemetry::chain(error.as_ref()), "could not enqueue the job; dispatch will send it");
    }
}

/// A job as the API shows it: the job row with its aggregates, its progress, and what its ended items used and
/// cost.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: LlmJob,
    /// Resolved items over all items, 0 to 1.
    pub progress: f64,
    /// Tokens its ended items used (as OpenAI reported them) and their estimated cost; zeros until one ended.
    pub usage: JobUsage,
    /// Batch mode: its OpenAI batches so far, in the order submitted (a job is split into as many as its items
    /// need); empty in background mode.
    #[serde(default)]
    pub batches: Vec<llm::LlmBatch>,
}

/// The views of `jobs`, their usage read in one query.
pub(crate) async fn views(
    conn: &mut diesel_async::AsyncPgConnection,
    jobs: Vec<LlmJob>,
) -> Result<Vec<JobView>, ApiError> {
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let mut usage = llm::usage_of(conn, &ids).await?;
    let mut batches = llm::batches_of(conn, &ids).await?;
    Ok(jobs
        .into_iter()
        .map(|job| {
            let usage = usage.remove(&job.id).unwrap_or_default();
            let batches = batches.remove(&job.id).unwrap_or_default();
            JobView { batches, ..with_usage(job, usage) }
        })
        .collect())
}

fn with_usage(job: LlmJob, usage: JobUsage) -> JobView {
    let done = job.items_completed + job.items_failed + job.items_cancelled + job.items_expired;
    let progress = if job.items_total > 0 { f64::from(done) / f64::from(job.items_total) } else { 1.0 };
    JobView { job, progress, usage, batches: Vec::new() }
}

/// The view of one job.
pub(crate) async fn view(conn: &mut diesel_async::AsyncPgConnection, job: LlmJob) -> Result<JobView, ApiError> {
    let id = job.id;
    views(conn, vec![job]).await?.pop().ok_or_else(|| not_found(id))
}

/// The caller's jobs, newest first.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

/// The caller's jobs, newest first.
#[utoipa::path(get, path = "/api/llm-jobs", tag = "llm-jobs", params(crate::extract::ListQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<crate::extract::ListQuery>,
) -> Result<axum::Json<JobList>, ApiError> {
    let limit = crate::extract::page_limit(q.limit, 20, 100)?;
    let mut conn = pool::conn(&state.pool).await?;
    let jobs = llm::list(&mut conn, &user, limit).await?;
    Ok(axum::Json(JobList { jobs: views(&mut conn, jobs).await? }))
}

pub(crate) async fn owned(
    conn: &mut diesel_async::AsyncPgConnection,
    user: &str,
    id: Uuid,
) -> Result<LlmJob, ApiError> {
    llm::get(conn, user, id).await?.ok_or_else(|| not_found(id))
}

pub(crate) fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("LLM job {id} not found"))
}

/// A job with its aggregates and progress.
#[utoipa::path(get, path = "/api/llm-jobs/{id}", tag = "llm-jobs", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody, description = "A malformed id"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<JobView>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let job = owned(&mut conn, &user, id).await?;
    Ok(axum::Json(view(&mut conn, job).await?))
}

/// Query of `GET /api/llm-jobs/{id}/items`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// Only items in this status (`pending`, `submitted`, `completed`, `failed`, `cancelled`, `expired`).
    pub status: Option<String>,
    /// Only items after this item id (pass back `next_after`).
    pub after: Option<i32>,
    /// Page size: 1-1000, default 100.
    pub limit: Option<i64>,
}

/// A page of a job's items.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ItemsPage {
    pub items: Vec<llm::LlmJobItem>,
    /// The item id to pass as `after` for the next page (none when the page is empty).
    pub next_after: Option<i32>,
}

/// A job's items in item order, with their decisions.
#[utoipa::path(get, path = "/api/llm-jobs/{id}/items", tag = "llm-jobs",
    params(("id" = Uuid, Path, description = "Job id"), ItemsQuery),
    responses((status = 200, body = ItemsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn items(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
    Query(q): Query<ItemsQuery>,
) -> Result<axum::Json<ItemsPage>, ApiError> {
    let limit = crate::extract::page_limit(q.limit, 100, 1000)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(llm::ItemStatus::exact(s).ok_or_else(|| {
            let all: Vec<&str> = llm::ItemStatus::ALL.iter().map(|st| st.as_str()).collect();
            bad(format!("status must be one of {}, not {s:?}", all.join(", ")))
        })?),
    };
    let mut conn = pool::conn(&state.pool).await?;
    owned(&mut conn, &user, id).await?;
    let page = llm::items(&mut conn, id, status, q.after.unwrap_or(0), limit).await?;
    let next_after = page.last().map(|i| i.item_id);
    Ok(axum::Json(ItemsPage { items: page, next_after }))
}

/// Cancels a job: its open items are cancelled (at OpenAI too) at the worker's next poll.
#[utoipa::path(post, path = "/api/llm-jobs/{id}/cancel", tag = "llm-jobs", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 202, body = JobView), (status = 400, body = ErrorBody, description = "A malformed id"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The job has already resolved")))]
pub async fn cancel(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<JobView>), ApiError> {
    let job = {
        let mut conn = pool::conn(&state.pool).await?;
        match llm::request_cancel(&mut conn, &user, id).await? {
            None => return Err(ApiError::NotFound(format!("LLM job {id} not found"))),
            Some(false) => {
                let job = owned(&mut conn, &user, id).await?;
                return Err(ApiError::Conflict {
                    message: format!("LLM job {id} has already resolved ({})", job.status),
                    details: json!({ "status": job.status }),
                });
            }
            Some(true) => owned(&mut conn, &user, id).await?,
        }
    };
    // The worker cancels the items, at OpenAI too, at its next poll; this message makes that poll now.
    enqueue(&state, id).await;
    // The cancel is recorded: a failure to read the usage now must not answer it as failed.
    let usage = async {
        let mut conn = pool::conn(&state.pool).await?;
        llm::usage_of(&mut conn, &[id]).await
    };
    let usage = usage.await;
    let usage = usage.map(|mut u| u.remove(&id).unwrap_or_default()).unwrap_or_else(|error| {
        tracing::warn!(job.id = %id, error = %bw_telemetry::chain(error.as_ref()), "could not read the job's usage; answering zeros");
        JobUsage::default()
    });
    Ok((StatusCode::ACCEPTED, axum::Json(with_usage(job, usage))))
}
