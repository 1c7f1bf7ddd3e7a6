//! Posting writes: the batched UPSERT of a company's listing, expiry, and the results of ingestion.
//!
//! A company's UPSERT, its expiry and its checkpoint row commit in one transaction, so a redelivered run message
//! either finds the company done or redoes all of it; never half.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea, Int4, Int8, Json, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::counts::Tally;
use crate::storable;

/// Rows per UPSERT statement. Each statement binds one array per column (9 parameters), far under
/// [`crate::MAX_BIND_PARAMS`]; the chunking bounds statement size and memory, not parameters.
pub const UPSERT_CHUNK_ROWS: usize = 2_000;
/// Bind parameters in one UPSERT statement.
pub const UPSERT_PARAMS_PER_STATEMENT: usize = 9;

/// One posting as listed by its board, ready to store.
#[derive(Clone, Debug)]
pub struct NewPosting {
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub title: String,
    pub url: Option<String>,
    pub raw: serde_json::Value,
}

/// What storing one company's listing did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    pub tally: Tally,
    pub statements: usize,
    pub max_params_per_statement: usize,
}

/// Identifies one company's listing within a run.
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    pub run_id: Uuid,
    pub user_id: &'a str,
    pub company_id: Uuid,
    pub seen_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// The UPSERT, and in the same statement the changes it made to postings already stored (`posting_changes`): a
/// changed content, or an expired posting listed again with the same content. (A failed one with the same content
/// goes back to `pending` for another try, which is not a change to record: a posting that keeps failing would
/// write a row every run.) A new posting's run is its `first_run_id`. `content_changed_at` moves only when the
/// content changed. Every part of the statement sees the rows as they were before it.
const UPSERT_SQL: &str = "\
WITH was_expired AS (
    SELECT external_id FROM postings WHERE company_id = $2 AND status = 'expired' AND external_id = ANY($5::text[])
), up AS (
    INSERT INTO postings AS p (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title,
                              url, raw, first_seen_at, last_seen_at, content_changed_at)
    SELECT $1, $2, t.external_id, $3, $3, 'pending', t.content_hash, t.title, t.url, t.raw, $4, $4, $4
    FROM UNNEST($5::text[], $6::bytea[], $7::text[], $8::text[], $9::json[])
        AS t(external_id, content_hash, title, url, raw)
    ON CONFLICT (company_id, external_id) DO UPDATE SET
        run_id = excluded.run_id, status = 'pending', content_hash = excluded.content_hash, title = excluded.title,
        url = excluded.url, raw = excluded.raw, last_seen_at = excluded.last_seen_at,
        content_changed_at = CASE WHEN p.content_hash <> excluded.content_hash
                                  THEN excluded.content_changed_at ELSE p.content_changed_at END,
        expired_at = NULL, ingest_error = NULL
    WHERE p.content_hash <> excluded.content_hash OR p.status IN ('expired', 'failed')
    RETURNING p.id, p.external_id, (p.xmax = 0) AS inserted, (p.content_changed_at = $4) AS changed
), logged AS (
    INSERT INTO posting_changes (posting_id, run_id, change, at)
    SELECT id, $3, CASE WHEN changed THEN 'changed' ELSE 'seen_again' END, $4 FROM up
    WHERE NOT inserted AND (changed OR external_id IN (SELECT external_id FROM was_expired))
    ON CONFLICT DO NOTHING
)
SELECT external_id, inserted FROM up";

