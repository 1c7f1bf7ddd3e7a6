//! Teamtailor's career-site feeds on the tenant's host: `GET /teamtailor/{slug}/jobs.json` (JSON Feed 1.1, each item
//! embedding a schema.org `JobPosting` under `_jobposting`) and `GET /teamtailor/{slug}/jobs.rss` (RSS 2.0 with the
//! `tt:` namespace for locations, department and role; HTML descriptions entity-escaped).
//!
//! A board serves the feeds it has: one loaded from the RSS fixture answers 404 on `jobs.json` (a client falls back
//! to the RSS feed), one loaded from the JSON fixture 404 on `jobs.rss`, a generated one both, with the same
//! postings (the JSON item's `id` is the RSS item's `guid`). A posting is kept as `{"json": item, "rss": item}`, the
//! RSS item as JSON: its elements by name without the `tt:` prefix, `locations` a list of `{name, address, zip,
//! city, country}`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{central_european, fill, scalar, template_at, url_slug, xml_root};
use crate::fixtures::{Loaded, Raw};
use crate::generate::Draw;
use crate::render::{Missing, View};
use crate::routes::{App, respond};
use crate::state::{Board, Posting};
use crate::text::{self, Place};
use crate::xml::{self, Element};

const SRC: &str = fixture!("teamtailor/careerkit_teamtailor_jobs_feed.json");

static ITEM: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(SRC, "/items/0"));

/// The RSS item's elements in the order Teamtailor writes them (`locations`, `department` and `role` are `tt:`).
const RSS_ORDER: &[&str] = &["title", "description", "pubDate", "link", "remoteStatus", "guid"];
const LOCATION_ORDER: &[&str] = &["name", "address", "zip", "city", "country"];

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/teamtailor/{token}/jobs.json", get(json_feed))
        .route("/teamtailor/{token}/jobs.rss", get(rss_feed))
}

async fn json_feed(State(app): State<App>, UrlPath(token): UrlPath<String>) -> Response {
    respond(&app, &token, View::Teamtailor { rss: false }).await
}

async fn rss_feed(State(app): State<App>, UrlPath(token): UrlPath<String>) -> Response {
    respond(&app, &token, View::Teamtailor { rss: true }).await
}

/// A generated board has both feeds.
pub(crate) fn envelope(token: &str) -> Value {
    let company = text::company_name(token);
    let home = format!("https://{token}.teamtailor.com/jobs");
    json!({
        "json": { "version": "https://jsonfeed.org/version/1.1", "title": company, "home_page_url": home, "feed_url": format!("{home}.json") },
        "rss": { "title": company, "description": "", "link": home },
    })
}

const STREETS: &[&str] = &["Östgötagatan", "Dronning Mauds gate", "Calle de Almagro", "Kungsgatan", "Main Street"];

/// A street address and postal code.
fn address(d: &mut Draw) -> (String, String) {
    let street = format!("{} {}", d.rng.pick(STREETS).unwrap_or("Main Street"), 1 + d.rng.below(90));
    (street, format!("{:04}", 1000 + d.rng.below(8999)))
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let number = 1_000_000 + d.rng.below(9_000_000);
    let url = format!("https://{}.teamtailor.com/jobs/{number}-{}", d.token, url_slug(&d.title));
    let (local, offset) = central_european(d.published);
    let date = format!("{local}{offset}");
    let html = d.description.html();
    let mut places = vec![d.place];
    places.extend(d.others.iter().copied());
    let addresses: Vec<(Place, String, String)> = places
        .into_iter()
        .map(|place| {
            let (street, zip) = address(&mut d);
            (place, street, zip)
        })
        .collect();

    let mut item = ITEM.clone();
    let mut posting = match item.remove("_jobposting") {
        Some(Value::Object(posting)) => posting,
        _ => Map::new(),
    };
    let job_locations: Vec<Value> = addresses
        .iter()
        .map(|(place, street, zip)| {
            json!({ "@type": "Place", "address": { "@type": "PostalAddress", "streetAddress": street, "addressLocality": place.city,
                    "postalCode": zip, "addressCountry": place.code, "addressRegion": place.region } })
        })
        .collect();
    fill(
        &mut posting,
        [
            ("title", json!(d.title)),
            ("identifier", json!({ "@type": "PropertyValue", "name": d.company, "value": number })),
            ("datePosted", json!(date)),
            ("jobLocation", json!(job_locations)),
        ],
    );
    fill(
        &mut item,
        [
            ("id", json!(id)),
            ("title", json!(d.title)),
            ("url", json!(url)),
            ("date_published", json!(date)),
            ("content_html", json!(html)),
            ("_jobposting", Value::Object(posting)),
        ],
    );

    let remote = match d.workplace.0 {
        "remote" => "fully",
        "hybrid" => "hybrid",
        _ => "none",
    };
    let locations: Vec<Value> = addresses
        .iter()
        .map(|(place, street, zip)| {
            json!({ "name": place.city, "address": street, "zip": zip, "city": place.city, "country": place.country })
        })
        .collect();
    let pub_date = chrono::DateTime::parse_from_rfc3339(&date)
        .map(|time| time.format("%a, %d %b %Y %H:%M:%S %z").to_string())
        .unwrap_or_default();
    let role = if d.rng.below(3) == 0 { String::new() } else { d.team.to_owned() };
    let rss = json!({
        "title": d.title, "description": html, "pubDate": pub_date, "link": url, "remoteStatus": remote, "guid": id,
        "locations": locations, "department": d.department, "role": role,
    });
    json!({ "json": item, "rss": rss })
}

