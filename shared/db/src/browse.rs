//! Reading a user's postings: filtered, in an order, a page at a time after a cursor (the listing, and the export
//! page by page); and one posting whole, with the runs that changed it and its flags.
//!
//! Paging is by keyset: a page ends with the last posting's sort value and id, and the next page starts strictly
//! after them, so a page is an index range however deep the listing goes, and rows written meanwhile never make a
//! page repeat or skip one already listed.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Bool, Float8, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::models::BoardKind;
use bw_vocab::PayInterval;
pub use bw_vocab::{PostingChange, PostingSort, PostingStatus};

/// When a posting `p` of company `c` was last seen. A run writes only the postings that are new or changed, so an
/// unchanged one's is its company's last successful listing (every live posting was in it), but for a posting that
/// a held expiry left live while its board no longer listed it (`unlisted_since`): that one keeps its own.
pub const LAST_SEEN: &str = "CASE WHEN p.status <> 'expired' AND p.unlisted_since IS NULL \
                             THEN greatest(p.last_seen_at, c.listed_at) ELSE p.last_seen_at END";

/// Which of a user's postings to list; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub company_id: Option<Uuid>,
    pub status: Option<PostingStatus>,
    pub remote: Option<bool>,
    /// Case-insensitive parts of the location, title and department.
    pub location: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    /// First seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// Flagged (`flag = true`) with this label, by any job or by `job_id`.
    pub flag: Option<String>,
    /// Flagged by this job.
    pub job_id: Option<Uuid>,
}

/// Where a page ends: the last posting's sort value and id. The listing hands it out as an opaque token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: PostingSort,
    #[serde(rename = "k")]
    pub key: String,
    #[serde(rename = "i")]
    pub id: i64,
}

/// A posting in a listing, with the flag that matched (or its newest flag, without a flag filter).
#[derive(Clone, Debug, PartialEq, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostingSummary {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub company_id: Uuid,
    #[diesel(sql_type = Text)]
    pub company: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub url: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: PostingStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub remote: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub department: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub employment_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub compensation: Option<String>,
    #[diesel(embed)]
    #[serde(flatten)]
    pub pay: Pay,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub posted_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expired_at: Option<DateTime<Utc>>,
    /// The job whose flag this is (with `label` and `reason`); null when no flag matched.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub job_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub label: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
}

/// A posting's pay as numbers, where its board structures them (its `compensation` holds the text): the columns
/// `pay_min`, `pay_max`, `pay_currency`, `pay_interval`, answered as fields of the posting.
#[derive(Clone, Debug, Default, PartialEq, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pay {
    #[diesel(sql_type = Nullable<Float8>)]
    pub pay_min: Option<f64>,
    #[diesel(sql_type = Nullable<Float8>)]
    pub pay_max: Option<f64>,
    /// ISO 4217, e.g. `USD`.
    #[diesel(sql_type = Nullable<Text>)]
    pub pay_currency: Option<String>,
    /// Null where the board states no period (Greenhouse).
    #[diesel(sql_type = Nullable<Text>)]
    pub pay_interval: Option<PayInterval>,
}

/// A bind of the listing's query, in order.
enum Bind {
    Text(String),
    Uuid(Uuid),
    Bool(bool),
    Time(DateTime<Utc>),
    Int(i64),
}

/// Leaves out a decision that a later job of the same standing screen replaced (the posting changed and was judged
/// again); a decision of a job no screen started stands.
/// Later by the job (its run ended later), not by when the decision landed: an earlier run's batch can finish last.
const SUPERSEDED: &str = " AND NOT EXISTS (SELECT 1 FROM entity_flags later JOIN llm_jobs lj ON lj.id = later.job_id \
                          WHERE later.entity_kind = 'posting' AND later.entity_id = p.id \
                            AND lj.screen_id = j.screen_id AND (lj.created_at, lj.id) > (j.created_at, j.id))";

