//! Standing screens: `GET/POST /api/screens`, `GET/DELETE /api/screens/{id}`. A screen judges every finished run's
//! new and changed postings with an LLM job of its own (started with the run's end; see `bw_db::screens`).

use axum::extract::State;
use axum::http::StatusCode;
use bw_db::pool;
use bw_db::screens::{self, NewScreen, Screen};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::llm_jobs::{JobView, check_question, views};
use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// Jobs a screen's page lists, newest first.
const JOBS_SHOWN: i64 = 100;

/// Body of `POST /api/screens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScreenBody {
    pub name: String,
    /// What is asked of each posting.
    pub instructions: String,
    pub model: String,
    /// `background` or `batch`.
    pub mode: String,
}

/// The caller's screens.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScreenList {
    pub screens: Vec<Screen>,
}

/// A screen, and the jobs it started (newest first) with their progress.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScreenView {
    #[serde(flatten)]
    pub screen: Screen,
    pub jobs: Vec<JobView>,
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("screen {id} not found"))
}

/// The caller's standing screens, oldest first.
#[utoipa::path(get, path = "/api/screens", tag = "llm-jobs",
    responses((status = 200, body = ScreenList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, User(user): User) -> Result<axum::Json<ScreenList>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    Ok(axum::Json(ScreenList { screens: screens::list(&mut conn, &user).await? }))
}

/// Adds a standing screen: from the next finished run on, it judges what each run finds new or changed.
#[utoipa::path(post, path = "/api/screens", tag = "llm-jobs", request_body = NewScreenBody,
    responses((status = 201, body = Screen), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    Json(input): Json<NewScreenBody>,
) -> Result<(StatusCode, axum::Json<Screen>), ApiError> {
    let mode = check_question(&input.name, &input.model, &input.instructions, &input.mode)?;
    let new = NewScreen { name: input.name.trim(), instructions: &input.instructions, model: &input.model, mode };
    let mut conn = pool::conn(&state.pool).await?;
    let screen = screens::create(&mut conn, &user, new).await?;
    tracing::info!(user.id = %user, screen.id = %screen.id, "screen added");
    Ok((StatusCode::CREATED, axum::Json(screen)))
}

/// A screen and the jobs it started.
#[utoipa::path(get, path = "/api/screens/{id}", tag = "llm-jobs", params(("id" = Uuid, Path, description = "Screen id")),
    responses((status = 200, body = ScreenView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ScreenView>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let screen = screens::get(&mut conn, &user, id).await?.ok_or_else(|| not_found(id))?;
    let jobs = screens::jobs(&mut conn, id, JOBS_SHOWN).await?;
    let jobs = views(&mut conn, jobs).await?;
    Ok(axum::Json(ScreenView { screen, jobs }))
}

/// Removes a screen: later runs start no job for it; its jobs and their decisions stay.
#[utoipa::path(delete, path = "/api/screens/{id}", tag = "llm-jobs", params(("id" = Uuid, Path, description = "Screen id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    if screens::delete(&mut conn, &user, id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(not_found(id)) }
}