/// The JSON feed (`.json`) or the RSS feed (`.rss`, or any body starting with `<`).
pub(crate) fn load(path: &Path, body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    let rss =
        path.extension().is_some_and(|ext| ext == "rss" || ext == "xml") || body.trim_ascii_start().starts_with(b"<");
    if rss {
        return load_rss(body, source);
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| anyhow::anyhow!("fixture `{source}` is not valid JSON: {e}"))?;
    let Value::Object(mut feed) = value else { bail!("fixture `{source}` is not a teamtailor feed: not an object") };
    let Some(Value::Array(items)) = feed.remove("items") else {
        bail!("fixture `{source}` is not a teamtailor JSON feed: no `items` array");
    };
    let mut postings = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Some(id) = scalar(item.get("id")) else { bail!("fixture `{source}`: item {index} has no `id`") };
        postings.push(Posting::new(id, &json!({ "json": item })));
    }
    Ok(Loaded { postings, raw: Raw::list(body), source, envelope: json!({ "json": feed }) })
}

fn load_rss(body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    let root = xml_root(&body, &source)?;
    let Some(channel) = root.child("channel").filter(|_| root.name == "rss") else {
        bail!("fixture `{source}` is not an RSS feed: no <rss><channel>");
    };
    let text = |name: &str| channel.child(name).map(Element::text).unwrap_or_default();
    let envelope =
        json!({ "rss": { "title": text("title"), "description": text("description"), "link": text("link") } });
    let mut postings = Vec::new();
    for (index, element) in channel.elements().filter(|element| element.name == "item").enumerate() {
        let item = rss_item(element);
        let Some(guid) = scalar(item.get("guid")) else { bail!("fixture `{source}`: item {index} has no <guid>") };
        postings.push(Posting::new(guid, &json!({ "rss": item })));
    }
    Ok(Loaded { postings, raw: Raw::list(body), source, envelope })
}

/// An RSS `<item>` as JSON.
fn rss_item(element: &Element) -> Map<String, Value> {
    let mut item = Map::new();
    for child in element.elements() {
        let name = child.name.strip_prefix("tt:").unwrap_or(&child.name).to_owned();
        let value = if name == "locations" {
            let locations = child.elements().map(|location| {
                let fields: Map<String, Value> = location
                    .elements()
                    .map(|field| {
                        (field.name.strip_prefix("tt:").unwrap_or(&field.name).to_owned(), json!(field.text()))
                    })
                    .collect();
                Value::Object(fields)
            });
            Value::Array(locations.collect())
        } else {
            json!(child.text())
        };
        item.insert(name, value);
    }
    item
}

fn element(out: &mut String, indent: &str, name: &str, text: &str) {
    if text.is_empty() {
        let _ = writeln!(out, "{indent}<{name}/>");
    } else {
        let _ = writeln!(out, "{indent}<{name}>{}</{name}>", xml::escape(text));
    }
}

fn write_item(out: &mut String, item: &Map<String, Value>) {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    out.push_str("    <item>\n");
    for key in RSS_ORDER {
        if item.contains_key(*key) {
            element(out, "      ", key, text(key));
        }
    }
    if let Some(Value::Array(locations)) = item.get("locations") {
        out.push_str("      <tt:locations>\n");
        for location in locations {
            out.push_str("        <tt:location>\n");
            for key in LOCATION_ORDER {
                if let Some(value) = location.get(*key).and_then(Value::as_str) {
                    element(out, "          ", &format!("tt:{key}"), value);
                }
            }
            out.push_str("        </tt:location>\n");
        }
        out.push_str("      </tt:locations>\n");
    }
    for key in ["department", "role"] {
        if item.contains_key(key) {
            element(out, "      ", &format!("tt:{key}"), text(key));
        }
    }
    out.push_str("    </item>\n");
}

fn rss(board: &Board, channel: &Value) -> String {
    let text = |key: &str| channel.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:tt=\"https://teamtailor.com/locations\">\n  <channel>\n",
    );
    for key in ["title", "description", "link"] {
        element(&mut out, "    ", key, text(key));
    }
    for posting in &board.postings {
        if let Some(Value::Object(item)) = posting.value().get("rss") {
            write_item(&mut out, item);
        }
    }
    out.push_str("  </channel>\n</rss>\n");
    out
}

pub(crate) fn feed(board: &Board, want_rss: bool) -> Result<Bytes, Missing> {
    let part = if want_rss { "rss" } else { "json" };
    let Some(envelope) = board.envelope.get(part) else { return Err(Missing::Board) };
    // A fixture board has the one feed its file is.
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone()) {
        return Ok(body);
    }
    if want_rss {
        return Ok(Bytes::from(rss(board, envelope)));
    }
    let items: Vec<Value> =
        board.postings.iter().filter_map(|posting| posting.value().get_mut("json").map(Value::take)).collect();
    let mut feed = envelope.as_object().cloned().unwrap_or_default();
    feed.insert("items".to_owned(), Value::Array(items));
    Ok(Bytes::from(serde_json::to_vec(&feed).unwrap_or_default()))
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_rss_item_reads_back_as_written() {
        let src = fixture!("teamtailor/jobba_ferd_jobs.rss");
        let root = xml::parse(src).unwrap();
        let items: Vec<Map<String, Value>> =
            root.child("channel").unwrap().elements().filter(|e| e.name == "item").map(rss_item).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["locations"][0]["zip"], "0250");
        assert_eq!(items[1]["role"], "");
        assert!(items[0]["description"].as_str().unwrap().starts_with("<p><span>Ferd"));
        let mut out = String::new();
        write_item(&mut out, &items[0]);
        assert_eq!(rss_item(&xml::parse(&out).unwrap()), items[0]);
    }
}
