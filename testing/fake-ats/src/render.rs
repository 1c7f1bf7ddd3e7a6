//! Answer bodies in each service's wire format.

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::Kind;
use crate::state::{Board, Posting};
use crate::text;

/// What a request asks a board for.
#[derive(Clone, Debug)]
pub(crate) enum View {
    GreenhouseList {
        content: bool,
        pay: bool,
    },
    GreenhouseJob {
        id: String,
        pay: bool,
    },
    Lever {
        skip: usize,
        limit: Option<usize>,
    },
    Ashby {
        compensation: bool,
    },
    Careers,
    WorkdayList(crate::ats::workday::Search),
    /// `externalPath`
    WorkdayJob {
        path: String,
    },
    Workable {
        details: bool,
    },
    SmartrecruitersList {
        offset: usize,
        limit: usize,
    },
    SmartrecruitersJob {
        id: String,
    },
    Teamtailor {
        rss: bool,
    },
    Recruitee,
    Personio,
    BamboohrList,
    BamboohrJob {
        id: String,
    },
}

/// The answers a board caches until it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ListKey {
    /// Greenhouse asked without `content`, `pay_transparency` or both.
    GreenhouseWithout {
        content: bool,
        pay: bool,
    },
    AshbyWithoutCompensation,
    Careers,
    Workable {
        details: bool,
    },
    Teamtailor {
        rss: bool,
    },
    Personio,
    Bamboohr,
}

/// Lists built item by item once per board state, for answers that page or filter them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Projection {
    Smartrecruiters,
    /// Workday's items say how many days ago they were posted: a new day, a new list.
    Workday {
        day: i32,
    },
}

impl View {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            View::GreenhouseList { .. } | View::GreenhouseJob { .. } => Kind::Greenhouse,
            View::Lever { .. } => Kind::Lever,
            View::Ashby { .. } => Kind::Ashby,
            View::Careers => Kind::Jsonld,
            View::WorkdayList(_) | View::WorkdayJob { .. } => Kind::Workday,
            View::Workable { .. } => Kind::Workable,
            View::SmartrecruitersList { .. } | View::SmartrecruitersJob { .. } => Kind::Smartrecruiters,
            View::Teamtailor { .. } => Kind::Teamtailor,
            View::Recruitee => Kind::Recruitee,
            View::Personio => Kind::Personio,
            View::BamboohrList | View::BamboohrJob { .. } => Kind::Bamboohr,
        }
    }

    pub(crate) fn is_list(&self) -> bool {
        !matches!(
            self,
            View::GreenhouseJob { .. }
                | View::WorkdayJob { .. }
                | View::SmartrecruitersJob { .. }
                | View::BamboohrJob { .. }
        )
    }

    /// Content type of a 200 answer.
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            View::Careers => HTML,
            View::Teamtailor { rss: true } => "application/rss+xml; charset=utf-8",
            View::Personio => "text/xml; charset=utf-8",
            _ => JSON,
        }
    }

    /// Answers that need the postings parsed are cached; the others are the stored items joined, which is cheap.
    pub(crate) fn cache_key(&self) -> Option<ListKey> {
        match *self {
            View::GreenhouseList { content, pay } if !(content && pay) => {
                Some(ListKey::GreenhouseWithout { content: !content, pay: !pay })
            }
            View::Ashby { compensation: false } => Some(ListKey::AshbyWithoutCompensation),
            View::Careers => Some(ListKey::Careers),
            View::Workable { details } => Some(ListKey::Workable { details }),
            View::Teamtailor { rss } => Some(ListKey::Teamtailor { rss }),
            View::Personio => Some(ListKey::Personio),
            View::BamboohrList => Some(ListKey::Bamboohr),
            _ => None,
        }
    }
}

/// Why there is nothing to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    Board,
    Posting,
}

/// Fields Greenhouse sends only with `?content=true` (compare gh_gongio_board_jobs_no_content.json).
const GREENHOUSE_CONTENT_ONLY: &[&str] =
    &["content", "departments", "offices", "ai_disclaimer", "include_ai_disclaimer", "ai_opt_out_request_url"];
/// Sent only with `?pay_transparency=true` (compare gh_docs_retrieve_job.jsonc).
const GREENHOUSE_PAY_ONLY: &[&str] = &["pay_input_ranges"];
/// Both of the above.
const GREENHOUSE_CONTENT_AND_PAY: &[&str] = &[
    "content",
    "departments",
    "offices",
    "ai_disclaimer",
    "include_ai_disclaimer",
    "ai_opt_out_request_url",
    "pay_input_ranges",
];
/// Fields Ashby sends only with `?includeCompensation=true`.
const ASHBY_COMPENSATION_ONLY: &[&str] = &["compensation", "shouldDisplayCompensationOnJobPostings"];

/// A JSON object serialized without some of its keys, so answers need no copy of the stored postings.
struct Without<'a> {
    value: &'a Value,
    skip: &'static [&'static str],
}

impl Serialize for Without<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                serializer.collect_map(map.iter().filter(|(key, _)| !self.skip.contains(&key.as_str())))
            }
            other => other.serialize(serializer),
        }
    }
}

