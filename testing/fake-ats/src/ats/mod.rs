//! The boards beyond Greenhouse, Lever, Ashby and careers pages, one module each: the generated posting's shape
//! (a filled-in clone of a real fixture item), loading the kind's fixture files, its answers and its routes.
//!
//! Paths, relative to the fake's base URL:
//! - Workday: `POST /workday/{tenant}/wday/cxs/{tenant}/{site}/jobs`, `GET …/{site}{externalPath}`
//! - Workable: `GET /api/v1/widget/accounts/{slug}[?details=true]`
//! - SmartRecruiters: `GET /v1/companies/{id}/postings[?limit=&offset=]`, `GET …/postings/{postingId}`
//! - Teamtailor: `GET /teamtailor/{slug}/jobs.json`, `GET /teamtailor/{slug}/jobs.rss`
//! - Recruitee: `GET /recruitee/{slug}/api/offers/`
//! - Personio: `GET /personio/{slug}/xml`
//! - BambooHR: `GET /bamboohr/{tenant}/careers/list`, `GET /bamboohr/{tenant}/careers/{id}/detail`
//!
//! Postings whose list row and detail differ are kept as one record `{"list": …, "detail": …}` (Workday adds its
//! facets and posting date); Teamtailor's as `{"json": …, "rss": …}`, either feed's item where the board has it.

pub(crate) mod bamboohr;
pub(crate) mod personio;
pub(crate) mod recruitee;
pub(crate) mod smartrecruiters;
pub(crate) mod teamtailor;
pub(crate) mod workable;
pub(crate) mod workday;

use std::path::Path;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::fixtures::Loaded;
use crate::generate::Draw;
use crate::render::{Missing, View};
use crate::routes::App;
use crate::state::Board;
use crate::text::{self, Description, Place, Rng};
use crate::{Kind, xml};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .merge(workday::routes())
        .merge(workable::routes())
        .merge(smartrecruiters::routes())
        .merge(teamtailor::routes())
        .merge(recruitee::routes())
        .merge(personio::routes())
        .merge(bamboohr::routes())
}

/// A generated posting's external id.
pub(crate) fn id(kind: Kind, bytes: &[u8; 32], draw: &Draw) -> String {
    let number = |low: u64, span: u64| low + text::u64_at(bytes, 16) % span;
    match kind {
        Kind::Workday => {
            workday::external_path(&draw.title, &workday::place_text(&draw.place), number(1_000_000, 9_000_000))
        }
        Kind::Workable => hex(bytes, 10).to_uppercase(),
        Kind::Smartrecruiters => format!("744{:012}", number(0, 1_000_000_000_000)),
        Kind::Recruitee | Kind::Personio => number(1_000_000, 9_000_000).to_string(),
        Kind::Bamboohr => number(10, 9_999_990).to_string(),
        _ => text::uuid(bytes),
    }
}

pub(crate) fn generate(kind: Kind, draw: Draw, id: &str) -> Value {
    match kind {
        Kind::Workday => workday::generate(draw, id),
        Kind::Workable => workable::generate(draw, id),
        Kind::Smartrecruiters => smartrecruiters::generate(draw, id),
        Kind::Teamtailor => teamtailor::generate(draw, id),
        Kind::Recruitee => recruitee::generate(draw, id),
        Kind::Personio => personio::generate(draw, id),
        Kind::Bamboohr => bamboohr::generate(draw, id),
        _ => Value::Null,
    }
}

/// A generated board's envelope (see [`crate::state::Board::envelope`]).
pub(crate) fn envelope(kind: Kind, token: &str, seed: u64) -> Value {
    match kind {
        Kind::Workable => workable::envelope(token),
        Kind::Teamtailor => teamtailor::envelope(token),
        Kind::Bamboohr => bamboohr::envelope(seed),
        _ => Value::Null,
    }
}

/// A fixture file of one of these kinds (read from `path`; `source` is the name it was asked by).
pub(crate) fn load(kind: Kind, token: &str, path: &Path, body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    match kind {
        Kind::Teamtailor => return teamtailor::load(path, body, source),
        Kind::Personio => return personio::load(body, source),
        _ => {}
    }
    let value: Value =
        serde_json::from_slice(&body).with_context(|| format!("fixture `{source}` is not valid JSON"))?;
    let Value::Object(object) = value else {
        bail!("fixture `{source}` is not a {kind} board: the body is not an object")
    };
    match kind {
        Kind::Workday => workday::load(token, path, object, body, source),
        Kind::Workable => workable::load(object, body, source),
        Kind::Smartrecruiters => smartrecruiters::load(token, path, object, body, source),
        Kind::Recruitee => recruitee::load(object, body, source),
        Kind::Bamboohr => bamboohr::load(token, path, object, body, source),
        _ => bail!("fixture `{source}`: {kind} boards are not loaded here"),
    }
}