/// The listing's SQL as it is built, with its binds.
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    /// Appends `clause`, where `$?` stands for `bind`'s placeholder.
    fn push(&mut self, clause: &str, bind: Bind) {
        self.binds.push(bind);
        self.text.push_str(&clause.replace("$?", &format!("${}", self.binds.len())));
    }

    fn query(self) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed();
        for bind in self.binds {
            query = match bind {
                Bind::Text(v) => query.bind::<Text, _>(v),
                Bind::Uuid(v) => query.bind::<SqlUuid, _>(v),
                Bind::Bool(v) => query.bind::<Bool, _>(v),
                Bind::Time(v) => query.bind::<Timestamptz, _>(v),
                Bind::Int(v) => query.bind::<Int8, _>(v),
            };
        }
        query
    }
}

/// `text` as a `LIKE` pattern matching it anywhere, its `%`, `_` and `\` taken literally.
fn contains(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The sort's column, and whether it is descending.
fn order(sort: PostingSort) -> (&'static str, bool) {
    match sort {
        PostingSort::FirstSeenDesc => ("p.first_seen_at", true),
        PostingSort::FirstSeen => ("p.first_seen_at", false),
        PostingSort::Title => ("p.title", false),
        PostingSort::TitleDesc => ("p.title", true),
    }
}

/// Why a cursor cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor was given for sort {given}, not {asked}: pass the same sort, or no cursor")]
    OtherSort { given: PostingSort, asked: PostingSort },
    #[error("the cursor's position is not a time: {0}")]
    NotATime(String),
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The caller's cursor (a 400 for the API).
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error("failed to read the postings")]
    Database(#[from] diesel::result::Error),
}

/// The cursor of the page ending with `last`, listed in `sort`.
pub fn cursor_after(sort: PostingSort, last: &PostingSummary) -> Cursor {
    let key = match order(sort).0 {
        "p.title" => last.title.clone(),
        _ => last.first_seen_at.to_rfc3339(),
    };
    Cursor { sort, key, id: last.id }
}

/// Up to `limit` of the user's postings that `filter` selects, in `sort` order, after `cursor` (the first page
/// without one). A cursor given for another sort is an error ([`CursorError`]).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    filter: &Filter,
    sort: PostingSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<PostingSummary>, PageError> {
    Ok(listing_sql(user_id, filter, sort, cursor, limit, "")?.query().load(conn).await?)
}

/// A posting as the export writes it: its summary and its description.
#[derive(Clone, Debug, PartialEq, QueryableByName, Serialize)]
pub struct Exported {
    #[diesel(embed)]
    #[serde(flatten)]
    pub posting: PostingSummary,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
}

