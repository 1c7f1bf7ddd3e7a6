//! What the expire guard decides a company's expiry against: how many of its postings are live, and whether a run
//! held its expiry (`companies.expiry_held_at`). Read and written inside the company's store transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{companies, postings};

/// A company's expiry state before its listing is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryBase {
    /// The company's postings that are not expired: every posting of its last confirmed listing stays live, so this
    /// is that listing's size (with what later held runs added).
    pub live: i64,
    /// When a run held the company's expiry, while that hold waits for a second look.
    pub held_since: Option<DateTime<Utc>>,
}

/// Reads the company's expiry state.
pub async fn base(conn: &mut AsyncPgConnection, company_id: Uuid) -> anyhow::Result<ExpiryBase> {
    let live = postings::table
        .filter(postings::company_id.eq(company_id))
        .filter(postings::status.ne("expired"))
        .count()
        .get_result(conn)
        .await?;
    let held_since =
        companies::table.find(company_id).select(companies::expiry_held_at).first(conn).await.optional()?.flatten();
    Ok(ExpiryBase { live, held_since })
}

/// Marks the company's expiry held since `at`, or (`None`) clears the mark.
pub async fn set_held(conn: &mut AsyncPgConnection, company_id: Uuid, at: Option<DateTime<Utc>>) -> anyhow::Result<()> {
    diesel::update(companies::table.find(company_id)).set(companies::expiry_held_at.eq(at)).execute(conn).await?;
    Ok(())
}
