//! SmartRecruiters' Posting API, one host for every company: `GET /v1/companies/{id}/postings?limit=N&offset=M`
//! answers `{"offset", "limit", "totalFound", "content": [...]}` (`limit` 10 by default, at most 100: more is a 400);
//! `GET /v1/companies/{id}/postings/{postingId}` a posting's detail, its description in `jobAd.sections.*.text`.
//! A posting is kept as `{"list": row, "detail": body}`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{fill, scalar, sibling_details, template_at, url_slug};
use crate::Kind;
use crate::fixtures::{Loaded, Raw};
use crate::generate::Draw;
use crate::render::{Missing, Projection, View};
use crate::routes::{App, Params, bad_request, respond};
use crate::state::{Board, Listed, Posting};
use crate::text::{self, Description, Rng};

const LIST_SRC: &str = fixture!("smartrecruiters/vjd_vitol_list_limit5.json");
const DETAIL_SRC: &str = fixture!("smartrecruiters/vjd_vitol_detail.json");

static ROW: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(LIST_SRC, "/content/0"));
static DETAIL: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(DETAIL_SRC, ""));

pub(crate) const DEFAULT_LIMIT: usize = 10;
pub(crate) const MAX_LIMIT: usize = 100;

/// The keys of a list row, all but `ref` also in the detail.
const ROW_KEYS: &[&str] = &[
    "id",
    "name",
    "uuid",
    "jobAdId",
    "defaultJobAd",
    "refNumber",
    "company",
    "releasedDate",
    "location",
    "industry",
    "department",
    "function",
    "typeOfEmployment",
    "experienceLevel",
    "customField",
    "visibility",
    "language",
];

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/companies/{token}/postings", get(postings))
        .route("/v1/companies/{token}/postings/{id}", get(posting))
}

