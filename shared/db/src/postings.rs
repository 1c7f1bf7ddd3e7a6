//! Posting writes: the batched UPSERT of a company's listing, expiry, and the results of ingestion.
//!
//! A company's UPSERT, its expiry and its checkpoint row commit in one transaction, so a redelivered run message
//! either finds the company done or redoes all of it; never half.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, Bool, Bytea, Float8, Int4, Int8, Json, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::counts::Tally;
use crate::storable;

/// Rows per UPSERT statement. Each statement binds one array per column (25 parameters), far under
/// [`crate::MAX_BIND_PARAMS`]; the chunking bounds statement size and memory, not parameters.
pub const UPSERT_CHUNK_ROWS: usize = 500;

/// One posting as listed by its board, ready to store.
#[derive(Clone, Debug)]
pub struct NewPosting {
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub title: String,
    pub url: Option<String>,
    pub raw: serde_json::Value,
    /// Its normalised fields (stored `ready`), or why it could not be normalised (stored `failed`); `None` when it
    /// waits for the ingest stage (stored `pending`: its board's listing lacks its description).
    pub normalized: Option<Result<bw_extract::NormalizedPosting, String>>,
}

/// What is stored of a company's posting, to tell whether its board lists it unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub content_hash: Vec<u8>,
    pub status: String,
    /// A held expiry left it live while its board no longer listed it.
    pub unlisted: bool,
}

impl Known {
    /// Whether a listing carrying it with `content_hash` leaves it as it is: same content, live, listed. (A failed
    /// posting goes back for another try; an expired one is seen again; an unlisted one is [`Self::relisted`].)
    pub fn unchanged(&self, content_hash: &[u8]) -> bool {
        self.same(content_hash) && !self.unlisted
    }

    /// Whether a listing carrying it with `content_hash` lists again, unchanged, a posting that a held expiry left
    /// live while it was not listed: only its `unlisted_since` is cleared (see [`relist`]).
    pub fn relisted(&self, content_hash: &[u8]) -> bool {
        self.same(content_hash) && self.unlisted
    }

    fn same(&self, content_hash: &[u8]) -> bool {
        self.content_hash == content_hash && matches!(self.status.as_str(), "ready" | "pending")
    }
}

/// The company's stored postings by external id: a few dozen bytes each, read once per listing so that an unchanged
/// posting costs no write.
pub async fn known(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
) -> anyhow::Result<std::collections::HashMap<String, Known>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        external_id: String,
        #[diesel(sql_type = Bytea)]
        content_hash: Vec<u8>,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Bool)]
        unlisted: bool,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT external_id, content_hash, status, unlisted_since IS NOT NULL AS unlisted \
         FROM postings WHERE company_id = $1",
    )
    .bind::<SqlUuid, _>(company_id)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.external_id, Known { content_hash: r.content_hash, status: r.status, unlisted: r.unlisted }))
        .collect())
}

/// Identifies one company's listing within a run.
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    pub run_id: Uuid,
    pub user_id: &'a str,
    pub company_id: Uuid,
    pub seen_at: DateTime<Utc>,
    /// Every posting listed is written, unchanged ones too (their normaliser was older than this one's): their
    /// fields are made again, and no change is recorded.
    pub rewrite: bool,
}

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(sql_type = Bool)]
    inserted: bool,
    #[diesel(sql_type = Text)]
    status: String,
}

