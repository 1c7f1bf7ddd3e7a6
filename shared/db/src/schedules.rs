//! Users' schedules of runs (one each): what it is, and when it is next due. The scheduled dispatch takes the due
//! ones under a row lock that other dispatches skip, starts their runs and moves their next due time past now, all
//! in one transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::schema::schedules::{self, dsl as s};

/// A user's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = schedules)]
pub struct ScheduleRow {
    #[serde(skip)]
    pub user_id: String,
    /// Every this many hours (or null, with `cron`).
    pub every_hours: Option<i32>,
    /// A cron expression of five fields read in `time_zone` (or null, with `every_hours`).
    pub cron: Option<String>,
    pub time_zone: String,
    /// When the scheduled dispatch starts the next run.
    pub next_due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The schedule of `user_id`, if any.
pub async fn get(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<Option<ScheduleRow>> {
    Ok(s::schedules.find(user_id).select(ScheduleRow::as_select()).first(conn).await.optional()?)
}

/// Sets the schedule of `user_id` (replacing any), next due at `next_due_at`.
pub async fn put(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    every_hours: Option<i32>,
    cron: Option<&str>,
    time_zone: &str,
    next_due_at: DateTime<Utc>,
) -> anyhow::Result<ScheduleRow> {
    let values = (
        s::user_id.eq(user_id),
        s::every_hours.eq(every_hours),
        s::cron.eq(cron),
        s::time_zone.eq(time_zone),
        s::next_due_at.eq(next_due_at),
    );
    Ok(diesel::insert_into(s::schedules)
        .values(values)
        .on_conflict(s::user_id)
        .do_update()
        .set((
            s::every_hours.eq(every_hours),
            s::cron.eq(cron),
            s::time_zone.eq(time_zone),
            s::next_due_at.eq(next_due_at),
            s::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ScheduleRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Removes the schedule of `user_id`; false when there was none.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<bool> {
    Ok(diesel::delete(s::schedules.find(user_id)).execute(conn).await? == 1)
}

/// Up to `limit` schedules due at `now`, locked for this transaction; schedules another transaction holds are
/// skipped (another dispatch is starting their runs). Must run inside a transaction.
pub async fn lock_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<ScheduleRow>> {
    Ok(s::schedules
        .filter(s::next_due_at.le(now))
        .order(s::next_due_at.asc())
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(ScheduleRow::as_select())
        .load(conn)
        .await?)
}

/// Moves the schedule of `user_id` on to `next_due_at`.
pub async fn advance(conn: &mut AsyncPgConnection, user_id: &str, next_due_at: DateTime<Utc>) -> anyhow::Result<()> {
    diesel::update(s::schedules.find(user_id)).set(s::next_due_at.eq(next_due_at)).execute(conn).await?;
    Ok(())
}
