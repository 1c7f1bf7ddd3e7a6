//! Rows as the services see them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::schema::{companies, run_companies, run_events, runs};

/// A company whose career board a user follows.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = companies)]
pub struct Company {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    pub board_kind: String,
    pub board_token: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An ingestion run.
#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = runs)]
pub struct Run {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub status: String,
    pub stage: Option<String>,
    pub counts: serde_json::Value,
    pub error: Option<String>,
    pub abort_requested_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub lease_owner: Option<Uuid>,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Run statuses, in lifecycle order.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const INITIALIZING: &str = "initializing";
    pub const INGESTING: &str = "ingesting";
    pub const FINISHED: &str = "finished";
    pub const FAILED: &str = "failed";
    pub const ABORTED: &str = "aborted";
    /// Statuses after which nothing changes.
    pub const TERMINAL: [&str; 3] = [FINISHED, FAILED, ABORTED];
    /// Statuses of a run that is under way.
    pub const ACTIVE: [&str; 3] = [PENDING, INITIALIZING, INGESTING];

    pub fn is_terminal(status: &str) -> bool {
        TERMINAL.contains(&status)
    }
}

/// Stages recorded in `runs.stage` and on events.
pub mod stage {
    pub const EXTRACT: &str = "extract";
    pub const UPSERT: &str = "upsert";
    pub const EXPIRE: &str = "expire";
    pub const INGEST: &str = "ingest";
    pub const SUMMARY: &str = "summary";
}

impl Run {
    pub fn is_terminal(&self) -> bool {
        status::is_terminal(&self.status)
    }
}

/// One line of a run's event log.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = run_events)]
pub struct RunEvent {
    pub id: i64,
    #[serde(skip)]
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
    pub level: String,
    pub stage: Option<String>,
    pub message: String,
    pub data: Option<serde_json::Value>,
    /// Position in the run's log: milliseconds since the epoch, strictly increasing within the run, in commit order.
    pub ms: i64,
}

/// One company's checkpoint and counts within a run.
#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = run_companies)]
pub struct RunCompany {
    pub run_id: Uuid,
    pub company_id: Uuid,
    pub extract_status: String,
    pub error: Option<String>,
    pub found: i32,
    pub inserted: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub expired: i32,
    pub ready: i32,
    pub failed: i32,
    pub completed_at: DateTime<Utc>,
    /// Postings the listing left out whose expiry was held (see `crate::expiry`).
    pub expiry_held: i32,
    /// Why the company's expiry was held in this run.
    pub expiry_held_reason: Option<String>,
}
