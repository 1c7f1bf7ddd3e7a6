//! `GET /api/postings/export`: the postings the filters select, as CSV or JSON lines, streamed a page at a time
//! (each page one query; no connection held between pages), so memory stays the same however many there are.

use std::io::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bw_db::PgPool;
use bw_db::browse::{self, Cursor, Exported, Filter, PostingSort};
use bw_db::pool;
use serde::Deserialize;
use uuid::Uuid;

use super::{Filters, postings_query};
use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

/// Postings a page of the export reads.
const PAGE: i64 = 1_000;

/// The export's formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A header line, then a line a posting (RFC 4180).
    Csv,
    /// A JSON object a line.
    Jsonl,
}

postings_query! {
    /// Query of `GET /api/postings/export`.
    ExportQuery {
        /// `csv` or `jsonl`.
        format: Option<Format>,
    }
}

/// The columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 22] = [
    "id",
    "company",
    "title",
    "url",
    "status",
    "location",
    "remote",
    "department",
    "employment_type",
    "compensation",
    "pay_min",
    "pay_max",
    "pay_currency",
    "pay_interval",
    "posted_at",
    "first_seen_at",
    "last_seen_at",
    "expired_at",
    "label",
    "reason",
    "job_id",
    "description",
];

/// Every posting the filters select, in the order asked, as CSV (`format=csv`) or JSON lines (`format=jsonl`), as
/// a download. The first page is read before the answer starts, so a bad query or an unreachable database answers
/// an error; a failure later ends the download short (and is logged).
#[utoipa::path(get, path = "/api/postings/export", tag = "postings", params(ExportQuery),
    responses((status = 200, description = "The postings, streamed",
                content((String = "text/csv"), (String = "application/x-ndjson"))),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.ok_or_else(|| ApiError::BadRequest("format is required: csv or jsonl".to_owned()))?;
    let (filter, sort) = q.selection()?;
    let first = {
        let mut conn = pool::conn(&state.pool).await?;
        browse::export_page(&mut conn, &user, &filter, sort, None, PAGE).await?
    };
    let pages = Pages { pool: state.pool.clone(), user, filter, sort, format, first: Some(first), next: None };
    let body = Body::from_stream(futures::stream::unfold(pages, Pages::next_chunk));
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let filename = format!("postings-{}.{extension}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))
        .body(body)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// The export's state between pages.
struct Pages {
    pool: PgPool,
    user: String,
    filter: Filter,
    sort: PostingSort,
    format: Format,
    /// The first page, read before answering.
    first: Option<Vec<Exported>>,
    /// Where the next page starts; `None` once the last page was read.
    next: Option<Cursor>,
}

impl Pages {
    /// The next chunk of the body: a page encoded (the CSV header with the first), or `None` at the end.
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        let (rows, header) = match self.first.take() {
            Some(rows) => (rows, self.format == Format::Csv),
            None => {
                let cursor = self.next.take()?;
                match self.read(&cursor).await {
                    Ok(rows) => (rows, false),
                    Err(error) => {
                        tracing::error!(error = %bw_telemetry::chain(error.as_ref()), "export stopped short");
                        return Some((Err(std::io::Error::other("the export stopped short")), self));
                    }
                }
            }
        };
        if rows.is_empty() && !header {
            return None;
        }
        if i64::try_from(rows.len()).unwrap_or(0) == PAGE {
            self.next = rows.last().map(|last| browse::cursor_after(self.sort, &last.posting));
        }
        Some((Ok(Bytes::from(encode(self.format, &rows, header))), self))
    }

    async fn read(&self, cursor: &Cursor) -> anyhow::Result<Vec<Exported>> {
        let mut conn = pool::conn(&self.pool).await?;
        Ok(browse::export_page(&mut conn, &self.user, &self.filter, self.sort, Some(cursor), PAGE).await?)
    }
}

fn encode(format: Format, rows: &[Exported], header: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 1024);
    match format {
        Format::Jsonl => {
            for row in rows {
                let _ = serde_json::to_writer(&mut out, row);
                out.push(b'\n');
            }
        }
        Format::Csv => {
            if header {
                let _ = writeln!(out, "{}\r", CSV_COLUMNS.join(","));
            }
            for row in rows {
                let fields = csv_fields(row);
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                let _ = write!(out, "{}\r\n", line.join(","));
            }
        }
    }
    out
}

fn csv_fields(row: &Exported) -> [String; 22] {
    let p = &row.posting;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |v: Option<chrono::DateTime<chrono::Utc>>| v.map(|t| t.to_rfc3339()).unwrap_or_default();
    let amount = |v: Option<f64>| v.map(|a| a.to_string()).unwrap_or_default();
    [
        p.id.to_string(),
        p.company.clone(),
        p.title.clone(),
        text(&p.url),
        p.status.to_string(),
        text(&p.location),
        p.remote.map(|r| r.to_string()).unwrap_or_default(),
        text(&p.department),
        text(&p.employment_type),
        text(&p.compensation),
        amount(p.pay.pay_min),
        amount(p.pay.pay_max),
        text(&p.pay.pay_currency),
        p.pay.pay_interval.map(|i| i.to_string()).unwrap_or_default(),
        time(p.posted_at),
        p.first_seen_at.to_rfc3339(),
        p.last_seen_at.to_rfc3339(),
        time(p.expired_at),
        text(&p.label),
        text(&p.reason),
        p.job_id.map(|j: Uuid| j.to_string()).unwrap_or_default(),
        text(&row.description),
    ]
}

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled). A field a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) gets a leading `'`: the postings
/// come from other people's boards. The JSON lines export keeps every value as stored.
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be_and_formulas_are_defused() {
        assert_eq!(csv_field("Engineer"), "Engineer");
        assert_eq!(csv_field("Berlin, DE"), "\"Berlin, DE\"");
        assert_eq!(csv_field("a \"quoted\"\nline"), "\"a \"\"quoted\"\"\nline\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-12"), "'-12");
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
    }
}