/// UPSERTs `postings` in chunks: new ones are inserted `pending`; changed ones (content hash), or expired or failed
/// ones seen again, get this run's id and go back to `pending`; unchanged ones are not rewritten: only their
/// `last_seen_at` moves. `postings` must not repeat an external id (see [`dedup`]).
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    listing: Listing<'_>,
    postings: &[NewPosting],
) -> anyhow::Result<StoreOutcome> {
    let mut outcome = StoreOutcome { max_params_per_statement: UPSERT_PARAMS_PER_STATEMENT, ..Default::default() };
    let mut touched = std::collections::HashSet::new();
    for chunk in postings.chunks(UPSERT_CHUNK_ROWS) {
        let rows: Vec<Upserted> = diesel::sql_query(UPSERT_SQL)
            .bind::<Text, _>(listing.user_id)
            .bind::<SqlUuid, _>(listing.company_id)
            .bind::<SqlUuid, _>(listing.run_id)
            .bind::<Timestamptz, _>(listing.seen_at)
            .bind::<Array<Text>, _>(chunk.iter().map(|p| p.external_id.as_str()).collect::<Vec<_>>())
            .bind::<Array<Bytea>, _>(chunk.iter().map(|p| p.content_hash.as_slice()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(chunk.iter().map(|p| p.title.as_str()).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(chunk.iter().map(|p| p.url.as_deref()).collect::<Vec<_>>())
            .bind::<Array<Json>, _>(chunk.iter().map(|p| &p.raw).collect::<Vec<_>>())
            .load(conn)
            .await?;
        outcome.statements += 1;
        for row in rows {
            if row.inserted {
                outcome.tally.inserted += 1
            } else {
                outcome.tally.updated += 1
            }
            touched.insert(row.external_id);
        }
    }
    let unchanged: Vec<&str> =
        postings.iter().map(|p| p.external_id.as_str()).filter(|id| !touched.contains(*id)).collect();
    for chunk in unchanged.chunks(UPSERT_CHUNK_ROWS * 5) {
        diesel::sql_query("UPDATE postings SET last_seen_at = $1 WHERE company_id = $2 AND external_id = ANY($3)")
            .bind::<Timestamptz, _>(listing.seen_at)
            .bind::<SqlUuid, _>(listing.company_id)
            .bind::<Array<Text>, _>(chunk)
            .execute(conn)
            .await?;
        outcome.statements += 1;
    }
    outcome.tally.found = i64::try_from(postings.len())?;
    outcome.tally.unchanged = i64::try_from(unchanged.len())?;
    Ok(outcome)
}

/// Longest external id stored as is; a longer one is stored as `sha256:<hex>` (a btree key must stay small).
const MAX_EXTERNAL_ID_LEN: usize = 512;

impl NewPosting {
    /// Makes the posting storable: NULs removed from its text, an overlong external id replaced by its hash. Bad
    /// data in one posting must not fail the whole company, or every run after it.
    pub fn storable(self) -> Self {
        use sha2::{Digest as _, Sha256};
        let id = storable(self.external_id);
        let external_id = if id.len() > MAX_EXTERNAL_ID_LEN {
            format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
        } else {
            id
        };
        Self { external_id, title: storable(self.title), url: self.url.map(storable), ..self }
    }
}

/// Drops repeated external ids (a board can list one posting twice), keeping the first; returns how many it dropped.
pub fn dedup(postings: &mut Vec<NewPosting>) -> usize {
    let before = postings.len();
    let mut seen = std::collections::HashSet::with_capacity(before);
    postings.retain(|p| seen.insert(p.external_id.clone()));
    before - postings.len()
}

#[derive(QueryableByName)]
struct Expired {
    #[diesel(sql_type = Int8)]
    expired: i64,
}

/// Expires the postings `which` selects (a condition on `postings`, after `$1` the time, `$2` the run, `$3` and `$4`
/// its own parameters), recording the expiry in `posting_changes`; answers how many expired.
fn expire_sql(which: &str) -> String {
    format!(
        "WITH gone AS (UPDATE postings SET status = 'expired', expired_at = $1 WHERE status <> 'expired' AND {which} \
                       RETURNING id), \
              logged AS (INSERT INTO posting_changes (posting_id, run_id, change, at) \
                         SELECT id, $2, 'expired', $1 FROM gone ON CONFLICT DO NOTHING) \
         SELECT count(*) AS expired FROM gone"
    )
}

/// When and by which run postings expire.
#[derive(Clone, Copy, Debug)]
pub struct Expiring {
    pub run_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Expires the company's postings that its (successful) listing no longer carries.
pub async fn expire_missing(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    listed_ids: &[&str],
    when: Expiring,
) -> anyhow::Result<i64> {
    let row: Expired = diesel::sql_query(expire_sql("company_id = $3 AND NOT (external_id = ANY($4))"))
        .bind::<Timestamptz, _>(when.at)
        .bind::<SqlUuid, _>(when.run_id)
        .bind::<SqlUuid, _>(company_id)
        .bind::<Array<Text>, _>(listed_ids)
        .get_result(conn)
        .await?;
    Ok(row.expired)
}

/// Expires every live posting of the user's removed companies.
pub async fn expire_removed_companies(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    when: Expiring,
) -> anyhow::Result<i64> {
    let which =
        "user_id = $3 AND company_id IN (SELECT id FROM companies WHERE user_id = $3 AND deleted_at IS NOT NULL)";
    let row: Expired = diesel::sql_query(expire_sql(which))
        .bind::<Timestamptz, _>(when.at)
        .bind::<SqlUuid, _>(when.run_id)
        .bind::<Text, _>(user_id)
        .get_result(conn)
        .await?;
    Ok(row.expired)
}

/// Counts the company's postings that its listing no longer carries, as [`expire_missing`] would expire them.
pub async fn count_missing(conn: &mut AsyncPgConnection, company_id: Uuid, listed_ids: &[&str]) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Int8)]
        n: i64,
    }
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM postings \
         WHERE company_id = $1 AND status <> 'expired' AND NOT (external_id = ANY($2))",
    )
    .bind::<SqlUuid, _>(company_id)
    .bind::<Array<Text>, _>(listed_ids)
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// How one company's listing was stored: its counts, or why its board failed.
#[derive(Clone, Copy, Debug)]
pub enum Checkpoint<'a> {
    /// The listing was stored; `expiry_held_reason` says why its expiry was held, if it was.
    Stored { tally: &'a Tally, expiry_held_reason: Option<&'a str> },
    /// The board failed with this reason; nothing was stored.
    Failed { error: &'a str },
}

