//! Rows as the services see them.

pub use bw_vocab::{BoardKind, BoardRegion, RunStart, RunStatus, Stage};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::schema::{companies, run_companies, run_events, runs};

/// A company whose career board a user follows.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = companies)]
pub struct Company {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    pub board_kind: BoardKind,
    pub board_token: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Which of the service's hosts the board is on: `us` (the main one) or `eu` (Greenhouse and Lever only).
    #[serde(default)]
    pub board_region: BoardRegion,
}

impl Company {
    /// Its board as log lines name it: `greenhouse acme`, or `greenhouse acme on the EU host`.
    pub fn board_label(&self) -> String {
        match self.board_region {
            BoardRegion::Us => format!("{} {}", self.board_kind, self.board_token),
            BoardRegion::Eu => format!("{} {} on the EU host", self.board_kind, self.board_token),
        }
    }
}

/// An ingestion run.
#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = runs)]
pub struct Run {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub status: RunStatus,
    pub stage: Option<Stage>,
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
    pub started_by: RunStart,
    /// For a scheduled run, the due time it was started for.
    pub due_at: Option<DateTime<Utc>>,
}

impl Run {
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

/// One line of a run's event log.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = run_events)]
pub struct RunEvent {
    pub id: i64,
    #[serde(skip)]
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
    pub level: String,
    pub stage: Option<Stage>,
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
