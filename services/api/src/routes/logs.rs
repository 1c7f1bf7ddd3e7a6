//! `GET /api/ingestion/logs/{run_id}`: a run's log lines, incrementally.
//!
//! A line's `timestamp` is its position in the run's log (milliseconds since the epoch, strictly increasing within
//! the run, in commit order: see `bw_db::events`). So "the lines after timestamp T" is exact: a client that passes
//! back the last timestamp it saw (`start_time`), or the `next_token` it was given, gets every newer line once.

use axum::extract::State;
use bw_db::models::RunEvent;
use bw_db::{events, pool, runs};
use bw_vocab::Stage;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query, page_limit};
use crate::state::AppState;

/// Query of `GET /api/ingestion/logs/{run_id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Only lines logged after this time (milliseconds since the epoch, exclusive): pass the last line's
    /// `timestamp` to get what is new.
    pub start_time: Option<i64>,
    /// The `next_token` of the previous answer (instead of `start_time`).
    pub next_token: Option<String>,
    /// Page size: 1-1000, default 100.
    pub limit: Option<i64>,
}

/// One line of a run's log.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Milliseconds since the epoch; unique and increasing within the run.
    pub timestamp: i64,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// None for run-level lines.
    pub stage: Option<Stage>,
    pub message: String,
}

impl From<RunEvent> for LogLine {
    fn from(e: RunEvent) -> Self {
        Self { timestamp: e.ms, level: e.level, stage: e.stage, message: e.message }
    }
}

/// A page of log lines.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogsPage {
    pub logs: Vec<LogLine>,
    /// Pass it back for the lines after these (also when `logs` is empty: it then names the same position).
    pub next_token: String,
}

/// Encodes a log position as an opaque token.
pub fn token(position: i64) -> String {
    format!("l{position}")
}

fn position(q: &LogsQuery) -> Result<i64, ApiError> {
    match (q.start_time, q.next_token.as_deref()) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest("give start_time or next_token, not both".into())),
        (Some(ms), None) if ms >= 0 => Ok(ms),
        (Some(_), None) => Err(ApiError::BadRequest("start_time must be milliseconds since the epoch".into())),
        (None, Some(t)) => t
            .strip_prefix('l')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::BadRequest(format!("next_token {t:?} is not a token this API gave"))),
        (None, None) => Ok(0),
    }
}

/// A run's log lines after a position, oldest first.
#[utoipa::path(get, path = "/api/ingestion/logs/{run_id}", tag = "runs",
    params(("run_id" = Uuid, Path, description = "Run id"), LogsQuery),
    responses((status = 200, body = LogsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn logs(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<Uuid>,
    Query(q): Query<LogsQuery>,
) -> Result<axum::Json<LogsPage>, ApiError> {
    let limit = page_limit(q.limit, 100, 1000)?;
    let after = position(&q)?;
    let mut conn = pool::conn(&state.pool).await?;
    runs::get(&mut conn, &user, run_id).await?.ok_or_else(|| crate::routes::runs::not_found(run_id))?;
    let lines: Vec<LogLine> =
        events::list(&mut conn, run_id, after, limit).await?.into_iter().map(LogLine::from).collect();
    let next_token = token(lines.last().map_or(after, |l| l.timestamp));
    Ok(axum::Json(LogsPage { logs: lines, next_token }))
}
