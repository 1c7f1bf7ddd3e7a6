//! The per-run event log: every stage change and notable event, readable by the run's owner.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::models::RunEvent;
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

/// Appends an event to the run's log.
pub async fn record(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    level: Level,
    stage: Option<&str>,
    message: &str,
    data: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    diesel::insert_into(e::run_events)
        .values((
            e::run_id.eq(run_id),
            e::level.eq(level.as_str()),
            e::stage.eq(stage),
            e::message.eq(message),
            e::data.eq(data),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The run's events after `after_id`, oldest first, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    after_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<RunEvent>> {
    Ok(e::run_events
        .filter(e::run_id.eq(run_id))
        .filter(e::id.gt(after_id))
        .order(e::id.asc())
        .limit(limit)
        .select(RunEvent::as_select())
        .load(conn)
        .await?)
}
