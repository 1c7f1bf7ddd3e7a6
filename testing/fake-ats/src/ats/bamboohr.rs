//! BambooHR's careers API on the tenant's host: `GET /bamboohr/{tenant}/careers/list` answers `{"meta":
//! {"totalCount"}, "result": [...]}`, `GET /bamboohr/{tenant}/careers/{id}/detail` `{"meta", "result": {"jobOpening":
//! {...}}}` with the description. As real boards, `totalCount` can disagree with the rows: a generated board with an
//! odd seed reports one more than it lists, a fixture board keeps its file's difference. A posting is kept as
//! `{"list": row, "detail": body}`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{fill, scalar, sibling_details, template_at};
use crate::fixtures::{Loaded, Raw};
use crate::generate::{Draw, utc};
use crate::render::{Missing, View};
use crate::routes::{App, respond};
use crate::state::{Board, Posting};
use crate::text;

const LIST_SRC: &str = fixture!("bamboohr/mwbackend_collectivemeasures_list.json");
const DETAIL_SRC: &str = fixture!("bamboohr/mwbackend_collectivemeasures_detail.json");

static ROW: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(LIST_SRC, "/result/0"));
static OPENING: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(DETAIL_SRC, "/result/jobOpening"));

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/bamboohr/{token}/careers/list", get(careers))
        .route("/bamboohr/{token}/careers/{id}/detail", get(opening))
}

async fn careers(State(app): State<App>, UrlPath(token): UrlPath<String>) -> Response {
    respond(&app, &token, View::BamboohrList).await
}

async fn opening(State(app): State<App>, UrlPath((token, id)): UrlPath<(String, String)>) -> Response {
    respond(&app, &token, View::BamboohrJob { id }).await
}

/// `extra`: how many more `totalCount` reports than the board lists.
pub(crate) fn envelope(seed: u64) -> Value {
    json!({ "extra": seed % 2 })
}

fn detail_body(opening: Map<String, Value>) -> Value {
    json!({ "meta": {}, "result": { "jobOpening": opening } })
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let department = (d.rng.below(5) != 0).then(|| (10_000 + d.rng.below(90_000)).to_string());
    let status = match d.rng.below(10) {
        0 => "Part time",
        1 => "Contractor",
        _ => "Full time",
    };
    let (location_type, remote) = match d.workplace.0 {
        "remote" => ("1", json!(true)),
        "hybrid" => ("2", Value::Null),
        _ => ("0", Value::Null),
    };
    let (min, max) = d.salary;
    let compensation = (d.rng.below(2) == 0).then(|| format!("${min} - ${max} / year"));
    let mut row = ROW.clone();
    fill(
        &mut row,
        [
            ("id", json!(id)),
            ("jobOpeningName", json!(d.title)),
            ("departmentId", json!(department)),
            ("departmentLabel", json!(department.as_ref().map(|_| d.department))),
            ("employmentStatusLabel", json!(status)),
            ("location", json!({ "city": d.place.city, "state": d.place.region })),
            ("isRemote", remote),
            ("locationType", json!(location_type)),
        ],
    );
    let mut opening = OPENING.clone();
    fill(
        &mut opening,
        [
            ("jobOpeningShareUrl", json!(format!("https://{}.bamboohr.com/careers/{id}", d.token))),
            ("jobOpeningName", json!(d.title)),
            ("departmentId", json!(department)),
            ("departmentLabel", json!(department.as_ref().map_or("", |_| d.department))),
            ("employmentStatusLabel", json!(status)),
            (
                "location",
                json!({ "city": d.place.city, "state": d.place.region, "postalCode": format!("{:05}", 10_000 + d.rng.below(89_999)), "addressCountry": d.place.country }),
            ),
            ("description", json!(d.description.html())),
            ("compensation", json!(compensation)),
            ("datePosted", json!(utc(d.published, "%Y-%m-%d"))),
            ("locationType", json!(location_type)),
        ],
    );
    json!({ "list": row, "detail": detail_body(opening) })
}

/// The opening's id: the last part of its share URL (`…/careers/214`), which the detail has instead of an `id`.
fn opening_id(detail: &Value) -> Option<String> {
    let url = detail.pointer("/result/jobOpening/jobOpeningShareUrl").and_then(Value::as_str)?;
    url.trim_end_matches('/').rsplit('/').next().filter(|id| !id.is_empty()).map(str::to_owned)
}

