//! Workable's widget API, one host for every account: `GET /api/v1/widget/accounts/{slug}?details=true` answers
//! `{"name", "description", "jobs": [...]}`. A job in several locations is listed once per location under the same
//! `shortcode`, each listing carrying its own location (`country`, `city`, `state` and a one-item `locations`).
//! Without `details=true` the jobs carry no `description`.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{fill, other_places, scalar, template_at};
use crate::fixtures::{Loaded, Raw};
use crate::generate::{DAY, Draw, utc};
use crate::render::View;
use crate::routes::{App, Params, flag, respond};
use crate::state::{Board, Posting};
use crate::text::{self, Place};

const SRC: &str = fixture!("workable/jobagent_vasion_widget.json");

static JOB: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(SRC, "/jobs/0"));

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/api/v1/widget/accounts/{token}", get(account))
}

async fn account(State(app): State<App>, Path(token): Path<String>, Query(params): Params) -> Response {
    respond(&app, &token, View::Workable { details: flag(&params, "details") }).await
}

pub(crate) fn envelope(token: &str) -> Value {
    let company = text::company_name(token);
    let about =
        format!("<p>{} builds software that teams rely on every day, and is hiring.</p>", text::escape_html(&company));
    json!({ "name": company, "description": about })
}

fn location(place: &Place) -> Value {
    json!({ "country": place.country, "countryCode": place.code, "city": place.city, "region": place.region, "hidden": false })
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let mut job = JOB.clone();
    let mut places = vec![d.place];
    // One job in five is in two or three places.
    if d.index % 5 == 2 {
        let more = 1 + usize::from(d.rng.below(2) == 1);
        places.extend(other_places(&mut d.rng, &d.place, more));
    }
    let employment = ["Full-time", "Full-time", "Full-time", "Part-time", "Contract"];
    let education = ["", "Bachelor's Degree", "Master's Degree", "High School or equivalent"];
    let experience = ["Entry level", "Associate", "Mid-Senior level", "Director"];
    let created = d.published - (3 + d.rng.below(40)) as i64 * DAY;
    let url = format!("https://apply.workable.com/j/{id}");
    fill(
        &mut job,
        [
            ("title", json!(d.title)),
            ("shortcode", json!(id)),
            ("code", json!("")),
            ("employment_type", json!(d.rng.pick(&employment).unwrap_or_default())),
            ("telecommuting", json!(d.workplace.0 == "remote")),
            ("department", json!(d.department)),
            ("url", json!(url)),
            ("shortlink", json!(url)),
            ("application_url", json!(format!("{url}/apply"))),
            ("published_on", json!(utc(d.published, "%Y-%m-%d"))),
            ("created_at", json!(utc(created, "%Y-%m-%d"))),
            ("country", json!(d.place.country)),
            ("city", json!(d.place.city)),
            ("state", json!(d.place.region)),
            ("education", json!(d.rng.pick(&education).unwrap_or_default())),
            ("experience", json!(d.rng.pick(&experience).unwrap_or_default())),
            ("function", json!(d.department)),
            ("industry", json!("Computer Software")),
            ("locations", json!(places.iter().map(location).collect::<Vec<_>>())),
            ("description", json!(d.description.html())),
        ],
    );
    Value::Object(job)
}

/// A widget payload; a job listed once per location becomes one posting with all its locations.
pub(crate) fn load(mut object: Map<String, Value>, body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    let Some(Value::Array(items)) = object.remove("jobs") else {
        bail!("fixture `{source}` is not a workable widget payload: no `jobs` array");
    };
    let mut postings: Vec<(String, Value)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (index, item) in items.into_iter().enumerate() {
        let Some(shortcode) = scalar(item.get("shortcode")) else {
            bail!("fixture `{source}`: job {index} has no `shortcode`");
        };
        match at.get(&shortcode).and_then(|&index| postings.get_mut(index)) {
            Some((_, first)) => {
                let more = item.get("locations").and_then(Value::as_array).cloned().unwrap_or_default();
                if let Some(Value::Array(locations)) = first.get_mut("locations") {
                    for location in more {
                        if !locations.contains(&location) {
                            locations.push(location);
                        }
                    }
                }
            }
            None => {
                at.insert(shortcode.clone(), postings.len());
                postings.push((shortcode, item));
            }
        }
    }
    let postings = postings.into_iter().map(|(id, item)| Posting::new(id, &item)).collect();
    Ok(Loaded { postings, raw: Raw::list(body), source, envelope: Value::Object(object) })
}

/// The job once per location, each listing with that location alone.
fn listings(job: Value, details: bool, out: &mut Vec<Value>) {
    let Value::Object(mut job) = job else { return };
    if !details {
        job.remove("description");
    }
    let locations = match job.get("locations") {
        Some(Value::Array(locations)) if locations.len() > 1 => locations.clone(),
        _ => {
            out.push(Value::Object(job));
            return;
        }
    };
    for place in locations {
        let mut listing = job.clone();
        let field = |key: &str| place.get(key).cloned().unwrap_or(Value::Null);
        fill(&mut listing, [("country", field("country")), ("city", field("city")), ("state", field("region"))]);
        listing.insert("locations".to_owned(), Value::Array(vec![place]));
        out.push(Value::Object(listing));
    }
}

pub(crate) fn list(board: &Board, details: bool) -> Bytes {
    if details && let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone()) {
        return body;
    }
    let mut jobs = Vec::with_capacity(board.postings.len());
    for posting in &board.postings {
        listings(posting.value(), details, &mut jobs);
    }
    let mut answer = board.envelope.as_object().cloned().unwrap_or_default();
    answer.insert("jobs".to_owned(), Value::Array(jobs));
    Bytes::from(serde_json::to_vec(&answer).unwrap_or_default())
}