/// [`page`], with each posting's description: one page of an export.
pub async fn export_page(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    filter: &Filter,
    sort: PostingSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Exported>, PageError> {
    Ok(listing_sql(user_id, filter, sort, cursor, limit, ", p.description")?.query().load(conn).await?)
}

fn listing_sql(
    user_id: &str,
    filter: &Filter,
    sort: PostingSort,
    cursor: Option<&Cursor>,
    limit: i64,
    extra_columns: &str,
) -> Result<Sql, CursorError> {
    let mut sql = Sql {
        text: format!(
            "SELECT p.id, p.company_id, c.name AS company, p.title, p.url, p.status, p.location, p.remote, \
             p.department, p.employment_type, p.compensation, p.pay_min, p.pay_max, p.pay_currency, p.pay_interval, \
             p.posted_at, p.first_seen_at, {LAST_SEEN} AS last_seen_at, \
             p.expired_at, f.job_id, f.label, f.reason{extra_columns} \
             FROM postings p JOIN companies c ON c.id = p.company_id \
             LEFT JOIN LATERAL (SELECT ef.job_id, ef.label, ef.reason FROM entity_flags ef \
                                JOIN llm_jobs j ON j.id = ef.job_id \
                                WHERE ef.entity_kind = 'posting' AND ef.entity_id = p.id AND ef.flag"
        ),
        binds: Vec::new(),
    };
    if let Some(label) = &filter.flag {
        sql.push(" AND ef.label = $?", Bind::Text(label.clone()));
    }
    match filter.job_id {
        Some(job) => sql.push(" AND ef.job_id = $?", Bind::Uuid(job)),
        // A decision a later job of the same standing screen made again (on changed content) is history.
        None => sql.text.push_str(SUPERSEDED),
    }
    sql.text.push_str(" ORDER BY j.created_at DESC, j.id DESC LIMIT 1) f ON true WHERE");
    sql.push(" p.user_id = $?", Bind::Text(user_id.to_owned()));
    // The flag filters also as semi-joins, so the planner can start from the flags (an index on the label or the
    // job) rather than read every posting of the user for a rare label.
    if let Some(label) = &filter.flag {
        sql.push(
            " AND p.id IN (SELECT fl.entity_id FROM entity_flags fl WHERE fl.flag AND fl.label = $?",
            Bind::Text(label.clone()),
        );
        sql.push(" AND fl.user_id = $?)", Bind::Text(user_id.to_owned()));
    }
    if let Some(job) = filter.job_id {
        sql.push(
            " AND p.id IN (SELECT fj.entity_id FROM entity_flags fj WHERE fj.flag AND fj.job_id = $?)",
            Bind::Uuid(job),
        );
    }
    if filter.flag.is_some() || filter.job_id.is_some() {
        sql.text.push_str(" AND f.job_id IS NOT NULL");
    }
    if let Some(company) = filter.company_id {
        sql.push(" AND p.company_id = $?", Bind::Uuid(company));
    }
    if let Some(status) = filter.status {
        sql.push(" AND p.status = $?", Bind::Text(status.as_str().to_owned()));
    }
    if let Some(remote) = filter.remote {
        sql.push(" AND p.remote = $?", Bind::Bool(remote));
    }
    for (column, text) in
        [("p.location", &filter.location), ("p.title", &filter.title), ("p.department", &filter.department)]
    {
        if let Some(text) = text {
            sql.push(&format!(" AND {column} ILIKE $?"), Bind::Text(contains(text)));
        }
    }
    if let Some(since) = filter.since {
        sql.push(" AND p.first_seen_at >= $?", Bind::Time(since));
    }
    let (column, descending) = order(sort);
    let direction = if descending { "DESC" } else { "ASC" };
    if let Some(cursor) = cursor {
        if cursor.sort != sort {
            return Err(CursorError::OtherSort { given: cursor.sort, asked: sort });
        }
        let key = if column == "p.title" {
            Bind::Text(cursor.key.clone())
        } else {
            let at =
                DateTime::parse_from_rfc3339(&cursor.key).map_err(|_| CursorError::NotATime(cursor.key.clone()))?;
            Bind::Time(at.with_timezone(&Utc))
        };
        let compare = if descending { "<" } else { ">" };
        sql.push(&format!(" AND ({column}, p.id) {compare} ($?"), key);
        sql.push(", $?)", Bind::Int(cursor.id));
    }
    sql.text.push_str(&format!(" ORDER BY {column} {direction}, p.id {direction}"));
    sql.push(" LIMIT $?", Bind::Int(limit));
    Ok(sql)
}

/// One posting whole.
#[derive(Clone, Debug, PartialEq, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostingDetail {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub company_id: Uuid,
    #[diesel(sql_type = Text)]
    pub company: String,
    #[diesel(sql_type = Text)]
    pub board_kind: BoardKind,
    /// The board's own id of the posting.
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub url: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: PostingStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub remote: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub department: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub employment_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub compensation: Option<String>,
    #[diesel(embed)]
    #[serde(flatten)]
    pub pay: Pay,
    /// Plain text.
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub posted_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub source_updated_at: Option<DateTime<Utc>>,
    /// Why it could not be ingested (`failed`).
    #[diesel(sql_type = Nullable<Text>)]
    pub ingest_error: Option<String>,
    /// The board's item exactly as received.
    #[diesel(sql_type = diesel::sql_types::Json)]
    pub raw: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub content_changed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expired_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = SqlUuid)]
    pub first_run_id: Uuid,
}

/// A run that changed a posting: the one that stored it (`inserted`), then each change.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunChange {
    #[diesel(sql_type = SqlUuid)]
    pub run_id: Uuid,
    /// `inserted`, or a [`PostingChange`]: `changed`, `seen_again`, `expired`.
    #[diesel(sql_type = Text)]
    pub change: String,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
}

/// A decision some job applied to a posting.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostingFlag {
    #[diesel(sql_type = SqlUuid)]
    pub job_id: Uuid,
    #[diesel(sql_type = Text)]
    pub job_name: String,
    /// The standing screen whose job it was, if one was.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub screen_id: Option<Uuid>,
    /// False once a later job of the same screen judged the posting again (its content changed): history.
    #[diesel(sql_type = Bool)]
    pub current: bool,
    #[diesel(sql_type = Bool)]
    pub flag: bool,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
}

