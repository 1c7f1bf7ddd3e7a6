//! A run's counts: per company from its checkpoints, and in total.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::models::{BoardKind, RunCompany};
use crate::schema::{companies, run_companies};

/// Posting counts of one company, or of a whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    pub found: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub expired: i64,
    pub ready: i64,
    pub failed: i64,
    /// Postings the listing left out that were not expired because the company's expiry was held (a suspicious
    /// shrink waiting for a second look, or a listing read only in part).
    #[serde(default)]
    pub expiry_held: i64,
}

impl Tally {
    /// The counts of postings every run reports, in the order tables show them (`expiry_held` is reported apart,
    /// with its reason).
    pub const COLUMNS: [&'static str; 7] = ["found", "inserted", "updated", "unchanged", "expired", "ready", "failed"];

    /// The figures of [`Tally::COLUMNS`], in that order.
    pub fn figures(&self) -> [i64; 7] {
        [self.found, self.inserted, self.updated, self.unchanged, self.expired, self.ready, self.failed]
    }

    fn add(&mut self, row: &RunCompany) {
        self.found += i64::from(row.found);
        self.inserted += i64::from(row.inserted);
        self.updated += i64::from(row.updated);
        self.unchanged += i64::from(row.unchanged);
        self.expired += i64::from(row.expired);
        self.ready += i64::from(row.ready);
        self.failed += i64::from(row.failed);
        self.expiry_held += i64::from(row.expiry_held);
    }
}

/// One company's line in a run's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyCounts {
    pub company_id: Uuid,
    pub name: String,
    pub board_kind: BoardKind,
    pub extract_status: String,
    pub error: Option<String>,
    /// Why the company's expiry was held in this run, e.g. "the board listed 0 postings where its last listing had
    /// 120; a second run that sees the same is needed to expire them".
    #[serde(default)]
    pub expiry_held_reason: Option<String>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The counts of a run: the snapshot stored when it ends, and the live view while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunCounts {
    pub total: Tally,
    pub companies_total: i64,
    pub companies_done: i64,
    pub boards_failed: i64,
    /// Companies whose expiry was held in this run (`expiry_held_reason` says why).
    #[serde(default)]
    pub boards_expiry_held: i64,
    /// Postings expired because their company was removed (also included in `total.expired`).
    pub removed_company_postings_expired: i64,
    pub companies: Vec<CompanyCounts>,
}

/// Reads the run's per-company checkpoints into counts; `companies_total` and the removed-company figure come from
/// the caller (they are not per-company rows).
pub async fn load(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    companies_total: i64,
    removed_expired: i64,
) -> anyhow::Result<RunCounts> {
    let rows: Vec<(RunCompany, (String, BoardKind))> = run_companies::table
        .inner_join(companies::table)
        .filter(run_companies::run_id.eq(run_id))
        .order((companies::created_at.asc(), companies::id.asc()))
        .select((RunCompany::as_select(), (companies::name, companies::board_kind)))
        .load(conn)
        .await?;
    let mut counts =
        RunCounts { companies_total, removed_company_postings_expired: removed_expired, ..Default::default() };
    for (row, (name, board_kind)) in rows {
        counts.total.add(&row);
        counts.companies_done += 1;
        if row.extract_status != "ok" {
            counts.boards_failed += 1;
        }
        if row.expiry_held_reason.is_some() {
            counts.boards_expiry_held += 1;
        }
        let mut tally = Tally::default();
        tally.add(&row);
        counts.companies.push(CompanyCounts {
            company_id: row.company_id,
            name,
            board_kind,
            extract_status: row.extract_status,
            error: row.error,
            expiry_held_reason: row.expiry_held_reason,
            tally,
        });
    }
    counts.total.expired += removed_expired;
    Ok(counts)
}

/// The run's counts: the stored snapshot once it has ended, else the live view from its checkpoints and the working
/// figures kept in `runs.counts` while it runs.
pub async fn for_run(conn: &mut AsyncPgConnection, run: &crate::models::Run) -> anyhow::Result<RunCounts> {
    if run.is_terminal()
        && let Ok(counts) = serde_json::from_value::<RunCounts>(run.counts.clone())
    {
        return Ok(counts);
    }
    let figure = |key: &str| run.counts.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0);
    load(conn, run.id, figure("companies_total"), figure("removed_company_postings_expired")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_the_tallys_fields_but_the_held_expiry() -> anyhow::Result<()> {
        let json = serde_json::to_value(Tally::default())?;
        let mut keys: Vec<&str> = json.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.retain(|k| *k != "expiry_held");
        let mut columns = Tally::COLUMNS.to_vec();
        keys.sort_unstable();
        columns.sort_unstable();
        assert_eq!(keys, columns);
        Ok(())
    }

    #[test]
    fn figures_are_the_columns_in_their_order() -> anyhow::Result<()> {
        let tally =
            Tally { found: 1, inserted: 2, updated: 3, unchanged: 4, expired: 5, ready: 6, failed: 7, expiry_held: 8 };
        let json = serde_json::to_value(tally)?;
        assert_eq!(Tally::COLUMNS.map(|c| json[c].as_i64().unwrap_or(-1)), tally.figures());
        Ok(())
    }
}