/// A list (`result` rows) or a single opening's detail (`result.jobOpening`).
pub(crate) fn load(
    token: &str,
    path: &Path,
    object: Map<String, Value>,
    body: Vec<u8>,
    source: String,
) -> anyhow::Result<Loaded> {
    match object.get("result") {
        Some(Value::Object(result)) if result.contains_key("jobOpening") => {
            let detail = Value::Object(object);
            let Some(id) = opening_id(&detail) else {
                bail!("fixture `{source}`: the opening's `jobOpeningShareUrl` names no id");
            };
            let opening = &detail["result"]["jobOpening"];
            let field = |key: &str| opening.get(key).cloned().unwrap_or(Value::Null);
            let row = json!({
                "id": id, "jobOpeningName": field("jobOpeningName"), "departmentId": field("departmentId"),
                "departmentLabel": field("departmentLabel"), "employmentStatusLabel": field("employmentStatusLabel"),
                "employmentType": field("employmentType"),
                "location": { "city": opening.pointer("/location/city"), "state": opening.pointer("/location/state") },
                "atsLocation": { "country": null, "state": null, "province": null, "city": null },
                "isRemote": null, "locationType": field("locationType"),
            });
            let record = json!({ "list": row, "detail": detail });
            let raw = Raw { details: HashMap::from([(id.clone(), Bytes::from(body))]), ..Raw::default() };
            Ok(Loaded { postings: vec![Posting::new(id, &record)], raw, source, envelope: envelope(0) })
        }
        Some(Value::Array(rows)) => {
            let details = sibling_details(path);
            let mut raw = Raw::list(body);
            let mut postings = Vec::with_capacity(rows.len());
            for (index, row) in rows.iter().enumerate() {
                let Some(id) = scalar(row.get("id")) else { bail!("fixture `{source}`: row {index} has no `id`") };
                let detail = match details.iter().find(|(detail, _)| opening_id(detail).as_deref() == Some(id.as_str()))
                {
                    Some((detail, bytes)) => {
                        raw.details.insert(id.clone(), bytes.clone());
                        detail.clone()
                    }
                    None => made_detail(row, &id, token),
                };
                postings.push(Posting::new(id, &json!({ "list": row, "detail": detail })));
            }
            let reported = object
                .get("meta")
                .and_then(|meta| meta.get("totalCount"))
                .and_then(Value::as_i64)
                .unwrap_or(rows.len() as i64);
            let envelope = json!({ "extra": reported - rows.len() as i64 });
            Ok(Loaded { postings, raw, source, envelope })
        }
        _ => bail!("fixture `{source}` is not a bamboohr answer: `result` is neither a list nor a jobOpening"),
    }
}

/// A detail for a listed fixture opening that has none recorded, from the detail template.
fn made_detail(row: &Value, id: &str, token: &str) -> Value {
    let mut opening = OPENING.clone();
    for key in ["jobOpeningName", "departmentId", "employmentStatusLabel", "employmentType", "locationType"] {
        if let Some(value) = row.get(key) {
            opening.insert(key.to_owned(), value.clone());
        }
    }
    let text = |pointer: &str| row.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
    let title = text("/jobOpeningName");
    let description = super::description_for(id, &text::company_name(token), &title, &text("/location/city"));
    fill(
        &mut opening,
        [
            ("jobOpeningShareUrl", json!(format!("https://{token}.bamboohr.com/careers/{id}"))),
            ("departmentLabel", json!(text("/departmentLabel"))),
            (
                "location",
                json!({ "city": row.pointer("/location/city"), "state": row.pointer("/location/state"), "postalCode": null, "addressCountry": null }),
            ),
            ("description", json!(description.html())),
        ],
    );
    detail_body(opening)
}

pub(crate) fn list(board: &Board) -> Bytes {
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone()) {
        return body;
    }
    let extra = board.envelope.get("extra").and_then(Value::as_i64).unwrap_or(0);
    let total = (board.postings.len() as i64 + extra).max(0);
    let rows: Vec<String> = board
        .postings
        .iter()
        .map(|posting| posting.value().get_mut("list").map(|row| row.take().to_string()).unwrap_or_default())
        .collect();
    Bytes::from(format!("{{\"meta\":{{\"totalCount\":{total}}},\"result\":[{}]}}", rows.join(",")))
}

pub(crate) fn detail(board: &Board, id: &str) -> Result<Bytes, Missing> {
    let posting = board.postings.iter().find(|posting| posting.id == id).ok_or(Missing::Posting)?;
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.details.get(id)) {
        return Ok(body.clone());
    }
    let detail = posting.value().get_mut("detail").map(Value::take).unwrap_or(Value::Null);
    Ok(Bytes::from(serde_json::to_vec(&detail).unwrap_or_default()))
}