/// The UPSERT, and in the same statement the changes it made to postings already stored (`posting_changes`): a
/// changed content, or an expired posting listed again with the same content. (A failed one with the same content
/// goes back for another try, which is not a change to record: a posting that keeps failing would write a row every
/// run.) A new posting's run is its `first_run_id`. `content_changed_at` moves only when the content changed. A
/// posting normalised from its listing is written `ready` (or `failed`) with its fields at once; one that waits for
/// its details, `pending`. Every part of the statement sees the rows as they were before it.
const UPSERT_SQL: &str = "\
WITH was_expired AS (
    SELECT external_id FROM postings WHERE company_id = $2 AND status = 'expired' AND external_id = ANY($5::text[])
), up AS (
    INSERT INTO postings AS p (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title,
                              url, raw, first_seen_at, last_seen_at, content_changed_at, ingest_error, location,
                              remote, department, employment_type, compensation, description, posted_at,
                              source_updated_at, pay_min, pay_max, pay_currency, pay_interval)
    SELECT $1, $2, t.external_id, $3, $3, t.status, t.content_hash, coalesce(t.normal_title, t.title), t.url, t.raw,
           $4, $4, $4, t.error, t.location, t.remote, t.department, t.employment_type, t.compensation, t.description,
           t.posted_at, t.source_updated_at, t.pay_min, t.pay_max, t.pay_currency, t.pay_interval
    FROM UNNEST($5::text[], $6::bytea[], $7::text[], $8::text[], $9::json[], $10::text[], $11::text[], $12::text[],
                $13::text[], $14::bool[], $15::text[], $16::text[], $17::text[], $18::text[], $19::timestamptz[],
                $20::timestamptz[], $21::float8[], $22::float8[], $23::text[], $24::text[])
        AS t(external_id, content_hash, title, url, raw, status, error, normal_title, location, remote, department,
             employment_type, compensation, description, posted_at, source_updated_at, pay_min, pay_max,
             pay_currency, pay_interval)
    ON CONFLICT (company_id, external_id) DO UPDATE SET
        run_id = excluded.run_id, status = excluded.status, content_hash = excluded.content_hash,
        title = excluded.title, url = excluded.url, raw = excluded.raw, last_seen_at = excluded.last_seen_at,
        content_changed_at = CASE WHEN p.content_hash <> excluded.content_hash
                                  THEN excluded.content_changed_at ELSE p.content_changed_at END,
        expired_at = NULL, unlisted_since = NULL, ingest_error = excluded.ingest_error,
        location = excluded.location, remote = excluded.remote, department = excluded.department,
        employment_type = excluded.employment_type, compensation = excluded.compensation,
        description = excluded.description, posted_at = excluded.posted_at,
        source_updated_at = excluded.source_updated_at, pay_min = excluded.pay_min, pay_max = excluded.pay_max,
        pay_currency = excluded.pay_currency, pay_interval = excluded.pay_interval
    WHERE $25 OR p.content_hash <> excluded.content_hash OR p.status IN ('expired', 'failed')
       OR p.unlisted_since IS NOT NULL
    RETURNING p.id, p.external_id, p.status, (p.xmax = 0) AS inserted, (p.content_changed_at = $4) AS changed
), logged AS (
    INSERT INTO posting_changes (posting_id, run_id, change, at)
    SELECT id, $3, CASE WHEN changed THEN 'changed' ELSE 'seen_again' END, $4 FROM up
    WHERE NOT inserted AND (changed OR external_id IN (SELECT external_id FROM was_expired))
    ON CONFLICT DO NOTHING
)
SELECT inserted, status FROM up";

/// What [`upsert`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub inserted: i64,
    pub updated: i64,
    /// Of those, written `ready` and `failed` (the rest are `pending`).
    pub ready: i64,
    pub failed: i64,
    pub statements: usize,
}

/// The normalised fields of a batch of postings as the arrays a statement binds (`UNNEST`), text made storable
/// (boards do send NUL characters); a posting without fields (pending, failed) gives NULLs.
struct NormalColumns {
    title: Vec<Option<String>>,
    location: Vec<Option<String>>,
    remote: Vec<Option<bool>>,
    department: Vec<Option<String>>,
    employment_type: Vec<Option<String>>,
    compensation: Vec<Option<String>>,
    description: Vec<Option<String>>,
    posted_at: Vec<Option<DateTime<Utc>>>,
    updated_at: Vec<Option<DateTime<Utc>>>,
    pay_min: Vec<Option<f64>>,
    pay_max: Vec<Option<f64>>,
    pay_currency: Vec<Option<String>>,
    pay_interval: Vec<Option<&'static str>>,
}

