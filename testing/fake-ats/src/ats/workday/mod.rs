//! Workday's CXS API, under `/workday/{tenant}` (the tenant's own host): `POST /wday/cxs/{tenant}/{site}/jobs` with
//! a JSON search `{"appliedFacets", "limit", "offset", "searchText"}` answers `{"total", "jobPostings", "facets",
//! "userAuthenticated"}`; `GET /wday/cxs/{tenant}/{site}{externalPath}` a posting's detail. A board's token is
//! `{tenant}.{site}`.
//!
//! As the real service: `limit` above 20 is a 400; `total` is set on the first page (offset 0) only, 0 on later
//! ones; a search stops at 2,000 (`total` is at most 2,000, an offset past it lists nothing); the first page carries
//! the facets with the counts of matching postings (each facet's counted with the other facets' filters applied);
//! `appliedFacets` keeps postings having any of a parameter's ids, all parameters applying; `postedOn` is relative
//! text computed from the posting's date.

mod answers;
mod fixtures;

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

pub(crate) use answers::{detail, list};
pub(crate) use fixtures::load;

use super::{fill, hex_id, template_at};
use crate::Kind;
use crate::generate::Draw;
use crate::render::{self, Missing, View};
use crate::routes::{App, bad_request, failed, respond};
use crate::text::{self, Place};

const LIST_SRC: &str = fixture!("workday/eujobfeeds_nvidia_list.json");
const DETAIL_SRC: &str = fixture!("workday/eujobfeeds_nvidia_detail.json");

static LIST: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(LIST_SRC, "/jobPostings/0"));
static DETAIL: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(DETAIL_SRC, ""));

/// Most postings a request may ask for.
pub(crate) const MAX_LIMIT: usize = 20;
/// Where a search stops.
pub(crate) const CAP: usize = 2000;
/// The facets offered: (parameter, descriptor).
const FACETS: [(&str, &str); 2] = [("jobFamilyGroup", "Job Category"), ("locations", "Locations")];

/// A list request's search.
#[derive(Clone, Debug, Default)]
pub(crate) struct Search {
    pub offset: usize,
    pub limit: usize,
    /// Facet parameter and the ids asked for.
    pub applied: Vec<(String, Vec<String>)>,
    pub text: String,
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workday/{tenant}/wday/cxs/{tenant2}/{site}/jobs", post(jobs))
        .route("/workday/{tenant}/wday/cxs/{tenant2}/{site}/job/{*rest}", get(job))
}

fn not_found() -> Response {
    failed(Kind::Workday, StatusCode::NOT_FOUND, render::not_found(Kind::Workday, Missing::Board))
}

async fn jobs(
    State(app): State<App>,
    UrlPath((tenant, tenant2, site)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if tenant != tenant2 {
        return not_found();
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        let message = "Content-Type must be application/json";
        let body = render::error(Kind::Workday, StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
        return failed(Kind::Workday, StatusCode::UNSUPPORTED_MEDIA_TYPE, body);
    }
    match search(&body) {
        Ok(search) => respond(&app, &format!("{tenant}.{site}"), View::WorkdayList(search)).await,
        Err(message) => bad_request(Kind::Workday, &message),
    }
}

async fn job(
    State(app): State<App>,
    UrlPath((tenant, tenant2, site, rest)): UrlPath<(String, String, String, String)>,
) -> Response {
    if tenant != tenant2 {
        return not_found();
    }
    respond(&app, &format!("{tenant}.{site}"), View::WorkdayJob { path: format!("/job/{rest}") }).await
}

/// Reads a search body; the message names what is wrong.
fn search(body: &[u8]) -> Result<Search, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("Invalid request body: {e}"))?;
    let Value::Object(body) = value else { return Err("Invalid request body: expected a JSON object".to_owned()) };
    let number = |name: &str, default: usize| match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .and_then(|number| usize::try_from(number).ok())
            .ok_or_else(|| format!("Invalid request body: `{name}` must be a non-negative integer, not {value}")),
    };
    let limit = number("limit", MAX_LIMIT)?;
    if limit > MAX_LIMIT {
        return Err(format!("Invalid request body: `limit` {limit} is more than the maximum of {MAX_LIMIT}"));
    }
    let offset = number("offset", 0)?;
    let text = match body.get("searchText") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.trim().to_lowercase(),
        Some(other) => return Err(format!("Invalid request body: `searchText` must be a string, not {other}")),
    };
    let mut applied = Vec::new();
    match body.get("appliedFacets") {
        None | Some(Value::Null) => {}
        Some(Value::Object(facets)) => {
            for (param, ids) in facets {
                let ids = ids
                    .as_array()
                    .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| format!("Invalid request body: `appliedFacets.{param}` must be an array of ids"))?;
                if !ids.is_empty() {
                    applied.push((param.clone(), ids));
                }
            }
        }
        Some(other) => return Err(format!("Invalid request body: `appliedFacets` must be an object, not {other}")),
    }
    Ok(Search { offset, limit, applied, text })
}