async fn postings(State(app): State<App>, UrlPath(token): UrlPath<String>, Query(params): Params) -> Response {
    let number = |name: &str, default: usize| match params.get(name) {
        None => Ok(default),
        Some(value) => {
            value.trim().parse::<usize>().map_err(|_| format!("`{name}` must be a non-negative integer, not `{value}`"))
        }
    };
    let (limit, offset) = match (number("limit", DEFAULT_LIMIT), number("offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(message), _) | (_, Err(message)) => return bad_request(Kind::Smartrecruiters, &message),
    };
    if limit > MAX_LIMIT {
        let message = format!("`limit` {limit} is more than the maximum of {MAX_LIMIT}");
        return bad_request(Kind::Smartrecruiters, &message);
    }
    respond(&app, &token, View::SmartrecruitersList { offset, limit }).await
}

async fn posting(State(app): State<App>, UrlPath((token, id)): UrlPath<(String, String)>) -> Response {
    respond(&app, &token, View::SmartrecruitersJob { id }).await
}

fn uuid(rng: &mut Rng) -> String {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
    bytes[8..16].copy_from_slice(&rng.next().to_le_bytes());
    text::uuid(&bytes)
}

/// The four sections of a job ad, from a generated description.
fn sections(description: &Description) -> Value {
    let section = |title: &str, text: String| json!({ "title": title, "text": text });
    json!({
        "companyDescription": section("Company Description", format!("<p>{}</p>", text::escape_html(&description.intro))),
        "jobDescription": section(
            "Job Description",
            format!("<p>{}</p><ul>{}</ul>", text::escape_html(&description.role), description.duties_html()),
        ),
        "qualifications": section("Qualifications", format!("<ul>{}</ul>", description.needs_html())),
        "additionalInformation": section("Additional Information", format!("<p>{}</p>", text::escape_html(&description.benefits))),
    })
}

/// The detail's URLs for a posting.
fn urls(company: &str, id: &str, title: &str, uuid: &str) -> [(&'static str, Value); 3] {
    let posting = format!("https://jobs.smartrecruiters.com/{company}/{id}-{}", url_slug(title));
    let referral = format!(
        "https://jobs.smartrecruiters.com/external-referrals/company/{company}/publication/{uuid}?dcr_ci={company}"
    );
    [
        ("postingUrl", json!(posting)),
        ("applyUrl", json!(format!("{posting}?oga=true"))),
        ("referralUrl", json!(referral)),
    ]
}

fn api_ref(company: &str, id: &str) -> Value {
    json!(format!("https://api.smartrecruiters.com/v1/companies/{company}/postings/{id}"))
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let token = d.token.clone();
    let posting_uuid = uuid(&mut d.rng);
    let department_id = 1_700_000 + d.rng.below(100_000);
    let levels = [
        ("entry_level", "Entry Level"),
        ("associate", "Associate"),
        ("mid_senior_level", "Mid-Senior Level"),
        ("director", "Director"),
    ];
    let (level_id, level) = d.rng.pick(&levels).unwrap_or(("associate", "Associate"));
    let employment = if d.rng.below(8) == 0 { ("part_time", "Part-time") } else { ("permanent", "Full-time") };
    let region = if d.place.code == "US" { d.place.region } else { "" };
    let mut location = json!({
        "city": d.place.city, "country": d.place.code.to_lowercase(),
        "remote": d.workplace.0 == "remote", "hybrid": d.workplace.0 == "hybrid",
        "fullLocation": format!("{}, {region}, {}", d.place.city, d.place.country),
    });
    if !region.is_empty()
        && let Some(map) = location.as_object_mut()
    {
        map.insert("region".to_owned(), json!(region));
    }
    let released = format!("{}.{:03}Z", crate::generate::utc(d.published, "%Y-%m-%dT%H:%M:%S"), d.rng.below(1000));
    let function = url_slug(d.department).replace('-', "_");
    let shared = [
        ("id", json!(id)),
        ("name", json!(d.title)),
        ("uuid", json!(posting_uuid)),
        ("jobAdId", json!(uuid(&mut d.rng))),
        ("refNumber", json!(format!("REF{}{}", 100 + d.rng.below(900), char::from(b'A' + (d.rng.below(26) as u8))))),
        ("company", json!({ "identifier": token, "name": d.company })),
        ("releasedDate", json!(released)),
        ("location", location),
        ("function", json!({ "id": function, "label": d.department })),
        ("typeOfEmployment", json!({ "id": employment.0, "label": employment.1 })),
        ("experienceLevel", json!({ "id": level_id, "label": level })),
        (
            "customField",
            json!([
                { "fieldId": "COUNTRY", "fieldLabel": "Country/Region", "valueId": d.place.code.to_lowercase(), "valueLabel": d.place.country },
                { "fieldId": "5f181a2ff4350677f8990d58", "fieldLabel": "Department", "valueId": department_id.to_string(), "valueLabel": d.department },
            ]),
        ),
    ];
    let mut row = ROW.clone();
    fill(&mut row, shared.clone());
    fill(
        &mut row,
        [
            ("department", json!({ "id": department_id.to_string(), "label": d.department })),
            ("ref", api_ref(&token, id)),
        ],
    );
    let mut detail = DETAIL.clone();
    fill(&mut detail, shared);
    fill(
        &mut detail,
        [
            ("jobId", json!(uuid(&mut d.rng))),
            ("department", json!({ "id": department_id, "label": d.department })),
            ("jobAd", json!({ "sections": sections(&d.description) })),
        ],
    );
    fill(&mut detail, urls(&token, id, &d.title, &posting_uuid));
    json!({ "list": row, "detail": detail })
}

/// A list page (`content`) or a single posting's detail (`jobAd`).
pub(crate) fn load(
    token: &str,
    path: &Path,
    object: Map<String, Value>,
    body: Vec<u8>,
    source: String,
) -> anyhow::Result<Loaded> {
    if object.contains_key("jobAd") {
        let Some(id) = scalar(object.get("id")) else { bail!("fixture `{source}`: the posting has no `id`") };
        let mut row: Map<String, Value> = ROW_KEYS
            .iter()
            .filter_map(|key| object.get(*key).map(|value| ((*key).to_owned(), value.clone())))
            .collect();
        if let Some(Value::Object(department)) = row.get_mut("department")
            && let Some(number @ Value::Number(_)) = department.get("id").cloned()
        {
            department.insert("id".to_owned(), json!(number.to_string()));
        }
        let company = object
            .get("company")
            .and_then(|company| company.get("identifier"))
            .and_then(Value::as_str)
            .unwrap_or(token)
            .to_owned();
        row.insert("ref".to_owned(), api_ref(&company, &id));
        let record = json!({ "list": row, "detail": object });
        let raw = Raw { details: HashMap::from([(id.clone(), Bytes::from(body))]), ..Raw::default() };
        return Ok(Loaded { postings: vec![Posting::new(id, &record)], raw, source, envelope: Value::Null });
    }
    let Some(Value::Array(rows)) = object.get("content") else {
        bail!("fixture `{source}` is not a smartrecruiters page: no `content` array nor `jobAd`");
    };
    let details = sibling_details(path);
    let number = |key: &str| object.get(key).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
    let mut raw = Raw { page: number("offset").zip(number("limit")), ..Raw::list(body) };
    let mut postings = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let Some(id) = scalar(row.get("id")) else { bail!("fixture `{source}`: posting {index} has no `id`") };
        let detail = match details.iter().find(|(detail, _)| scalar(detail.get("id")).as_deref() == Some(id.as_str())) {
            Some((detail, bytes)) => {
                raw.details.insert(id.clone(), bytes.clone());
                detail.clone()
            }
            None => made_detail(row, &id, token),
        };
        postings.push(Posting::new(id, &json!({ "list": row, "detail": detail })));
    }
    Ok(Loaded { postings, raw, source, envelope: Value::Null })
}

/// A detail for a listed fixture posting that has none recorded, from the detail template.
fn made_detail(row: &Value, id: &str, token: &str) -> Value {
    let mut detail = DETAIL.clone();
    for key in ROW_KEYS {
        if let Some(value) = row.get(*key) {
            detail.insert((*key).to_owned(), value.clone());
        }
    }
    if let Some(Value::Object(department)) = detail.get_mut("department")
        && let Some(number) = department.get("id").and_then(Value::as_str).and_then(|id| id.parse::<u64>().ok())
    {
        department.insert("id".to_owned(), json!(number));
    }
    let text = |pointer: &str| row.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
    let company =
        Some(text("/company/identifier")).filter(|company| !company.is_empty()).unwrap_or_else(|| token.to_owned());
    let title = text("/name");
    let description = super::description_for(id, &text("/company/name"), &title, &text("/location/fullLocation"));
    let mut rng = super::rng_for(id);
    detail.insert("jobId".to_owned(), json!(uuid(&mut rng)));
    detail.insert("jobAd".to_owned(), json!({ "sections": sections(&description) }));
    fill(&mut detail, urls(&company, id, &title, &text("/uuid")));
    Value::Object(detail)
}

pub(crate) fn list(board: &mut Board, offset: usize, limit: usize) -> Bytes {
    if let Some(raw) = &board.raw
        && raw.page == Some((offset, limit))
        && let Some(body) = &raw.body
    {
        return body.clone();
    }
    let rows = board.listed(Projection::Smartrecruiters, |posting| {
        let json = posting.value().get_mut("list").map(|row| row.take().to_string()).unwrap_or_default();
        Listed { json, tags: Vec::new(), title: String::new() }
    });
    let total = rows.len();
    let page: Vec<&str> = rows.iter().skip(offset).take(limit).map(|row| row.json.as_str()).collect();
    Bytes::from(format!(
        "{{\"offset\":{offset},\"limit\":{limit},\"totalFound\":{total},\"content\":[{}]}}",
        page.join(",")
    ))
}

pub(crate) fn detail(board: &Board, id: &str) -> Result<Bytes, Missing> {
    let posting = board.postings.iter().find(|posting| posting.id == id).ok_or(Missing::Posting)?;
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.details.get(id)) {
        return Ok(body.clone());
    }
    let detail = posting.value().get_mut("detail").map(Value::take).unwrap_or(Value::Null);
    Ok(Bytes::from(serde_json::to_vec(&detail).unwrap_or_default()))
}
