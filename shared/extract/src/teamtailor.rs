//! Teamtailor career sites: `GET {site}/jobs.json`, a JSON Feed whose items embed a schema.org `JobPosting` under
//! `_jobposting`; where a site has no JSON feed, `GET {site}/jobs.rss`, RSS 2.0 with Teamtailor's `tt:` elements
//! (locations, department, role). Descriptions are inline in both.

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, parse_json, text};
use crate::normalized::{join_nonempty, merged, parse_date};
use crate::xml::many;
use crate::{ExtractError, ListedPosting, NormalizedPosting};

pub(crate) const FEED: &str = "teamtailor job feed";
const RSS: &str = "teamtailor RSS feed";

/// The items of either feed: the RSS feed (a body starting with `<`) read into JSON, see [`crate::xml`].
pub(crate) fn answer_items(body: &[u8]) -> Result<Vec<Value>, ExtractError> {
    if body.trim_ascii_start().starts_with(b"<") {
        if crate::xml::is_web_page(body) {
            return Err(ExtractError::malformed("teamtailor feed", "is a web page, not a JSON or RSS feed"));
        }
        return crate::xml::items(RSS, body, "rss", Some("channel"), "item");
    }
    let Value::Object(mut feed) = parse_json(FEED, body)? else {
        return Err(ExtractError::malformed(FEED, "is not a JSON object"));
    };
    match feed.remove("items") {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(ExtractError::malformed(FEED, "has no \"items\" array")),
    }
}

/// One item: the JSON feed's `id`, the RSS feed's `guid`.
pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let id = id_string(job.get("id")).or_else(|| text(job.get("guid")));
    let url = text(job.get("url")).or_else(|| text(job.get("link")));
    let title = text(job.get("title"));
    listed(FEED, index, job, id, title, url).map(Some)
}

/// Normalises an item: a JSON feed item through its `JobPosting` (as a careers page's), the feed's own title, URL,
/// date and `content_html` winning; an RSS item from its elements.
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = text(job.get("title")).ok_or_else(|| ExtractError::malformed("teamtailor job", "has no title"))?;
    let html = |key: &str| job.get(key).and_then(Value::as_str).and_then(html_text);
    if let Some(posting) = job.get("_jobposting").filter(|p| p.is_object()) {
        let mut posting = posting.clone();
        if let Value::Object(fields) = &mut posting {
            fields.entry("title").or_insert_with(|| Value::String(title.clone()));
        }
        let from_ld = crate::jsonld::normalize(&posting, None)?;
        return Ok(NormalizedPosting {
            title,
            url: text(job.get("url")).or(from_ld.url),
            description: html("content_html").or(from_ld.description),
            posted_at: parse_date(job.get("date_published")).or(from_ld.posted_at),
            updated_at: parse_date(job.get("date_modified")).or(from_ld.updated_at),
            ..from_ld
        });
    }
    Ok(NormalizedPosting {
        title,
        url: text(job.get("link")).or_else(|| text(job.get("url"))),
        location: rss_locations(&job),
        remote: job.get("remoteStatus").and_then(Value::as_str).and_then(remote_status),
        department: text(job.get("department")),
        employment_type: None,
        compensation: None,
        pay: None,
        description: html("description"),
        posted_at: parse_date(job.get("pubDate")),
        updated_at: None,
    })
}

/// Each `tt:location`'s name, else its city and country; joined with ` | `.
fn rss_locations(job: &Value) -> Option<String> {
    let places = job.get("locations").map(|l| many(l.get("location"))).unwrap_or_default();
    let each = places.into_iter().filter_map(|place| {
        text(place.get("name"))
            .or_else(|| join_nonempty(["city", "country"].iter().filter_map(|k| text(place.get(*k))), ", "))
    });
    join_nonempty(each, " | ")
}

/// Teamtailor's `remoteStatus`: `fully` remote, `none` or `hybrid` not; `temporary` (remote for now) says neither.
fn remote_status(status: &str) -> Option<bool> {
    match status.trim() {
        "fully" => Some(true),
        "none" | "hybrid" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_status_words() -> Result<(), ExtractError> {
        let with = |status: &str| normalize(&json!({"title": "a", "guid": "g", "remoteStatus": status}), None);
        assert_eq!(with("fully")?.remote, Some(true));
        assert_eq!(with("hybrid")?.remote, Some(false));
        assert_eq!(with("temporary")?.remote, None);
        Ok(())
    }

    #[test]
    fn a_feed_of_another_shape_is_named() {
        let err = |body: &[u8]| answer_items(body).err().map(|e| e.to_string());
        assert_eq!(err(b"{\"version\": 1}").as_deref(), Some("teamtailor job feed has no \"items\" array"));
        assert_eq!(err(b"<html></html>").as_deref(), Some("teamtailor feed is a web page, not a JSON or RSS feed"));
        assert_eq!(err(b"<feed></feed>").as_deref(), Some("teamtailor RSS feed has a <feed> document, not <rss>"));
    }
}