/// "Posted Today", "Posted Yesterday", "Posted 5 Days Ago", "Posted 30+ Days Ago".
pub(crate) fn posted_on(posted: NaiveDate, today: NaiveDate) -> String {
    match (today - posted).num_days() {
        ..=0 => "Posted Today".to_owned(),
        1 => "Posted Yesterday".to_owned(),
        days @ 2..=29 => format!("Posted {days} Days Ago"),
        _ => "Posted 30+ Days Ago".to_owned(),
    }
}

/// The days a `postedOn` text says (30 for "30+"), none for a text it is not.
fn days_ago(text: &str) -> Option<i64> {
    let rest = text.trim().strip_prefix("Posted ")?;
    match rest {
        "Today" => Some(0),
        "Yesterday" => Some(1),
        _ => rest.strip_suffix(" Days Ago")?.trim_end_matches('+').parse().ok(),
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// "Germany, Berlin", as NVIDIA's "Israel, Yokneam".
pub(crate) fn place_text(place: &Place) -> String {
    format!("{}, {}", place.country, place.city)
}

/// Workday's URL form of a text: commas dropped, every other character but ASCII letters and digits a `-`
/// ("US, CA, Santa Clara" is `US-CA-Santa-Clara`, "Architect / Senior" `Architect---Senior`).
fn path_slug(text: &str) -> String {
    text.chars().filter(|c| *c != ',').map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// `/job/Germany-Berlin/Senior-Data-Engineer_JR1234567`
pub(crate) fn external_path(title: &str, location: &str, number: u64) -> String {
    format!("/job/{}/{}_JR{number}", path_slug(location), path_slug(title))
}

fn facet_value(param: &str, descriptor: &str) -> Value {
    json!({ "id": hex_id(&[param, descriptor]), "descriptor": descriptor })
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let (tenant, site) = d.token.split_once('.').unwrap_or((d.token.as_str(), d.token.as_str()));
    let (tenant, site) = (tenant.to_owned(), site.to_owned());
    let location = place_text(&d.place);
    let others: Vec<String> = d.others.iter().map(place_text).collect();
    let locations_text = if others.is_empty() { location.clone() } else { format!("{} Locations", others.len() + 1) };
    let req_id = id.rsplit_once('_').map(|(_, req)| req.to_owned()).unwrap_or_default();
    let posting_id = id.rsplit('/').next().unwrap_or_default().to_owned();
    let days = match d.rng.below(10) {
        0 => 0,
        1 => 1,
        2..=6 => 2 + d.rng.below(28),
        _ => 30 + d.rng.below(90),
    };
    let posted = today() - chrono::Duration::days(i64::try_from(days).unwrap_or(0));
    let time_type = if d.rng.below(8) == 0 { "Part time" } else { "Full time" };

    let mut list = LIST.clone();
    fill(
        &mut list,
        [
            ("title", json!(d.title)),
            ("externalPath", json!(id)),
            ("locationsText", json!(locations_text)),
            ("bulletFields", json!([req_id])),
        ],
    );
    list.remove("postedOn");

    let mut detail = DETAIL.clone();
    let mut info = match detail.remove("jobPostingInfo") {
        Some(Value::Object(info)) => info,
        _ => Map::new(),
    };
    let country = json!({ "descriptor": d.place.country, "id": hex_id(&["country", d.place.code]) });
    fill(
        &mut info,
        [
            ("id", json!(super::hex(&text::digest(&[b"workday", id.as_bytes()]), 32))),
            ("title", json!(d.title)),
            ("jobDescription", json!(d.description.html())),
            ("location", json!(location)),
            ("startDate", json!(posted.format("%Y-%m-%d").to_string())),
            ("timeType", json!(time_type)),
            ("jobReqId", json!(req_id)),
            ("jobPostingId", json!(posting_id)),
            ("jobPostingSiteId", json!(site)),
            ("country", country.clone()),
            (
                "jobRequisitionLocation",
                json!({ "descriptor": location, "country": { "descriptor": d.place.country, "id": country["id"], "alpha2Code": d.place.code } }),
            ),
            ("externalUrl", json!(format!("https://{tenant}.wd5.myworkdayjobs.com/{site}{id}"))),
            (
                "questionnaireId",
                json!(super::hex(&d.rng.next().to_le_bytes(), 16) + &super::hex(&d.rng.next().to_le_bytes(), 16)),
            ),
        ],
    );
    info.remove("postedOn");
    if !others.is_empty() {
        info.insert("additionalLocations".to_owned(), json!(others));
    }
    detail.insert("jobPostingInfo".to_owned(), Value::Object(info));
    fill(&mut detail, [("hiringOrganization", json!({ "name": d.company, "url": "" })), ("similarJobs", json!([]))]);

    let mut places = vec![location];
    places.extend(others);
    json!({
        "list": list,
        "detail": detail,
        "facets": {
            "jobFamilyGroup": [facet_value("jobFamilyGroup", d.department)],
            "locations": places.iter().map(|place| facet_value("locations", place)).collect::<Vec<_>>(),
        },
        "posted": posted.format("%Y-%m-%d").to_string(),
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn paths_are_slugged_as_workday_does() {
        assert_eq!(path_slug("US, CA, Santa Clara"), "US-CA-Santa-Clara");
        assert_eq!(path_slug("Solution Architect / Senior - SLED/NGO"), "Solution-Architect---Senior---SLED-NGO");
        assert_eq!(
            external_path("Staff Engineer", "Brazil, São Paulo", 1234567),
            "/job/Brazil-S-o-Paulo/Staff-Engineer_JR1234567"
        );
    }

    #[test]
    fn posted_on_reads_as_workday_writes_it() {
        let today = date("2026-12-07").unwrap();
        for (day, text) in [
            ("2026-12-07", "Posted Today"),
            ("2026-12-06", "Posted Yesterday"),
            ("2026-12-02", "Posted 5 Days Ago"),
            ("2026-11-08", "Posted 29 Days Ago"),
            ("2026-11-07", "Posted 30+ Days Ago"),
            ("2026-12-09", "Posted Today"),
        ] {
            assert_eq!(posted_on(date(day).unwrap(), today), text, "{day}");
            assert!(days_ago(text).is_some(), "{text}");
        }
        assert_eq!(days_ago("Posted 3 Days Ago"), Some(3));
        assert_eq!(days_ago("3 days"), None);
    }

    #[test]
    fn searches_are_read_or_refused_by_name() {
        let search = search(
            br#"{"appliedFacets": {"locations": ["a"], "x": []}, "limit": 5, "offset": 40, "searchText": " Data "}"#,
        )
        .unwrap();
        assert_eq!((search.limit, search.offset, search.text.as_str()), (5, 40, "data"));
        assert_eq!(search.applied, vec![("locations".to_owned(), vec!["a".to_owned()])]);
        for (body, expected) in [
            (r#"{"limit": 21}"#, "maximum of 20"),
            (r#"{"limit": -1}"#, "`limit` must be"),
            (r#"{"offset": "x"}"#, "`offset` must be"),
            (r#"{"appliedFacets": {"a": "b"}}"#, "appliedFacets.a"),
            (r#"{"appliedFacets": []}"#, "`appliedFacets` must be"),
            (r#"{"searchText": 1}"#, "`searchText`"),
            ("[", "Invalid request body"),
        ] {
            let error = super::search(body.as_bytes()).err().unwrap();
            assert!(error.contains(expected), "{body}: {error}");
        }
    }

    #[test]
    fn generated_records_agree_between_list_and_detail() {
        let posting = crate::generate::posting(Kind::Workday, "acme.Careers", 1, 0, &HashSet::new());
        let record = posting.value();
        assert_eq!(record["list"]["externalPath"], posting.id.as_str());
        assert!(posting.id.starts_with("/job/") && posting.id.contains("_JR"), "{}", posting.id);
        let info = &record["detail"]["jobPostingInfo"];
        assert_eq!(info["title"], record["list"]["title"]);
        assert_eq!(info["jobReqId"], record["list"]["bulletFields"][0]);
        assert!(info["externalUrl"].as_str().unwrap().ends_with(&posting.id));
        assert_eq!(info["startDate"], record["posted"]);
    }
}