/// The user's posting `id`, or `None` (another user's answers `None` too).
pub async fn posting(conn: &mut AsyncPgConnection, user_id: &str, id: i64) -> anyhow::Result<Option<PostingDetail>> {
    let rows: Vec<PostingDetail> = diesel::sql_query(format!(
        "SELECT p.id, p.company_id, c.name AS company, c.board_kind, p.external_id, p.title, p.url, p.status, \
         p.location, p.remote, p.department, p.employment_type, p.compensation, p.pay_min, p.pay_max, p.pay_currency, \
         p.pay_interval, p.description, p.posted_at, \
         p.source_updated_at, p.ingest_error, p.raw, p.first_seen_at, {LAST_SEEN} AS last_seen_at, p.content_changed_at, \
         p.expired_at, p.first_run_id \
         FROM postings p JOIN companies c ON c.id = p.company_id WHERE p.id = $1 AND p.user_id = $2"
    ))
    .bind::<Int8, _>(id)
    .bind::<Text, _>(user_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// The runs that changed posting `id`, oldest first: the run that stored it, then each change.
pub async fn run_changes(conn: &mut AsyncPgConnection, id: i64) -> anyhow::Result<Vec<RunChange>> {
    Ok(diesel::sql_query(
        "SELECT first_run_id AS run_id, 'inserted' AS change, first_seen_at AS at FROM postings WHERE id = $1 \
         UNION ALL SELECT run_id, change, at FROM posting_changes WHERE posting_id = $1 \
         ORDER BY at, change",
    )
    .bind::<Int8, _>(id)
    .load(conn)
    .await?)
}

/// The decisions jobs applied to posting `id`, newest first.
pub async fn flags(conn: &mut AsyncPgConnection, id: i64) -> anyhow::Result<Vec<PostingFlag>> {
    Ok(diesel::sql_query(
        "SELECT f.job_id, j.name AS job_name, j.screen_id, \
                NOT EXISTS (SELECT 1 FROM entity_flags later JOIN llm_jobs lj ON lj.id = later.job_id \
                            WHERE later.entity_kind = 'posting' AND later.entity_id = f.entity_id \
                              AND lj.screen_id = j.screen_id AND (lj.created_at, lj.id) > (j.created_at, j.id)) AS current, \
                f.flag, f.label, f.reason, f.created_at AS at \
         FROM entity_flags f JOIN llm_jobs j ON j.id = f.job_id \
         WHERE f.entity_kind = 'posting' AND f.entity_id = $1 ORDER BY j.created_at DESC, j.id DESC",
    )
    .bind::<Int8, _>(id)
    .load(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matches_the_text_literally_anywhere() {
        assert_eq!(contains("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn a_cursor_of_another_sort_is_refused_and_binds_follow_their_placeholders() {
        let cursor = Cursor { sort: PostingSort::Title, key: "Engineer".into(), id: 7 };
        let refused = listing_sql("alice", &Filter::default(), PostingSort::FirstSeenDesc, Some(&cursor), 10, "");
        assert_eq!(
            refused.err(),
            Some(CursorError::OtherSort { given: PostingSort::Title, asked: PostingSort::FirstSeenDesc })
        );
        let filter = Filter { flag: Some("match".into()), title: Some("rust".into()), ..Filter::default() };
        let sql =
            listing_sql("alice", &filter, PostingSort::Title, Some(&cursor), 10, "").unwrap_or_else(|e| panic!("{e}"));
        assert!(sql.text.contains("ef.label = $1") && sql.text.contains("p.user_id = $2"), "{}", sql.text);
        assert!(sql.text.contains("fl.label = $3 AND fl.user_id = $4)"), "{}", sql.text);
        assert!(sql.text.contains("p.title ILIKE $5"), "{}", sql.text);
        assert!(sql.text.contains("(p.title, p.id) > ($6, $7)"), "{}", sql.text);
        assert!(sql.text.ends_with("ORDER BY p.title ASC, p.id ASC LIMIT $8"), "{}", sql.text);
        assert_eq!(sql.binds.len(), 8);
    }
}
