//! Ingestion runs: start (writes the run `pending`, enqueues its message, answers 202), list, show, abort, events.

use axum::extract::State;
use axum::http::StatusCode;
use bw_db::counts::{self, RunCounts};
use bw_db::models::{Run, RunEvent};
use bw_db::runs::{self, Abort, Created};
use bw_db::{events, pool};
use bw_messages::RunMessage;
use bw_queue::Outgoing;
use bw_vocab::{RunStart, RunStatus, Stage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::seams::Destination;
use crate::state::AppState;

/// A run as the API shows it: status, stage and counts (live while it runs, the snapshot once it ended).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub status: RunStatus,
    pub stage: Option<Stage>,
    pub counts: RunCounts,
    pub error: Option<String>,
    pub abort_requested: bool,
    pub attempts: i32,
    /// `manual` (a user started it) or `schedule` (the user's schedule did).
    pub started_by: RunStart,
    /// For a scheduled run, the due time it was started for.
    pub due_at: Option<DateTime<Utc>>,
    /// The jobs its end started: one per standing screen, over what it found new or changed.
    pub jobs: Vec<RunJob>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job a run's end started.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunJob {
    pub id: Uuid,
    pub name: String,
    pub status: bw_vocab::JobStatus,
    pub screen_id: Option<Uuid>,
    pub items_total: i32,
}

pub(crate) async fn view(conn: &mut diesel_async::AsyncPgConnection, run: Run) -> Result<RunView, ApiError> {
    let counts = counts::for_run(conn, &run).await?;
    let jobs = bw_db::llm::of_run(conn, run.id)
        .await?
        .into_iter()
        .map(|j| RunJob {
            id: j.id,
            name: j.name,
            status: j.status,
            screen_id: j.screen_id,
            items_total: j.items_total,
        })
        .collect();
    Ok(RunView {
        id: run.id,
        status: run.status,
        stage: run.stage,
        counts,
        error: run.error,
        abort_requested: run.abort_requested_at.is_some(),
        attempts: run.attempts,
        started_by: run.started_by,
        due_at: run.due_at,
        jobs,
        created_at: run.created_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
    })
}

/// Starts a run: written `pending`, its message queued (409 while another of the caller's runs is active).
#[utoipa::path(post, path = "/api/ingestion/runs", tag = "runs",
    responses((status = 202, body = RunView), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "A run is active; `error.details.run_id` names it"),
              (status = 503, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    User(user): User,
) -> Result<(StatusCode, axum::Json<RunView>), ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let created = runs::create(&mut conn, &user).await?;
    // No pooled connection is held across the send: a slow queue must not drain the pool.
    drop(conn);
    let run = match created {
        Created::Run(run) => run,
        Created::ActiveExists(active) => {
            return Err(ApiError::Conflict {
                message: format!(
                    "run {} is still {}; one run at a time per user (abort it or wait)",
                    active.id, active.status
                ),
                details: json!({ "run_id": active.id, "status": active.status }),
            });
        }
    };
    let message = RunMessage::new(run.id, &user, state.database);
    let outgoing = Outgoing::run(&message, Some(&Uuid::new_v4().simple().to_string()));
    let sent = state.queue.send(Destination::Runs, outgoing).await;
    let mut conn = pool::conn(&state.pool).await?;
    if let Err(error) = sent {
        tracing::error!(run.id = %run.id, error = %bw_telemetry::chain(error.as_ref()), "could not enqueue run; marking it failed");
        runs::fail_unleased(&mut conn, &user, run.id, "the run could not be queued; start a new one").await?;
        return Err(ApiError::Unavailable(
            "the run queue is unavailable; the run was marked failed, try again later".to_owned(),
        ));
    }
    tracing::info!(run.id = %run.id, user.id = %user, "run queued");
    Ok((StatusCode::ACCEPTED, axum::Json(view(&mut conn, run).await?)))
}

/// The caller's runs, newest first.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunList {
    pub runs: Vec<RunView>,
}

/// The caller's runs, newest first.
#[utoipa::path(get, path = "/api/ingestion/runs", tag = "runs", params(crate::extract::ListQuery),
    responses((status = 200, body = RunList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<crate::extract::ListQuery>,
) -> Result<axum::Json<RunList>, ApiError> {
    let limit = crate::extract::page_limit(q.limit, 20, 100)?;
    let mut conn = pool::conn(&state.pool).await?;
    let mut views = Vec::new();
    for run in runs::list(&mut conn, &user, limit).await? {
        views.push(view(&mut conn, run).await?);
    }
    Ok(axum::Json(RunList { runs: views }))
}

/// A run: status, stage, and counts (live while it runs).
#[utoipa::path(get, path = "/api/ingestion/runs/{id}", tag = "runs", params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 200, body = RunView), (status = 400, body = ErrorBody, description = "A malformed id"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<RunView>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let run = runs::get(&mut conn, &user, id).await?.ok_or_else(|| not_found(id))?;
    Ok(axum::Json(view(&mut conn, run).await?))
}

pub(crate) fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("run {id} not found"))
}

/// Aborts a run: at once when no worker holds it, else at the worker's next boundary.
#[utoipa::path(post, path = "/api/ingestion/runs/{id}/abort", tag = "runs", params(("id" = Uuid, Path, description = "Run id")),
    responses((status = 202, body = RunView), (status = 400, body = ErrorBody, description = "A malformed id"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The run has already ended")))]
pub async fn abort(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<RunView>), ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let run = match runs::request_abort(&mut conn, &user, id).await? {
        Abort::AbortedNow(run) | Abort::Requested(run) => run,
        Abort::AlreadyEnded(run) => {
            return Err(ApiError::Conflict {
                message: format!("run {id} has already ended ({})", run.status),
                details: json!({ "status": run.status }),
            });
        }
        Abort::Missing => return Err(not_found(id)),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(view(&mut conn, run).await?)))
}

/// Query of `GET /api/ingestion/runs/{id}/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events after this log position (pass back `next_after`).
    pub after: Option<i64>,
    /// Page size: 1-1000, default 200.
    pub limit: Option<i64>,
}

/// A page of a run's events.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsPage {
    pub events: Vec<RunEvent>,
    /// The position to pass as `after` for the next page.
    pub next_after: i64,
}

/// A run's events with their structured data, oldest first (see also `/api/ingestion/logs/{run_id}`).
#[utoipa::path(get, path = "/api/ingestion/runs/{id}/events", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id"), EventsQuery),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
    Query(q): Query<EventsQuery>,
) -> Result<axum::Json<EventsPage>, ApiError> {
    let limit = crate::extract::page_limit(q.limit, 200, 1000)?;
    let mut conn = pool::conn(&state.pool).await?;
    runs::get(&mut conn, &user, id).await?.ok_or_else(|| not_found(id))?;
    let after = q.after.unwrap_or(0);
    let list: Vec<RunEvent> = events::list(&mut conn, id, after, limit).await?;
    let next_after = list.last().map_or(after, |e| e.ms);
    Ok(axum::Json(EventsPage { events: list, next_after }))
}
