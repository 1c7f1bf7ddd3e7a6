//! What each company's last successful listing was (`companies.listed_at`, `listed_count` and the board's
//! validators): one row per board and run, however many postings the board lists. See [`crate::browse::LAST_SEEN`]
//! for what `listed_at` stands for.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::companies::dsl as c;

/// A company's last successful listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingState {
    /// When it was read; `None` before the first.
    pub listed_at: Option<DateTime<Utc>>,
    /// How many postings it had.
    pub listed_count: Option<i32>,
    /// The board's `ETag` for it.
    pub etag: Option<String>,
    /// The board's `Last-Modified` for it.
    pub last_modified: Option<String>,
    /// The [`bw_extract::NORMALIZER_VERSION`] its postings were stored with.
    pub normalized_with: i16,
}

impl ListingState {
    /// Whether its postings were made by an older normaliser than this one: the next listing is then read whole
    /// and every posting in it written again.
    pub fn stale(&self) -> bool {
        self.normalized_with < bw_extract::NORMALIZER_VERSION
    }
}

/// The listing states of the user's live companies, by company.
pub async fn states(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<HashMap<Uuid, ListingState>> {
    type Row = (Uuid, Option<DateTime<Utc>>, Option<i32>, Option<String>, Option<String>, i16);
    let rows: Vec<Row> = c::companies
        .filter(c::user_id.eq(user_id))
        .filter(c::deleted_at.is_null())
        .select((c::id, c::listed_at, c::listed_count, c::listing_etag, c::listing_last_modified, c::normalized_with))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, listed_at, listed_count, etag, last_modified, normalized_with)| {
            (id, ListingState { listed_at, listed_count, etag, last_modified, normalized_with })
        })
        .collect())
}

/// Records the company's new listing (its one write for an unchanged board).
pub async fn record(conn: &mut AsyncPgConnection, company_id: Uuid, state: &ListingState) -> anyhow::Result<()> {
    diesel::update(c::companies.find(company_id))
        .set((
            c::listed_at.eq(state.listed_at),
            c::listed_count.eq(state.listed_count),
            c::listing_etag.eq(state.etag.as_deref().map(|v| crate::storable(v.to_owned()))),
            c::listing_last_modified.eq(state.last_modified.as_deref().map(|v| crate::storable(v.to_owned()))),
            c::normalized_with.eq(state.normalized_with),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
