//! `GET/PUT/DELETE /api/schedule`: the caller's schedule of runs. The scheduled dispatch starts each due run by the
//! same path as `POST /api/ingestion/runs` (see `bw_maintenance::scheduled_runs`).

use axum::extract::State;
use axum::http::StatusCode;
use bw_db::pool;
use bw_db::schedules::{self, ScheduleRow};
use bw_schedule::Schedule;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `PUT /api/schedule`: every N hours, or a cron expression in a time zone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// A run every this many hours (1 to 8760).
    pub every_hours: Option<i64>,
    /// Or a cron expression of five fields (minute hour day-of-month month day-of-week), at most hourly, e.g.
    /// `0 8 * * 1-5`.
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in (default `UTC`), e.g. `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// With `every_hours`: the first run's time (default: `every_hours` from now); a past time starts one at once.
    pub first_at: Option<DateTime<Utc>>,
}

fn not_found() -> ApiError {
    ApiError::NotFound("you have no schedule (PUT /api/schedule sets one)".to_owned())
}

/// The caller's schedule.
#[utoipa::path(get, path = "/api/schedule", tag = "runs",
    responses((status = 200, body = ScheduleRow), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "No schedule")))]
pub async fn show(State(state): State<AppState>, User(user): User) -> Result<axum::Json<ScheduleRow>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    Ok(axum::Json(schedules::get(&mut conn, &user).await?.ok_or_else(not_found)?))
}

/// Sets (or replaces) the caller's schedule; answers it with its next due time.
#[utoipa::path(put, path = "/api/schedule", tag = "runs", request_body = NewSchedule,
    responses((status = 200, body = ScheduleRow), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    User(user): User,
    Json(input): Json<NewSchedule>,
) -> Result<axum::Json<ScheduleRow>, ApiError> {
    let bad = |e: bw_schedule::ScheduleError| ApiError::BadRequest(e.to_string());
    if input.cron.is_some() && input.first_at.is_some() {
        return Err(bad(bw_schedule::ScheduleError::FirstAtWithCron));
    }
    if input.every_hours.is_some() && input.time_zone.is_some() {
        return Err(bad(bw_schedule::ScheduleError::TimeZoneWithHours));
    }
    let schedule =
        Schedule::from_parts(input.every_hours, input.cron.as_deref(), input.time_zone.as_deref()).map_err(bad)?;
    let now = Utc::now();
    let (every_hours, cron, next_due_at) = match &schedule {
        Schedule::EveryHours { hours } => {
            let first = input.first_at.unwrap_or_else(|| now + Duration::hours(i64::from(*hours)));
            (Some(i32::try_from(*hours).unwrap_or(i32::MAX)), None, first)
        }
        Schedule::Cron { expr, .. } => {
            let next =
                schedule.next_after(now, now).ok_or_else(|| bad(bw_schedule::ScheduleError::Never(expr.clone())))?;
            (None, Some(expr.clone()), next)
        }
    };
    let mut conn = pool::conn(&state.pool).await?;
    let row = schedules::put(&mut conn, &user, every_hours, cron.as_deref(), schedule.time_zone(), next_due_at).await?;
    tracing::info!(user.id = %user, next_due_at = %row.next_due_at, "schedule set");
    Ok(axum::Json(row))
}

/// Removes the caller's schedule; runs already started go on.
#[utoipa::path(delete, path = "/api/schedule", tag = "runs",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, User(user): User) -> Result<StatusCode, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    if schedules::delete(&mut conn, &user).await? { Ok(StatusCode::NO_CONTENT) } else { Err(not_found()) }
}
