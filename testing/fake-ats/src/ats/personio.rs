//! Personio's XML feed on the tenant's host: `GET /personio/{slug}/xml` answers `<workzag-jobs>` with a `<position>`
//! per posting, descriptions as `<jobDescriptions><jobDescription><name>…</name><value><![CDATA[…]]></value>`.
//! As real feeds: some positions have empty `jobDescriptions`, and an id may be listed twice. A tenant whose feed is
//! disabled (and an unknown one) answers 404 with an HTML page, not XML.
//!
//! A position is kept as JSON: its elements by name (`additionalOffices` a list of offices, `jobDescriptions` a list
//! of `{name, value}`), and `_listed`, how many times the feed lists it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{fill, xml_root};
use crate::fixtures::{Loaded, Raw};
use crate::generate::{Draw, utc};
use crate::render::View;
use crate::routes::{App, respond};
use crate::state::{Board, Posting};
use crate::text;
use crate::xml::{self, Element};

const SRC: &str = fixture!("personio/clearfetch_personio_feed_one_position.xml");

static POSITION: LazyLock<Map<String, Value>> =
    LazyLock::new(|| xml::parse(SRC).ok().and_then(|root| root.child("position").map(position)).unwrap_or_default());

/// The elements of a position in the order Personio writes them; others follow.
const ORDER: &[&str] = &[
    "id",
    "subcompany",
    "office",
    "additionalOffices",
    "department",
    "recruitingCategory",
    "name",
    "jobDescriptions",
    "employmentType",
    "seniority",
    "schedule",
    "yearsOfExperience",
    "keywords",
    "occupation",
    "occupationCategory",
    "createdAt",
];

/// How many times the feed lists a position.
const LISTED: &str = "_listed";

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/personio/{token}/xml", get(feed))
}

async fn feed(State(app): State<App>, Path(token): Path<String>) -> Response {
    respond(&app, &token, View::Personio).await
}

/// What Personio's job site answers for a feed that is switched off: its HTML "page not found".
pub(crate) fn disabled_page() -> String {
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Page not found</title>\n</head>\n\
     <body>\n<h1>Page not found</h1>\n<p>The page you are looking for does not exist or is no longer available.</p>\n\
     </body>\n</html>\n"
        .to_owned()
}

/// A `<position>` element as JSON.
fn position(element: &Element) -> Map<String, Value> {
    let mut map = Map::new();
    for child in element.elements() {
        let value = match child.name.as_str() {
            "additionalOffices" => json!(child.elements().map(Element::text).collect::<Vec<_>>()),
            "jobDescriptions" => json!(
                child
                    .elements()
                    .map(|block| {
                        let part = |name: &str| block.child(name).map(Element::text).unwrap_or_default();
                        json!({ "name": part("name"), "value": part("value") })
                    })
                    .collect::<Vec<_>>()
            ),
            _ => json!(child.text()),
        };
        map.insert(child.name.clone(), value);
    }
    map
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let mut position = POSITION.clone();
    let desc = &d.description;
    let blocks = if d.index % 7 == 3 {
        json!([])
    } else {
        json!([
            { "name": format!("Your mission at {}", d.company), "value": format!("{}<br><br>{}", text::escape_html(&desc.intro), text::escape_html(&desc.role)) },
            { "name": "Your tasks", "value": format!("<ul>{}</ul>", desc.duties_html()) },
            { "name": "Your profile", "value": format!("<ul>{}</ul>", desc.needs_html()) },
            { "name": "Why us?", "value": text::escape_html(&desc.benefits) },
        ])
    };
    let employment = ["permanent", "permanent", "permanent", "intern", "trainee", "freelance"];
    let seniority = ["entry-level", "experienced", "experienced", "executive", "student"];
    let years = ["lt-1", "1-2", "2-5", "5-7", "7-10", "more-than-10"];
    let others: Vec<&str> = d.others.iter().map(|place| place.city).collect();
    fill(
        &mut position,
        [
            ("id", json!(id)),
            ("subcompany", json!(format!("{} GmbH", d.company))),
            ("office", json!(d.place.city)),
            ("additionalOffices", json!(others)),
            ("department", json!(d.department)),
            ("recruitingCategory", json!(d.team)),
            ("name", json!(d.title)),
            ("jobDescriptions", blocks),
            ("employmentType", json!(d.rng.pick(&employment).unwrap_or_default())),
            ("seniority", json!(d.rng.pick(&seniority).unwrap_or_default())),
            ("schedule", json!(if d.rng.below(6) == 0 { "part-time" } else { "full-time" })),
            ("yearsOfExperience", json!(d.rng.pick(&years).unwrap_or_default())),
            ("createdAt", json!(utc(d.published, "%Y-%m-%dT%H:%M:%S+00:00"))),
        ],
    );
    if others.is_empty() {
        position.remove("additionalOffices");
    }
    // Real feeds repeat ids: one position in ten is listed twice.
    if d.index % 10 == 9 {
        position.insert(LISTED.to_owned(), json!(2));
    }
    Value::Object(position)
}

