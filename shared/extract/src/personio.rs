//! Personio's XML feed: `GET {slug}.jobs.personio.de/xml` (or `.com`, or the company's own domain) answers
//! `<workzag-jobs>` with a `<position>` per job, its description in `<jobDescriptions>` (CDATA HTML). A tenant can
//! switch the feed off; it then answers a web page, not the feed.

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, text};
use crate::normalized::{join_nonempty, merged, parse_date};
use crate::xml::many;
use crate::{ExtractError, ListedPosting, NormalizedPosting};

pub(crate) const WHAT: &str = "personio XML feed";

/// The feed's positions as JSON (see [`crate::xml`]); a web page instead of the feed says the feed is off.
pub(crate) fn answer_items(body: &[u8]) -> Result<Vec<Value>, ExtractError> {
    if crate::xml::is_web_page(body) {
        return Err(ExtractError::malformed(
            WHAT,
            "is a web page, not the feed: the company may have switched its XML feed off (Personio lets it)",
        ));
    }
    crate::xml::items(WHAT, body, "workzag-jobs", None, "position")
}

pub(crate) fn item(index: usize, position: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title) = (id_string(position.get("id")), text(position.get("name")));
    listed(WHAT, index, position, id, title, None).map(Some)
}

pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let position = merged(raw, detail);
    let title =
        text(position.get("name")).ok_or_else(|| ExtractError::malformed("personio position", "has no name"))?;
    let offices = text(position.get("office")).into_iter().chain(
        position
            .get("additionalOffices")
            .map(|o| many(o.get("office")))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| text(Some(o))),
    );
    let kind = ["employmentType", "schedule"].iter().filter_map(|k| text(position.get(*k)));
    Ok(NormalizedPosting {
        title,
        url: None,
        location: join_nonempty(offices, " | "),
        remote: None,
        department: text(position.get("department")),
        employment_type: join_nonempty(kind, ", "),
        compensation: None,
        pay: None,
        description: description(&position),
        posted_at: parse_date(position.get("createdAt")),
        updated_at: None,
    })
}

/// Each `jobDescription`'s value under its name.
fn description(position: &Value) -> Option<String> {
    let blocks = position.get("jobDescriptions").map(|d| many(d.get("jobDescription"))).unwrap_or_default();
    let mut html = String::new();
    for block in blocks {
        let Some(value) = text(block.get("value")) else { continue };
        if let Some(name) = text(block.get("name")) {
            html.push_str(&format!("<h3>{}</h3>", html_escape::encode_text(&name)));
        }
        html.push_str(&value);
    }
    html_text(&html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switched_off_feed_says_so() {
        let err = answer_items(b"<!DOCTYPE html><html><body>Not found</body></html>").err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.contains("switched its XML feed off")), "{err:?}");
        let err = answer_items(b"<workzag-jobs><position><id>1</id></position>").err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.starts_with("personio XML feed is not well-formed XML")), "{err:?}");
    }
}
