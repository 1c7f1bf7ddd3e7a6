//! The per-run event log: every stage change and notable event, readable by the run's owner.
//!
//! A line's position `ms` is assigned by the statement that inserts it, from the run's `log_ms`, under the run's row
//! lock (see migration `live_progress`): lines commit in `ms` order, so "the lines after `ms`" is an exact cursor.

use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::models::{RunEvent, Stage};
use crate::schema::run_events::dsl as e;

/// Severity of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Appends an event to the run's log (an error when the run does not exist).
pub async fn record(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    level: Level,
    stage: Option<Stage>,
    message: &str,
    data: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    let inserted = diesel::sql_query(
        "WITH position AS ( \
             UPDATE runs SET log_ms = GREATEST(log_ms + 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) \
             WHERE id = $1 RETURNING log_ms) \
         INSERT INTO run_events (run_id, ms, at, level, stage, message, data) \
         SELECT $1, log_ms, to_timestamp(log_ms / 1000.0), $2, $3, $4, $5 FROM position",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<Text, _>(level.as_str())
    .bind::<Nullable<Text>, _>(stage.map(Stage::as_str))
    .bind::<Text, _>(message)
    .bind::<Nullable<Jsonb>, _>(data)
    .execute(conn)
    .await?;
    anyhow::ensure!(inserted == 1, "cannot log to run {run_id}: no such run");
    Ok(())
}

/// The run's events after position `after_ms`, oldest first, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    after_ms: i64,
    limit: i64,
) -> anyhow::Result<Vec<RunEvent>> {
    Ok(e::run_events
        .filter(e::run_id.eq(run_id))
        .filter(e::ms.gt(after_ms))
        .order(e::ms.asc())
        .limit(limit)
        .select(RunEvent::as_select())
        .load(conn)
        .await?)
}