/// Writes a company's checkpoint row; `false` when the run already has one for it (a concurrent or earlier delivery).
pub async fn checkpoint_company(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    company_id: Uuid,
    checkpoint: Checkpoint<'_>,
) -> anyhow::Result<bool> {
    let none = Tally::default();
    let (error, tally, held) = match checkpoint {
        Checkpoint::Stored { tally, expiry_held_reason } => (None, tally, expiry_held_reason),
        Checkpoint::Failed { error } => (Some(error), &none, None),
    };
    let n = diesel::sql_query(
        "INSERT INTO run_companies (run_id, company_id, extract_status, error, found, inserted, updated, unchanged, \
         expired, expiry_held, expiry_held_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<SqlUuid, _>(company_id)
    .bind::<Text, _>(if error.is_some() { "failed" } else { "ok" })
    .bind::<Nullable<Text>, _>(error)
    .bind::<Int4, _>(i32::try_from(tally.found)?)
    .bind::<Int4, _>(i32::try_from(tally.inserted)?)
    .bind::<Int4, _>(i32::try_from(tally.updated)?)
    .bind::<Int4, _>(i32::try_from(tally.unchanged)?)
    .bind::<Int4, _>(i32::try_from(tally.expired)?)
    .bind::<Int4, _>(i32::try_from(tally.expiry_held)?)
    .bind::<Nullable<Text>, _>(held.map(|h| crate::storable(h.to_owned())))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The ids of companies the run has already checkpointed.
pub async fn checkpointed_companies(conn: &mut AsyncPgConnection, run_id: Uuid) -> anyhow::Result<Vec<Uuid>> {
    use crate::schema::run_companies::dsl as rc;
    Ok(rc::run_companies.filter(rc::run_id.eq(run_id)).select(rc::company_id).load(conn).await?)
}

/// A posting waiting for ingestion, with its board.
#[derive(Clone, Debug, QueryableByName)]
pub struct PendingPosting {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub company_id: Uuid,
    #[diesel(sql_type = Text)]
    pub board_kind: String,
    #[diesel(sql_type = Text)]
    pub board_token: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Json)]
    pub raw: serde_json::Value,
}

