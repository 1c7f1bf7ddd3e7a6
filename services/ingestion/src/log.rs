//! A run's events go to its log in PostgreSQL and to the tracing output, inside the span carrying `run.id`.

use bw_db::events::{self, Level};
use bw_db::models::Stage;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

/// Records `message` in the run's event log and emits it as a tracing event.
pub async fn event(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    level: Level,
    stage: Stage,
    message: &str,
    data: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    let fields = data.as_ref().map(ToString::to_string).unwrap_or_default();
    match level {
        Level::Info => tracing::info!(stage = stage.as_str(), data = %fields, "{message}"),
        Level::Warn => tracing::warn!(stage = stage.as_str(), data = %fields, "{message}"),
        Level::Error => tracing::error!(stage = stage.as_str(), data = %fields, "{message}"),
    }
    events::record(conn, run_id, level, Some(stage), message, data).await
}