/// `prefix`, the items separated by commas, `suffix`.
fn join<'a>(prefix: &str, items: impl Iterator<Item = &'a str>, suffix: &str, size: usize) -> Bytes {
    let mut out = String::with_capacity(size + prefix.len() + suffix.len());
    out.push_str(prefix);
    for (index, item) in items.enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str(suffix);
    Bytes::from(out)
}

/// The items parsed and written out without the `skip` keys.
fn filtered(board: &Board, skip: &'static [&'static str]) -> Vec<u8> {
    let values: Vec<Value> = board.postings.iter().map(Posting::value).collect();
    let items: Vec<Without<'_>> = values.iter().map(|value| Without { value, skip }).collect();
    serde_json::to_vec(&items).unwrap_or_default()
}

/// The body for `view`, from the fixture's bytes while they still apply, else built from the postings.
pub(crate) fn body(board: &mut Board, token: &str, view: &View) -> Result<Bytes, Missing> {
    if !matches!(view.kind(), Kind::Greenhouse | Kind::Lever | Kind::Ashby | Kind::Jsonld) {
        return crate::ats::body(board, view);
    }
    if let Some(raw) = &board.raw
        && let Some(body) = &raw.body
    {
        let verbatim = match view {
            // A fixture was captured without `pay_transparency`: as a board with no pay ranges, whatever is asked.
            View::GreenhouseList { content, .. } => raw.with_content == *content,
            View::Lever { skip, limit } => *skip == 0 && limit.is_none(),
            View::Ashby { compensation } => *compensation || !raw.with_compensation,
            View::Careers => true,
            _ => false,
        };
        if verbatim {
            return Ok(body.clone());
        }
    }
    let size: usize = board.postings.iter().map(|posting| posting.json.len() + 1).sum();
    let items = || board.postings.iter().map(|posting| posting.json.as_str());
    let total = board.postings.len();
    Ok(match view {
        View::GreenhouseList { content: true, pay: true } => {
            join("{\"jobs\":[", items(), &format!("],\"meta\":{{\"total\":{total}}}}}"), size)
        }
        View::GreenhouseList { content, pay } => {
            let skip = match (content, pay) {
                (false, false) => GREENHOUSE_CONTENT_AND_PAY,
                (false, true) => GREENHOUSE_CONTENT_ONLY,
                _ => GREENHOUSE_PAY_ONLY,
            };
            let jobs = String::from_utf8(filtered(board, skip)).unwrap_or_default();
            Bytes::from(format!("{{\"jobs\":{jobs},\"meta\":{{\"total\":{total}}}}}"))
        }
        View::GreenhouseJob { id, pay } => {
            let posting = board.postings.iter().find(|posting| posting.id == *id).ok_or(Missing::Posting)?;
            if *pay {
                Bytes::from(posting.json.clone())
            } else {
                let value = posting.value();
                Bytes::from(
                    serde_json::to_vec(&Without { value: &value, skip: GREENHOUSE_PAY_ONLY }).unwrap_or_default(),
                )
            }
        }
        View::Lever { skip, limit } => join("[", items().skip(*skip).take(limit.unwrap_or(usize::MAX)), "]", size),
        View::Ashby { compensation: true } => join("{\"apiVersion\":\"1\",\"jobs\":[", items(), "]}", size),
        View::Ashby { compensation: false } => {
            let jobs = String::from_utf8(filtered(board, ASHBY_COMPENSATION_ONLY)).unwrap_or_default();
            Bytes::from(format!("{{\"apiVersion\":\"1\",\"jobs\":{jobs}}}"))
        }
        View::Careers => {
            let scripts: String = items().map(ld_json_script).collect();
            let titles: Vec<String> = board.postings.iter().map(|posting| jsonld_title(&posting.value())).collect();
            Bytes::from(careers_page(token, &scripts, &titles))
        }
        _ => return Err(Missing::Board),
    })
}

/// One `<script type="application/ld+json">` element; `</` is written `<\/` so HTML in strings cannot end it.
pub(crate) fn ld_json_script(json: &str) -> String {
    let json = json.replace("</", "<\\/");
    format!("<script type=\"application/ld+json\">\n{json}\n</script>\n")
}

pub(crate) fn jsonld_title(value: &Value) -> String {
    ["title", "name"].iter().find_map(|key| value.get(*key).and_then(Value::as_str)).unwrap_or_default().to_owned()
}

pub(crate) fn careers_page(token: &str, scripts: &str, titles: &[String]) -> String {
    let company = text::escape_html(&text::company_name(token));
    let items: String = titles.iter().map(|title| format!("<li>{}</li>\n", text::escape_html(title))).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Careers at {company}</title>\n\
         {scripts}</head>\n<body>\n<h1>Open positions at {company}</h1>\n<ul>\n{items}</ul>\n</body>\n</html>\n"
    )
}

/// The first half of `text`, cut on a character boundary.
fn first_half(text: &str) -> &str {
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.get(..cut).unwrap_or_default()
}