impl NormalColumns {
    fn of<'a>(postings: impl Iterator<Item = Option<&'a bw_extract::NormalizedPosting>> + Clone) -> Self {
        let text = |f: fn(&bw_extract::NormalizedPosting) -> Option<&str>| {
            postings.clone().map(|n| n.and_then(f).map(|t| storable(t.to_owned()))).collect()
        };
        let time = |f: fn(&bw_extract::NormalizedPosting) -> Option<DateTime<Utc>>| {
            postings.clone().map(|n| n.and_then(f)).collect()
        };
        Self {
            title: text(|n| Some(n.title.as_str())),
            location: text(|n| n.location.as_deref()),
            remote: postings.clone().map(|n| n.and_then(|n| n.remote)).collect(),
            department: text(|n| n.department.as_deref()),
            employment_type: text(|n| n.employment_type.as_deref()),
            compensation: text(|n| n.compensation.as_deref()),
            description: text(|n| n.description.as_deref()),
            posted_at: time(|n| n.posted_at),
            updated_at: time(|n| n.updated_at),
            pay_min: postings.clone().map(|n| n.and_then(|n| n.pay.as_ref()?.min)).collect(),
            pay_max: postings.clone().map(|n| n.and_then(|n| n.pay.as_ref()?.max)).collect(),
            pay_currency: text(|n| n.pay.as_ref()?.currency.as_deref()),
            pay_interval: postings.clone().map(|n| n.and_then(|n| Some(n.pay.as_ref()?.interval?.as_str()))).collect(),
        }
    }

    /// Binds the columns, in this order, as the statement's next parameters (the UPSERT's `$12..$24`, the ingest
    /// stage's `$3..$15`).
    fn bind<'a>(self, query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
        query
            .bind::<Array<Nullable<Text>>, _>(self.title)
            .bind::<Array<Nullable<Text>>, _>(self.location)
            .bind::<Array<Nullable<Bool>>, _>(self.remote)
            .bind::<Array<Nullable<Text>>, _>(self.department)
            .bind::<Array<Nullable<Text>>, _>(self.employment_type)
            .bind::<Array<Nullable<Text>>, _>(self.compensation)
            .bind::<Array<Nullable<Text>>, _>(self.description)
            .bind::<Array<Nullable<Timestamptz>>, _>(self.posted_at)
            .bind::<Array<Nullable<Timestamptz>>, _>(self.updated_at)
            .bind::<Array<Nullable<Float8>>, _>(self.pay_min)
            .bind::<Array<Nullable<Float8>>, _>(self.pay_max)
            .bind::<Array<Nullable<Text>>, _>(self.pay_currency)
            .bind::<Array<Nullable<Text>>, _>(self.pay_interval)
    }
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.ready += other.ready;
        self.failed += other.failed;
        self.statements += other.statements;
    }
}