/// A feed; a position listed again under its id counts as listed twice (its first listing is kept).
pub(crate) fn load(body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    let root = xml_root(&body, &source)?;
    if root.name != "workzag-jobs" {
        bail!("fixture `{source}` is not a personio feed: its root is <{}>, not <workzag-jobs>", root.name);
    }
    let mut postings: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (index, element) in root.elements().filter(|element| element.name == "position").enumerate() {
        let item = position(element);
        let Some(id) = item.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_owned) else {
            bail!("fixture `{source}`: position {index} has no <id>");
        };
        match at.get(&id).and_then(|&index| postings.get_mut(index)) {
            Some((_, first)) => {
                let listed = first.get(LISTED).and_then(Value::as_u64).unwrap_or(1);
                first.insert(LISTED.to_owned(), json!(listed + 1));
            }
            None => {
                at.insert(id.clone(), postings.len());
                postings.push((id, item));
            }
        }
    }
    let postings = postings.into_iter().map(|(id, item)| Posting::new(id, &Value::Object(item))).collect();
    Ok(Loaded { postings, raw: Raw::list(body), source, envelope: Value::Null })
}

fn write_position(out: &mut String, position: &Map<String, Value>) {
    out.push_str("<position>\n");
    let rest = position.keys().filter(|key| !ORDER.contains(&key.as_str()) && !key.starts_with('_'));
    let keys: Vec<&str> = ORDER.iter().copied().chain(rest.map(String::as_str)).collect();
    for key in keys {
        match position.get(key) {
            Some(Value::Array(items)) if key == "jobDescriptions" => {
                if items.is_empty() {
                    out.push_str("    <jobDescriptions></jobDescriptions>\n");
                    continue;
                }
                out.push_str("    <jobDescriptions>\n");
                for block in items {
                    let part = |name: &str| block.get(name).and_then(Value::as_str).unwrap_or_default();
                    let _ = write!(
                        out,
                        "        <jobDescription>\n            <name>{}</name>\n            <value>\n                {}\n            </value>\n        </jobDescription>\n",
                        xml::escape_quotes(part("name")),
                        xml::cdata(part("value"))
                    );
                }
                out.push_str("    </jobDescriptions>\n");
            }
            Some(Value::Array(offices)) => {
                let _ = writeln!(out, "    <{key}>");
                for office in offices {
                    let _ = writeln!(
                        out,
                        "        <office>{}</office>",
                        xml::escape_quotes(office.as_str().unwrap_or_default())
                    );
                }
                let _ = writeln!(out, "    </{key}>");
            }
            Some(Value::String(text)) => {
                let _ = writeln!(out, "    <{key}>{}</{key}>", xml::escape_quotes(text));
            }
            Some(other) if !other.is_null() => {
                let _ = writeln!(out, "    <{key}>{}</{key}>", xml::escape_quotes(&other.to_string()));
            }
            _ => {}
        }
    }
    out.push_str("</position>\n");
}

pub(crate) fn list(board: &Board) -> Bytes {
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone()) {
        return body;
    }
    let size: usize = board.postings.iter().map(|posting| posting.json.len() + 200).sum();
    let mut out = String::with_capacity(size + 64);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<workzag-jobs>\n");
    for posting in &board.postings {
        let Value::Object(position) = posting.value() else { continue };
        let listed = position.get(LISTED).and_then(Value::as_u64).unwrap_or(1);
        for _ in 0..listed {
            write_position(&mut out, &position);
        }
    }
    out.push_str("</workzag-jobs>\n");
    Bytes::from(out)
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_the_fixture_position() {
        assert_eq!(POSITION["id"], "1834171");
        assert_eq!(POSITION["additionalOffices"], json!(["Berlin"]));
        let blocks = POSITION["jobDescriptions"].as_array().unwrap();
        assert_eq!(blocks.len(), 4);
        assert!(blocks[0]["name"].as_str().unwrap().contains("you'll"), "{}", blocks[0]["name"]);
        assert!(blocks[0]["value"].as_str().unwrap().starts_with("<strong>"));
    }

    #[test]
    fn a_written_position_reads_back_the_same() {
        let mut item = POSITION.clone();
        item.insert("name".into(), json!("R&D \"lead\" ]]> <x>"));
        let mut out = String::new();
        write_position(&mut out, &item);
        let read = position(&xml::parse(&out).unwrap());
        assert_eq!(read, item);
    }
}
