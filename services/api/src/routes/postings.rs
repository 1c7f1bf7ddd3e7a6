//! The user's postings: `GET /api/postings` (filtered, sorted, a page at a time after `next_cursor`),
//! `GET /api/postings/{id}` (one posting whole: its fields, the board's item, the runs that changed it, its flags)
//! and `GET /api/postings/export` (the same selection as CSV or JSON lines, streamed page by page).

use axum::extract::State;
use base64::Engine as _;
use bw_db::browse::{self, Cursor, Filter, PageError, PostingDetail, PostingFlag, PostingSummary, RunChange};
use bw_db::pool;
use bw_vocab::{PostingSort, PostingStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query, page_limit};
use crate::state::AppState;

pub mod export;

/// Declares a query of the postings routes: the filters and the order (documented once, here), and `$extra`
/// fields of the route's own. (Not `#[serde(flatten)]`: flattened query fields lose their types.)
macro_rules! postings_query {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Only this company's postings.
            pub company_id: Option<Uuid>,
            /// `pending`, `ready`, `failed` or `expired`.
            pub status: Option<String>,
            /// Only remote postings (`true`) or only the others (`false`).
            pub remote: Option<bool>,
            /// Text the location contains (any case).
            pub location: Option<String>,
            /// Text the title contains (any case).
            pub title: Option<String>,
            /// Text the department contains (any case).
            pub department: Option<String>,
            /// First seen at or after this date (`2026-12-01`) or time (`2026-12-01T08:00:00Z`).
            pub since: Option<String>,
            /// Only postings a job flagged with this label.
            pub flag: Option<String>,
            /// Only postings this job flagged.
            pub job_id: Option<Uuid>,
            /// The order: `-first_seen` (newest first, the default), `first_seen`, `title`, `-title`.
            pub sort: Option<String>,
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl $name {
            /// The filter and the order, or a 400 naming what is wrong.
            pub fn selection(&self) -> Result<(Filter, PostingSort), ApiError> {
                Filters {
                    company_id: self.company_id,
                    status: self.status.as_deref(),
                    remote: self.remote,
                    location: self.location.as_deref(),
                    title: self.title.as_deref(),
                    department: self.department.as_deref(),
                    since: self.since.as_deref(),
                    flag: self.flag.as_deref(),
                    job_id: self.job_id,
                    sort: self.sort.as_deref(),
                }
                .parse()
            }
        }
    };
}
pub(crate) use postings_query;

/// The filters of a postings query, as given.
struct Filters<'a> {
    company_id: Option<Uuid>,
    status: Option<&'a str>,
    remote: Option<bool>,
    location: Option<&'a str>,
    title: Option<&'a str>,
    department: Option<&'a str>,
    since: Option<&'a str>,
    flag: Option<&'a str>,
    job_id: Option<Uuid>,
    sort: Option<&'a str>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// Longest text filter accepted.
const MAX_TEXT: usize = 200;

impl Filters<'_> {
    fn parse(&self) -> Result<(Filter, PostingSort), ApiError> {
        let status = match self.status {
            None => None,
            Some(word) => Some(word.parse::<PostingStatus>().map_err(|e| bad(format!("status: {e}")))?),
        };
        let sort = match self.sort {
            None => PostingSort::FirstSeenDesc,
            Some(word) => word.parse::<PostingSort>().map_err(|e| bad(format!("sort: {e}")))?,
        };
        let text = |name: &str, value: Option<&str>| -> Result<Option<String>, ApiError> {
            match value.map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) if t.chars().count() > MAX_TEXT || t.contains('\0') => {
                    Err(bad(format!("{name} must be at most {MAX_TEXT} characters of text")))
                }
                Some(t) => Ok(Some(t.to_owned())),
            }
        };
        let filter = Filter {
            company_id: self.company_id,
            status,
            remote: self.remote,
            location: text("location", self.location)?,
            title: text("title", self.title)?,
            department: text("department", self.department)?,
            since: self.since.map(since).transpose()?,
            flag: text("flag", self.flag)?,
            job_id: self.job_id,
        };
        Ok((filter, sort))
    }
}

/// A date (midnight UTC) or an RFC 3339 time.
fn since(text: &str) -> Result<DateTime<Utc>, ApiError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| bad(format!("since: {text:?} is not a date (2026-12-01) or a time (2026-12-01T08:00:00Z)")))
}

/// A cursor as the API hands it out: opaque, URL-safe.
pub fn encode_cursor(cursor: &Cursor) -> String {
    let json = serde_json::to_vec(cursor).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(text: &str) -> Result<Cursor, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| bad(format!("cursor {text:?} is not a cursor this API gave (pass back next_cursor)")))
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::Cursor(e) => bad(format!("cursor: {e}")),
            PageError::Database(e) => ApiError::Internal(anyhow::Error::new(e).context("failed to read the postings")),
        }
    }
}

postings_query! {
    /// Query of `GET /api/postings`.
    ListQuery {
        /// The `next_cursor` of the previous page.
        cursor: Option<String>,
        /// Page size: 1-1000, default 100.
        limit: Option<i64>,
    }
}

/// A page of postings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingList {
    /// With the flag that matched the `flag`/`job_id` filter, or each posting's newest flag (`label`, `reason`,
    /// `job_id`; null when none).
    pub postings: Vec<PostingSummary>,
    /// Pass it back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's postings: every one, or those the filters select; newest first unless `sort` says otherwise.
#[utoipa::path(get, path = "/api/postings", tag = "postings", params(ListQuery),
    responses((status = 200, body = PostingList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<PostingList>, ApiError> {
    let limit = page_limit(q.limit, 100, 1000)?;
    let (filter, sort) = q.selection()?;
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = pool::conn(&state.pool).await?;
    let postings = browse::page(&mut conn, &user, &filter, sort, cursor.as_ref(), limit).await?;
    let full = i64::try_from(postings.len()).unwrap_or(i64::MAX) == limit;
    let next_cursor = postings.last().filter(|_| full).map(|last| encode_cursor(&browse::cursor_after(sort, last)));
    Ok(axum::Json(PostingList { postings, next_cursor }))
}

/// One posting whole.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingView {
    #[serde(flatten)]
    pub posting: PostingDetail,
    /// The runs that changed it, oldest first: `inserted` by the run that first stored it, then `changed` (its
    /// content), `seen_again` (listed again after it had expired or failed) or `expired`.
    pub runs: Vec<RunChange>,
    /// The decisions screening jobs applied to it, newest first, with their reasons.
    pub flags: Vec<PostingFlag>,
}

/// A posting: its normalised fields, the board's item as received, when it was first and last seen, the runs that
/// changed it, and its flags.
#[utoipa::path(get, path = "/api/postings/{id}", tag = "postings", params(("id" = i64, Path, description = "Posting id")),
    responses((status = 200, body = PostingView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
) -> Result<axum::Json<PostingView>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let posting = browse::posting(&mut conn, &user, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("posting {id} not found")))?;
    let runs = browse::run_changes(&mut conn, id).await?;
    let flags = browse::flags(&mut conn, id).await?;
    Ok(axum::Json(PostingView { posting, runs, flags }))
}
