//! Lever Postings API: `GET /v0/postings/{token}?mode=json` (a bare array) and `GET /v0/postings/{token}/{id}`.

use serde_json::Value;

use crate::html::{html_text, tidy_plain};
use crate::listing::{id_string, listed, text};
use crate::normalized::{Pay, join_nonempty, merged, number, parse_epoch_ms, pay_interval, remote_from_workplace};
use crate::stream::{Items, Shape};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

const WHAT: &str = "lever board listing";

/// A listing is a bare array of postings.
pub(crate) const SHAPE: Shape = Shape { what: WHAT, items: Items::Bare };

/// One posting of the array.
pub(crate) fn item(index: usize, item: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title, url) = (id_string(item.get("id")), text(item.get("text")), text(item.get("hostedUrl")));
    listed(WHAT, index, item, id, title, url).map(Some)
}

/// Normalises a posting (a detail response, when given, is laid over it).
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let item = merged(raw, detail);
    let title = text(item.get("text")).ok_or_else(|| ExtractError::malformed("lever posting", "has no title"))?;
    let categories = item.get("categories");
    let category = |name: &str| text(categories.and_then(|c| c.get(name)));
    let pay = salary_range(&item);
    Ok(NormalizedPosting {
        title,
        url: text(item.get("hostedUrl")),
        location: all_locations(&item).or_else(|| category("location")),
        remote: remote_from_workplace(item.get("workplaceType").and_then(Value::as_str)),
        department: category("department").or_else(|| category("team")),
        employment_type: category("commitment"),
        compensation: pay
            .as_ref()
            .and_then(Pay::text)
            .or_else(|| plain_or_html(&item, "salaryDescriptionPlain", "salaryDescription")),
        pay,
        description: description(&item),
        posted_at: parse_epoch_ms(item.get("createdAt")),
        updated_at: parse_epoch_ms(item.get("updatedAt")),
    })
}

/// `categories.allLocations` joined with ` | ` when it names more than one place.
fn all_locations(item: &Value) -> Option<String> {
    let all = item.pointer("/categories/allLocations")?.as_array()?;
    if all.len() < 2 {
        return None;
    }
    join_nonempty(all.iter().filter_map(|l| text(Some(l))), " | ")
}

/// `salaryRange {min, max, currency, interval}`.
fn salary_range(item: &Value) -> Option<Pay> {
    let range = item.get("salaryRange")?;
    let interval = range.get("interval").and_then(Value::as_str).and_then(pay_interval);
    Pay::of(number(range.get("min")), number(range.get("max")), range.get("currency").and_then(Value::as_str), interval)
}

/// The plain-text field, tidied, or the HTML field as text.
fn plain_or_html(item: &Value, plain: &str, html: &str) -> Option<String> {
    item.get(plain)
        .and_then(Value::as_str)
        .and_then(tidy_plain)
        .or_else(|| item.get(html).and_then(Value::as_str).and_then(html_text))
}

/// `descriptionPlain`, then each of `lists` (its `text` heading and its HTML `content`), then `additionalPlain`.
fn description(item: &Value) -> Option<String> {
    let mut parts = Vec::new();
    parts.extend(plain_or_html(item, "descriptionPlain", "description"));
    for list in item.get("lists").and_then(Value::as_array).into_iter().flatten() {
        parts.extend(list.get("text").and_then(Value::as_str).and_then(tidy_plain));
        parts.extend(list.get("content").and_then(Value::as_str).and_then(html_text));
    }
    parts.extend(plain_or_html(item, "additionalPlain", "additional"));
    join_nonempty(parts, "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn description_joins_plain_lists_and_additional() -> Result<(), ExtractError> {
        let raw = json!({"id": "x", "text": "Engineer", "descriptionPlain": "Intro\u{a0}text\n\u{a0}\n",
            "lists": [{"text": "Responsibilities ", "content": "<li>Build</li><li>Ship &amp; run</li>"}, {"text": null}],
            "additionalPlain": "Benefits", "workplaceType": "on-site", "categories": {"team": "Core"}});
        let n = normalize(&raw, None)?;
        assert_eq!(n.description.as_deref(), Some("Intro text\nResponsibilities\n- Build\n- Ship & run\nBenefits"));
        assert_eq!(n.remote, Some(false));
        assert_eq!(n.department.as_deref(), Some("Core"));
        assert_eq!(n.compensation, None);
        assert_eq!(n.posted_at, None);
        Ok(())
    }

    #[test]
    fn html_fields_are_used_without_plain_ones() -> Result<(), ExtractError> {
        let raw = json!({"id": "x", "text": "E", "description": "<p>Hello&nbsp;there</p>",
            "salaryDescription": "<div>$1/year</div>", "workplaceType": "unspecified"});
        let n = normalize(&raw, None)?;
        assert_eq!(n.description.as_deref(), Some("Hello there"));
        assert_eq!(n.compensation.as_deref(), Some("$1/year"));
        assert_eq!(n.remote, None);
        Ok(())
    }

    #[test]
    fn listing_must_be_an_array() {
        let err = |body: &str| {
            crate::parse_listing(crate::BoardKind::Lever, body.as_bytes())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(err(r#"{"ok": false, "error": "Document not found"}"#), "lever board listing is not a JSON array");
        assert_eq!(err(r#"[{"id": "a"}]"#), "lever board listing item 0 has no title");
        assert!(crate::parse_listing(crate::BoardKind::Lever, b"[]").is_ok_and(|l| l.postings.is_empty()));
    }
}