/// The next `limit` pending postings of the user's live companies with ids above `after_id`.
pub async fn pending_after(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    after_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<PendingPosting>> {
    Ok(diesel::sql_query(
        "SELECT p.id, p.company_id, c.board_kind, c.board_token, p.external_id, p.raw \
         FROM postings p JOIN companies c ON c.id = p.company_id \
         WHERE p.user_id = $1 AND p.status = 'pending' AND p.id > $2 AND c.deleted_at IS NULL \
         ORDER BY p.id LIMIT $3",
    )
    .bind::<Text, _>(user_id)
    .bind::<Int8, _>(after_id)
    .bind::<Int8, _>(limit)
    .load(conn)
    .await?)
}

/// The outcome of ingesting one posting: its normalised fields, or the reason it failed.
#[derive(Clone, Debug)]
pub struct Ingested {
    pub id: i64,
    pub outcome: Result<bw_extract::NormalizedPosting, String>,
}

#[derive(QueryableByName)]
struct IngestedRow {
    #[diesel(sql_type = SqlUuid)]
    company_id: Uuid,
    #[diesel(sql_type = Text)]
    status: String,
}

const INGEST_SQL: &str = "\
UPDATE postings AS p SET
    status = CASE WHEN t.error IS NULL THEN 'ready' ELSE 'failed' END,
    ingest_error = t.error, title = coalesce(t.title, p.title), location = t.location, remote = t.remote,
    department = t.department, employment_type = t.employment_type, compensation = t.compensation,
    description = t.description, posted_at = t.posted_at, source_updated_at = t.source_updated_at
FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::timestamptz[], $11::timestamptz[])
     AS t(id, error, title, location, remote, department, employment_type, compensation, description, posted_at,
          source_updated_at)
WHERE p.id = t.id AND p.status = 'pending'
RETURNING p.company_id, p.status";

fn ok(r: &Ingested) -> Option<&bw_extract::NormalizedPosting> {
    r.outcome.as_ref().ok()
}

/// Stores ingestion results (only for postings still `pending`, their text made storable) and adds them to the run's per-company counts, in
/// one transaction the caller holds. Returns (ready, failed) as written.
pub async fn apply_ingested(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    results: &[Ingested],
) -> anyhow::Result<(i64, i64)> {
    // Text as PostgreSQL can store it: boards do send NUL characters.
    let text = |f: fn(&bw_extract::NormalizedPosting) -> Option<&str>| {
        results.iter().map(|r| ok(r).and_then(f).map(|t| storable(t.to_owned()))).collect::<Vec<_>>()
    };
    let time = |f: fn(&bw_extract::NormalizedPosting) -> Option<DateTime<Utc>>| {
        results.iter().map(|r| ok(r).and_then(f)).collect::<Vec<_>>()
    };
    let rows: Vec<IngestedRow> = diesel::sql_query(INGEST_SQL)
        .bind::<Array<Int8>, _>(results.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            results.iter().map(|r| r.outcome.as_ref().err().map(|e| storable(e.clone()))).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(text(|n| Some(n.title.as_str())))
        .bind::<Array<Nullable<Text>>, _>(text(|n| n.location.as_deref()))
        .bind::<Array<Nullable<Bool>>, _>(results.iter().map(|r| ok(r).and_then(|n| n.remote)).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(text(|n| n.department.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(text(|n| n.employment_type.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(text(|n| n.compensation.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(text(|n| n.description.as_deref()))
        .bind::<Array<Nullable<Timestamptz>>, _>(time(|n| n.posted_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(time(|n| n.updated_at))
        .load(conn)
        .await?;
    let mut per_company: std::collections::BTreeMap<Uuid, (i32, i32)> = Default::default();
    for row in &rows {
        let entry = per_company.entry(row.company_id).or_default();
        if row.status == "ready" { entry.0 += 1 } else { entry.1 += 1 }
    }
    let (mut ready, mut failed) = (0, 0);
    for (company_id, (r, f)) in per_company {
        diesel::sql_query(
            "UPDATE run_companies SET ready = ready + $3, failed = failed + $4 WHERE run_id = $1 AND company_id = $2",
        )
        .bind::<SqlUuid, _>(run_id)
        .bind::<SqlUuid, _>(company_id)
        .bind::<Int4, _>(r)
        .bind::<Int4, _>(f)
        .execute(conn)
        .await?;
        ready += i64::from(r);
        failed += i64::from(f);
    }
    Ok((ready, failed))
}