/// A 200 body that does not parse: JSON or XML cut in half, or a careers page whose ld+json is cut in half.
pub(crate) fn malformed(kind: Kind, body: &Bytes) -> Bytes {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.slice(..body.len() / 2);
    };
    if kind != Kind::Jsonld {
        return Bytes::from(first_half(text).to_owned());
    }
    let spans = crate::fixtures::ld_json_spans(text);
    if spans.is_empty() {
        let broken = "<script type=\"application/ld+json\">\n{\"@context\": \"https://schema.org\", \"@type\": \"JobPosting\",\n</script>\n";
        return Bytes::from(text.replacen("</head>", &format!("{broken}</head>"), 1));
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(text.get(at..span.start).unwrap_or_default());
        out.push_str(first_half(text.get(span.clone()).unwrap_or_default()));
        out.push('\n');
        at = span.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Bytes::from(out)
}

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// Content type of a board's error answers: web servers' HTML pages for the sites (careers pages, Teamtailor,
/// Personio), JSON for the APIs.
pub(crate) fn error_content_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Jsonld | Kind::Teamtailor | Kind::Personio => HTML,
        _ => JSON,
    }
}

/// The body each service sends with a 404.
pub(crate) fn not_found(kind: Kind, missing: Missing) -> String {
    match (kind, missing) {
        (Kind::Greenhouse, Missing::Posting) => json!({ "status": 404, "error": "Job not found" }).to_string(),
        (Kind::Greenhouse, Missing::Board) => json!({ "status": 404, "error": "Job board not found" }).to_string(),
        (Kind::Lever, _) => json!({ "ok": false, "error": "Document not found" }).to_string(),
        (Kind::Ashby, _) => json!({ "success": false, "error": "Job board not found" }).to_string(),
        (Kind::Jsonld, _) => page_error("404 Not Found"),
        (Kind::Personio, _) => crate::ats::personio::disabled_page(),
        (_, Missing::Posting) => error(kind, StatusCode::NOT_FOUND, "Job not found"),
        (_, Missing::Board) => error(kind, StatusCode::NOT_FOUND, "Not found"),
    }
}

pub(crate) fn server_error(kind: Kind) -> String {
    match kind {
        Kind::Greenhouse => json!({ "status": 500, "error": "Internal Server Error" }).to_string(),
        Kind::Lever => json!({ "ok": false, "error": "Internal Server Error" }).to_string(),
        Kind::Ashby => json!({ "success": false, "error": "Internal Server Error" }).to_string(),
        _ => error(kind, StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// The body of a 429 (with `Retry-After: 1`).
pub(crate) fn rate_limited(kind: Kind) -> String {
    match kind {
        Kind::Greenhouse => json!({ "status": 429, "error": "Too Many Requests" }).to_string(),
        Kind::Lever => json!({ "ok": false, "error": "Too Many Requests" }).to_string(),
        Kind::Ashby => json!({ "success": false, "error": "Too Many Requests" }).to_string(),
        _ => error(kind, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
    }
}

/// An error body in the service's own form, carrying `message`: an HTML page from the sites, a JSON error from
/// the APIs.
pub(crate) fn error(kind: Kind, status: StatusCode, message: &str) -> String {
    let code = status.as_u16();
    let body = match kind {
        Kind::Jsonld | Kind::Teamtailor | Kind::Personio => {
            return page_error(&format!("{code} {}", status.canonical_reason().unwrap_or(message)));
        }
        Kind::Workday => json!({ "errorCode": format!("HTTP_{code}"), "httpStatus": code, "message": message }),
        Kind::Smartrecruiters => {
            let reason = status.canonical_reason().unwrap_or_default().to_uppercase().replace(' ', "_");
            json!({ "message": message, "errors": [{ "code": reason, "message": message }] })
        }
        Kind::Greenhouse => json!({ "status": code, "error": message }),
        Kind::Lever => json!({ "ok": false, "error": message }),
        Kind::Ashby => json!({ "success": false, "error": message }),
        Kind::Workable | Kind::Recruitee | Kind::Bamboohr => json!({ "error": message }),
    };
    body.to_string()
}

pub(crate) fn page_error(status: &str) -> String {
    format!("<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>\n")
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_does_not_parse() {
        for body in ["[]", "{\"jobs\":[],\"meta\":{\"total\":0}}", "[{\"t\":\"é\"}]"] {
            let cut = malformed(Kind::Lever, &Bytes::from(body));
            assert!(serde_json::from_slice::<Value>(&cut).is_err(), "{body} -> {cut:?}");
            assert!(std::str::from_utf8(&cut).is_ok());
        }
    }

    #[test]
    fn malformed_pages_keep_their_scripts_but_not_valid_json() {
        let empty = careers_page("x", "", &[]);
        let page = careers_page("x", &ld_json_script(r#"{"@type": "JobPosting", "title": "A</script>"}"#), &[]);
        for page in [empty, page] {
            let cut = malformed(Kind::Jsonld, &Bytes::from(page));
            let cut = std::str::from_utf8(&cut).unwrap();
            let blocks = crate::fixtures::ld_json_blocks(cut);
            assert_eq!(blocks.len(), 1, "{cut}");
            assert!(serde_json::from_str::<Value>(blocks[0]).is_err(), "{cut}");
        }
    }
}