pub(crate) fn body(board: &mut Board, view: &View) -> Result<Bytes, Missing> {
    match view {
        View::WorkdayList(search) => workday::list(board, search),
        View::WorkdayJob { path } => workday::detail(board, path),
        View::Workable { details } => Ok(workable::list(board, *details)),
        View::SmartrecruitersList { offset, limit } => Ok(smartrecruiters::list(board, *offset, *limit)),
        View::SmartrecruitersJob { id } => smartrecruiters::detail(board, id),
        View::Teamtailor { rss } => teamtailor::feed(board, *rss),
        View::Recruitee => Ok(recruitee::list(board)),
        View::Personio => Ok(personio::list(board)),
        View::BamboohrList => Ok(bamboohr::list(board)),
        View::BamboohrJob { id } => bamboohr::detail(board, id),
        _ => Err(Missing::Board),
    }
}

/// The first `len` hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8], len: usize) -> String {
    let digits: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    digits.chars().take(len).collect()
}

/// A 32-hex-digit id derived from `parts` (Workday's ids of facet values, countries, postings).
pub(crate) fn hex_id(parts: &[&str]) -> String {
    let bytes: Vec<&[u8]> = parts.iter().map(|part| part.as_bytes()).collect();
    hex(&text::digest(&bytes), 32)
}

/// A deterministic [`Rng`] for what a fixture item lacks and the fake fills in.
pub(crate) fn rng_for(id: &str) -> Rng {
    Rng::new(text::u64_at(&text::digest(&[b"fill", id.as_bytes()]), 0))
}

/// A description for a fixture item that has none (a list row without its detail).
pub(crate) fn description_for(id: &str, company: &str, title: &str, location: &str) -> Description {
    Description::new(&mut rng_for(id), company, title, location)
}

/// `senior-data-engineer`: lowercase ASCII words joined by hyphens, for URLs.
pub(crate) fn url_slug(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()).collect();
    words.join("-")
}

/// The object at `pointer` of a compiled-in fixture, as a template (empty if the fixture lost it).
pub(crate) fn template_at(src: &str, pointer: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(src).ok().and_then(|value| value.pointer(pointer).cloned()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Sets each `(key, value)` on `map`.
pub(crate) fn fill(map: &mut Map<String, Value>, fields: impl IntoIterator<Item = (&'static str, Value)>) {
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
}

/// The `*detail*.json` files beside a list fixture, parsed, with their bytes (unreadable ones are left out).
pub(crate) fn sibling_details(list: &Path) -> Vec<(Value, Bytes)> {
    let Some(dir) = list.parent() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            name.contains("detail") && name.ends_with(".json") && file.as_path() != list
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let body = std::fs::read(&file).ok()?;
            let value = serde_json::from_slice(&body).ok()?;
            Some((value, Bytes::from(body)))
        })
        .collect()
}

/// A string field of a fixture item, or a number written as one.
pub(crate) fn scalar(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    }
}

/// Local time in Central Europe (its offset by season) and that offset, for the feeds of boards there.
pub(crate) fn central_european(secs: i64) -> (String, &'static str) {
    use chrono::Datelike as _;
    let day = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().ordinal();
    let hours = if (88..298).contains(&day) { 2 } else { 1 };
    let local = chrono::DateTime::from_timestamp(secs + hours * 3600, 0).unwrap_or_default().naive_utc();
    (local.format("%Y-%m-%dT%H:%M:%S").to_string(), if hours == 2 { "+02:00" } else { "+01:00" })
}

/// Another place than `place`, or none in a pool of one.
pub(crate) fn other_places(rng: &mut Rng, place: &Place, count: usize) -> Vec<Place> {
    rng.several(text::PLACES, count + 1).into_iter().filter(|other| other.city != place.city).take(count).collect()
}

/// Looks up a fixture's country by name or code among the places the fake knows.
pub(crate) fn known_country(name: &str) -> Option<&'static Place> {
    text::PLACES.iter().find(|place| place.country.eq_ignore_ascii_case(name) || place.code.eq_ignore_ascii_case(name))
}

/// The root element of an XML fixture.
pub(crate) fn xml_root(body: &[u8], source: &str) -> anyhow::Result<xml::Element> {
    let text = std::str::from_utf8(body).with_context(|| format!("fixture `{source}` is not UTF-8"))?;
    xml::parse(text).map_err(|error| anyhow::anyhow!("fixture `{source}` is not well-formed XML: {error}"))
}
