//! Workday's answers: a search's page with its facets, and a posting's detail.

use std::collections::HashMap;

use axum::body::Bytes;
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{CAP, FACETS, Search, date, posted_on, today};
use crate::render::{Missing, Projection};
use crate::state::{Board, Listed, Posting, Tag};

/// The list row as it is listed today, with its facets and title for searching.
fn listed(posting: &Posting, today: NaiveDate) -> Listed {
    let mut record = posting.value();
    let posted = record.get("posted").and_then(Value::as_str).and_then(date).unwrap_or(today);
    let mut tags = Vec::new();
    for (param, _) in FACETS {
        for value in record.pointer(&format!("/facets/{param}")).and_then(Value::as_array).into_iter().flatten() {
            let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            tags.push(Tag { param, id: field("id"), descriptor: field("descriptor") });
        }
    }
    let mut item = record.get_mut("list").map(Value::take).unwrap_or(Value::Null);
    if let Some(map) = item.as_object_mut() {
        map.insert("postedOn".to_owned(), json!(posted_on(posted, today)));
    }
    let title = item.get("title").and_then(Value::as_str).unwrap_or_default().to_lowercase();
    Listed { json: serde_json::to_string(&item).unwrap_or_default(), tags, title }
}

/// Whether a listed posting matches the search, leaving out the filter on `except` (for that facet's counts).
fn matches(item: &Listed, search: &Search, except: Option<&str>) -> bool {
    let facets = search
        .applied
        .iter()
        .filter(|(param, _)| Some(param.as_str()) != except)
        .all(|(param, ids)| item.tags.iter().any(|tag| tag.param == param && ids.contains(&tag.id)));
    facets && (search.text.is_empty() || item.title.contains(&search.text))
}

pub(crate) fn list(board: &mut Board, search: &Search) -> Result<Bytes, Missing> {
    let plain = search.offset == 0 && search.applied.is_empty() && search.text.is_empty();
    if plain
        && search.limit >= board.postings.len()
        && let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone())
    {
        return Ok(body);
    }
    let today = today();
    let day = i32::try_from((today - NaiveDate::default()).num_days()).unwrap_or_default();
    let items = board.listed(Projection::Workday { day }, |posting| listed(posting, today));
    let matching: Vec<&Listed> = items.iter().filter(|item| matches(item, search, None)).collect();
    let page: Vec<&str> =
        matching.iter().take(CAP).skip(search.offset).take(search.limit).map(|item| item.json.as_str()).collect();
    let first = search.offset == 0;
    let facets: Vec<Value> =
        if first { FACETS.iter().map(|facet| counts(items, search, *facet)).collect() } else { Vec::new() };
    let total = if first { matching.len().min(CAP) } else { 0 };
    let facets = serde_json::to_string(&facets).unwrap_or_default();
    Ok(Bytes::from(format!(
        "{{\"total\":{total},\"jobPostings\":[{}],\"facets\":{facets},\"userAuthenticated\":false}}",
        page.join(",")
    )))
}

/// One facet with the count of each value among the postings the search's other filters keep.
fn counts(items: &[Listed], search: &Search, (param, descriptor): (&'static str, &str)) -> Value {
    let mut counted: HashMap<&str, (&str, u64)> = HashMap::new();
    for item in items.iter().filter(|item| matches(item, search, Some(param))) {
        for tag in item.tags.iter().filter(|tag| tag.param == param) {
            counted.entry(tag.id.as_str()).or_insert((tag.descriptor.as_str(), 0)).1 += 1;
        }
    }
    let mut values: Vec<(&str, &str, u64)> = counted.into_iter().map(|(id, (name, count))| (id, name, count)).collect();
    values.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)));
    let values: Vec<Value> =
        values.into_iter().map(|(id, name, count)| json!({ "descriptor": name, "id": id, "count": count })).collect();
    json!({ "facetParameter": param, "descriptor": descriptor, "values": values })
}

pub(crate) fn detail(board: &Board, path: &str) -> Result<Bytes, Missing> {
    let posting = board.postings.iter().find(|posting| posting.id == path).ok_or(Missing::Posting)?;
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.details.get(path)) {
        return Ok(body.clone());
    }
    let mut record = posting.value();
    let posted = record.get("posted").and_then(Value::as_str).and_then(date).unwrap_or_else(today);
    let mut detail = record.get_mut("detail").map(Value::take).unwrap_or(Value::Null);
    if let Some(Value::Object(info)) = detail.get_mut("jobPostingInfo") {
        info.insert("postedOn".to_owned(), json!(posted_on(posted, today())));
    }
    Ok(Bytes::from(serde_json::to_vec(&detail).unwrap_or_default()))
}