/// UPSERTs postings that are new, changed, or back (from expired, failed or unlisted), in statements of at most
/// [`UPSERT_CHUNK_ROWS`]; a row listed unchanged is left as it is (the caller leaves those out, see [`Known`]).
/// `postings` must not repeat an external id.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    listing: Listing<'_>,
    postings: &[NewPosting],
) -> anyhow::Result<Written> {
    let mut written = Written::default();
    for chunk in postings.chunks(UPSERT_CHUNK_ROWS) {
        let n = NormalColumns::of(chunk.iter().map(|p| p.normalized.as_ref().and_then(|n| n.as_ref().ok())));
        let status = |p: &NewPosting| match &p.normalized {
            None => "pending",
            Some(Ok(_)) => "ready",
            Some(Err(_)) => "failed",
        };
        let error = |p: &NewPosting| p.normalized.as_ref().and_then(|n| n.as_ref().err()).map(|e| storable(e.clone()));
        let query = diesel::sql_query(UPSERT_SQL)
            .into_boxed()
            .bind::<Text, _>(listing.user_id)
            .bind::<SqlUuid, _>(listing.company_id)
            .bind::<SqlUuid, _>(listing.run_id)
            .bind::<Timestamptz, _>(listing.seen_at)
            .bind::<Array<Text>, _>(chunk.iter().map(|p| p.external_id.as_str()).collect::<Vec<_>>())
            .bind::<Array<Bytea>, _>(chunk.iter().map(|p| p.content_hash.as_slice()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(chunk.iter().map(|p| p.title.as_str()).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(chunk.iter().map(|p| p.url.as_deref()).collect::<Vec<_>>())
            .bind::<Array<Json>, _>(chunk.iter().map(|p| &p.raw).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(chunk.iter().map(status).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(chunk.iter().map(error).collect::<Vec<_>>());
        let rows: Vec<Upserted> = n.bind(query).bind::<Bool, _>(listing.rewrite).load(conn).await?;
        written.statements += 1;
        for row in rows {
            if row.inserted {
                written.inserted += 1
            } else {
                written.updated += 1
            }
            match row.status.as_str() {
                "ready" => written.ready += 1,
                "failed" => written.failed += 1,
                _ => {}
            }
        }
    }
    Ok(written)
}

/// Marks the company's live postings that its listing leaves out while their expiry is held (`unlisted_since`),
/// keeping as their last seen the company's last listing (which still carried them); answers how many. Runs before
/// the company's new listing is recorded.
pub async fn mark_unlisted(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    listed_ids: &[&str],
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE postings p SET unlisted_since = $3, last_seen_at = greatest(p.last_seen_at, c.listed_at) \
         FROM companies c WHERE c.id = p.company_id AND p.company_id = $1 AND p.status <> 'expired' \
         AND p.unlisted_since IS NULL AND NOT (p.external_id = ANY($2))",
    )
    .bind::<SqlUuid, _>(company_id)
    .bind::<Array<Text>, _>(listed_ids)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?)
}

/// Stores the content hashes `hashes` for the company's postings `ids` as they are: their content is what is stored,
/// only asked for in a fuller form by a newer normaliser (see `bw_extract::earlier_content_hash`), so that the
/// UPSERT after it records no change.
pub async fn rehash(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    ids: &[&str],
    hashes: &[&[u8]],
) -> anyhow::Result<()> {
    diesel::sql_query(
        "UPDATE postings p SET content_hash = t.hash FROM UNNEST($2::text[], $3::bytea[]) AS t(external_id, hash) \
         WHERE p.company_id = $1 AND p.external_id = t.external_id",
    )
    .bind::<SqlUuid, _>(company_id)
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Bytea>, _>(hashes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Clears `unlisted_since` of the company's postings `ids`, listed again unchanged, seen `at`.
pub async fn relist(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    ids: &[&str],
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    diesel::sql_query(
        "UPDATE postings SET unlisted_since = NULL, last_seen_at = $3 \
         WHERE company_id = $1 AND external_id = ANY($2) AND unlisted_since IS NOT NULL",
    )
    .bind::<SqlUuid, _>(company_id)
    .bind::<Array<Text>, _>(ids)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends the company's failed postings back to `pending` for another try, when their board answered that its listing
/// has not changed (a changed listing does this in [`upsert`]); answers how many.
pub async fn retry_failed(conn: &mut AsyncPgConnection, company_id: Uuid) -> anyhow::Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE postings SET status = 'pending', ingest_error = NULL WHERE company_id = $1 AND status = 'failed'",
    )
    .bind::<SqlUuid, _>(company_id)
    .execute(conn)
    .await?)
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

/// Expires the postings `which` selects (a condition on postings `p` of companies `c`, after `$1` the time, `$2` the
/// run, `$3` and `$4` its own parameters), recording the expiry in `posting_changes`; answers how many expired. A
/// posting expiring keeps as its last seen its company's last listing, which still carried it (see
/// [`crate::browse::LAST_SEEN`]); runs before the company's new listing is recorded.
fn expire_sql(which: &str) -> String {
    format!(
        "WITH gone AS (UPDATE postings p SET status = 'expired', expired_at = $1, \
                         last_seen_at = CASE WHEN p.unlisted_since IS NULL \
                                             THEN greatest(p.last_seen_at, c.listed_at) ELSE p.last_seen_at END \
                       FROM companies c WHERE c.id = p.company_id AND p.status <> 'expired' AND {which} \
                       RETURNING p.id), \
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
    let row: Expired = diesel::sql_query(expire_sql("p.company_id = $3 AND NOT (p.external_id = ANY($4))"))
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
    let which = "p.user_id = $3 AND c.user_id = $3 AND c.deleted_at IS NOT NULL";
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
    /// The listing was stored; `expiry_held_reason` says why its expiry was held, if it was; `not_modified` when
    /// the board answered `304 Not Modified`.
    Stored { tally: &'a Tally, expiry_held_reason: Option<&'a str>, not_modified: bool },
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
    let (error, tally, held, not_modified) = match checkpoint {
        Checkpoint::Stored { tally, expiry_held_reason, not_modified } => {
            (None, tally, expiry_held_reason, not_modified)
        }
        Checkpoint::Failed { error } => (Some(error), &none, None, false),
    };
    let n = diesel::sql_query(
        "INSERT INTO run_companies (run_id, company_id, extract_status, error, found, inserted, updated, unchanged, \
         expired, expiry_held, expiry_held_reason, ready, failed, not_modified) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
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
    .bind::<Int4, _>(i32::try_from(tally.ready)?)
    .bind::<Int4, _>(i32::try_from(tally.failed)?)
    .bind::<Bool, _>(not_modified)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// A run's boards that listed nothing new: stored, nothing inserted, updated, expired or held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, QueryableByName)]
pub struct UnchangedBoards {
    #[diesel(sql_type = Int8)]
    pub boards: i64,
    /// Of those, the ones whose board answered `304 Not Modified`.
    #[diesel(sql_type = Int8)]
    pub not_modified: i64,
}

/// Counts the run's boards that listed nothing new.
pub async fn unchanged_boards(conn: &mut AsyncPgConnection, run_id: Uuid) -> anyhow::Result<UnchangedBoards> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS boards, count(*) FILTER (WHERE not_modified) AS not_modified FROM run_companies \
         WHERE run_id = $1 AND extract_status = 'ok' AND inserted = 0 AND updated = 0 AND expired = 0 \
         AND expiry_held = 0",
    )
    .bind::<SqlUuid, _>(run_id)
    .get_result(conn)
    .await?)
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
    pub board_region: bw_vocab::BoardRegion,
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
        "SELECT p.id, p.company_id, c.board_kind, c.board_token, c.board_region, p.external_id, p.raw \
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
    description = t.description, posted_at = t.posted_at, source_updated_at = t.source_updated_at,
    pay_min = t.pay_min, pay_max = t.pay_max, pay_currency = t.pay_currency, pay_interval = t.pay_interval
FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::timestamptz[], $11::timestamptz[], $12::float8[], $13::float8[], $14::text[],
            $15::text[])
     AS t(id, error, title, location, remote, department, employment_type, compensation, description, posted_at,
          source_updated_at, pay_min, pay_max, pay_currency, pay_interval)
WHERE p.id = t.id AND p.status = 'pending'
RETURNING p.company_id, p.status";

/// Stores ingestion results (only for postings still `pending`, their text made storable) and adds them to the run's per-company counts, in
/// one transaction the caller holds. Returns (ready, failed) as written.
pub async fn apply_ingested(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    results: &[Ingested],
) -> anyhow::Result<(i64, i64)> {
    let n = NormalColumns::of(results.iter().map(|r| r.outcome.as_ref().ok()));
    let query = diesel::sql_query(INGEST_SQL)
        .into_boxed()
        .bind::<Array<Int8>, _>(results.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            results.iter().map(|r| r.outcome.as_ref().err().map(|e| storable(e.clone()))).collect::<Vec<_>>(),
        );
    let rows: Vec<IngestedRow> = n.bind(query).load(conn).await?;
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
