//! What the expire guard decides a company's expiry against: how many of its postings are live, and whether a run
//! held its expiry (`companies.expiry_held_at`, with the size of the listing it held on). Read and written inside
//! the company's store transaction.

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
    /// The hold a run put on the company's expiry, while it waits for a second look.
    pub hold: Option<Hold>,
}

/// A held expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    pub since: DateTime<Utc>,
    /// How many postings the listing that was held had.
    pub listed: i64,
}

/// Reads the company's expiry state.
pub async fn base(conn: &mut AsyncPgConnection, company_id: Uuid) -> anyhow::Result<ExpiryBase> {
    let live = postings::table
        .filter(postings::company_id.eq(company_id))
        .filter(postings::status.ne("expired"))
        .count()
        .get_result(conn)
        .await?;
    let held: Option<(Option<DateTime<Utc>>, Option<i32>)> = companies::table
        .find(company_id)
        .select((companies::expiry_held_at, companies::expiry_held_listed))
        .first(conn)
        .await
        .optional()?;
    let hold = match held {
        Some((Some(since), listed)) => Some(Hold { since, listed: i64::from(listed.unwrap_or(0)) }),
        _ => None,
    };
    Ok(ExpiryBase { live, hold })
}

/// Marks the company's expiry held, or (`None`) clears the mark.
pub async fn set_held(conn: &mut AsyncPgConnection, company_id: Uuid, hold: Option<Hold>) -> anyhow::Result<()> {
    let listed = hold.map(|h| i32::try_from(h.listed).unwrap_or(i32::MAX));
    diesel::update(companies::table.find(company_id))
        .set((companies::expiry_held_at.eq(hold.map(|h| h.since)), companies::expiry_held_listed.eq(listed)))
        .execute(conn)
        .await?;
    Ok(())
}
