//! Workday fixture files: a list page, whose postings take their detail from a detail file beside it (else one
//! made from the template), or a single posting's detail.

use std::collections::HashMap;
use std::path::Path;

use anyhow::bail;
use axum::body::Bytes;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::{DETAIL, date, days_ago, facet_value, posted_on, today};
use crate::ats::{fill, hex_id, known_country, scalar, sibling_details};
use crate::fixtures::{Loaded, Raw};
use crate::state::Posting;
use crate::text;

/// A list fixture (`jobPostings`) or a single posting's detail (`jobPostingInfo`).
pub(crate) fn load(
    token: &str,
    path: &Path,
    object: Map<String, Value>,
    body: Vec<u8>,
    source: String,
) -> anyhow::Result<Loaded> {
    let (tenant, site) = token.split_once('.').unwrap_or((token, token));
    if object.contains_key("jobPostingInfo") {
        let detail = Value::Object(object);
        let Some(url) = detail.pointer("/jobPostingInfo/externalUrl").and_then(Value::as_str) else {
            bail!("fixture `{source}`: the detail has no `jobPostingInfo.externalUrl`");
        };
        let Some(at) = url.find("/job/") else { bail!("fixture `{source}`: `externalUrl` {url} has no /job/ path") };
        let path = url.get(at..).unwrap_or_default().to_owned();
        let info = &detail["jobPostingInfo"];
        let text = |key: &str| info.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let extra = info.get("additionalLocations").and_then(Value::as_array).map_or(0, Vec::len);
        let locations_text = if extra > 0 { format!("{} Locations", extra + 1) } else { text("location") };
        let list = json!({
            "title": text("title"), "externalPath": path, "locationsText": locations_text,
            "postedOn": text("postedOn"), "bulletFields": [text("jobReqId")],
        });
        let posted = date(&text("startDate")).unwrap_or_else(today);
        let location = text("location");
        let record = record(list, detail, &location, posted);
        let raw = Raw { details: HashMap::from([(path.clone(), Bytes::from(body))]), ..Raw::default() };
        return Ok(Loaded { postings: vec![Posting::new(path, &record)], raw, source, envelope: Value::Null });
    }
    let Some(Value::Array(items)) = object.get("jobPostings") else {
        bail!("fixture `{source}` is not a workday board: no `jobPostings` array nor `jobPostingInfo`");
    };
    let details = sibling_details(path);
    let mut raw = Raw::list(body);
    let mut postings = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(path) = scalar(item.get("externalPath")) else {
            bail!("fixture `{source}`: posting {index} has no `externalPath`");
        };
        let posted_text = item.get("postedOn").and_then(Value::as_str).unwrap_or_default();
        let posted = today() - chrono::Duration::days(days_ago(posted_text).unwrap_or(0));
        let recorded = details.iter().find(|(detail, _)| {
            detail
                .pointer("/jobPostingInfo/externalUrl")
                .and_then(Value::as_str)
                .is_some_and(|url| url.ends_with(&path))
        });
        let detail = match recorded {
            Some((detail, bytes)) => {
                raw.details.insert(path.clone(), bytes.clone());
                detail.clone()
            }
            None => made_detail(item, &path, tenant, site, posted),
        };
        let location =
            detail.pointer("/jobPostingInfo/location").and_then(Value::as_str).unwrap_or_default().to_owned();
        postings.push(Posting::new(path, &record(item.clone(), detail, &location, posted)));
    }
    Ok(Loaded { postings, raw, source, envelope: Value::Null })
}

/// A fixture posting's record; its only facet is its location (fixtures carry no job category).
fn record(list: Value, detail: Value, location: &str, posted: NaiveDate) -> Value {
    let locations: Vec<Value> = if location.is_empty() { Vec::new() } else { vec![facet_value("locations", location)] };
    json!({ "list": list, "detail": detail, "facets": { "locations": locations }, "posted": posted.format("%Y-%m-%d").to_string() })
}

/// A detail for a listed fixture posting that has none recorded, from the detail template.
fn made_detail(item: &Value, path: &str, tenant: &str, site: &str, posted: NaiveDate) -> Value {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let title = text("title");
    let listed = text("locationsText");
    let location = if listed.ends_with(" Locations") || listed.is_empty() {
        path.split('/').nth(2).unwrap_or_default().replace('-', " ")
    } else {
        listed
    };
    let req_id = item
        .pointer("/bulletFields/0")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| path.rsplit_once('_').map(|(_, req)| req.to_owned()).unwrap_or_default());
    let company = text::company_name(tenant);
    let description = crate::ats::description_for(path, &company, &title, &location);
    let country_name = location.split(',').next().unwrap_or_default().trim().to_owned();
    let known = known_country(&country_name);
    let country_id = hex_id(&["country", known.map_or(country_name.as_str(), |place| place.code)]);
    let mut country =
        json!({ "descriptor": known.map_or(country_name.as_str(), |place| place.country), "id": country_id });
    let mut detail = DETAIL.clone();
    let mut info = match detail.remove("jobPostingInfo") {
        Some(Value::Object(info)) => info,
        _ => Map::new(),
    };
    let mut requisition_country = country.clone();
    if let (Some(place), Some(object)) = (known, requisition_country.as_object_mut()) {
        object.insert("alpha2Code".to_owned(), json!(place.code));
    }
    fill(
        &mut info,
        [
            ("id", json!(hex_id(&["workday", path]))),
            ("title", json!(title)),
            ("jobDescription", json!(description.html())),
            ("location", json!(location)),
            ("postedOn", json!(posted_on(posted, today()))),
            ("startDate", json!(posted.format("%Y-%m-%d").to_string())),
            ("jobReqId", json!(req_id)),
            ("jobPostingId", json!(path.rsplit('/').next().unwrap_or_default())),
            ("jobPostingSiteId", json!(site)),
            ("country", country.take()),
            ("jobRequisitionLocation", json!({ "descriptor": location, "country": requisition_country })),
            ("externalUrl", json!(format!("https://{tenant}.wd5.myworkdayjobs.com/{site}{path}"))),
        ],
    );
    detail.insert("jobPostingInfo".to_owned(), Value::Object(info));
    detail.insert("hiringOrganization".to_owned(), json!({ "name": company, "url": "" }));
    Value::Object(detail)
}
