//! Greenhouse Job Board API: `GET /v1/boards/{token}/jobs?content=true&pay_transparency=true` and
//! `GET /v1/boards/{token}/jobs/{id}?pay_transparency=true` (`pay_transparency` adds each job's `pay_input_ranges`).

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, text};
use crate::normalized::{Pay, format_range, join_nonempty, merged, number, parse_date, remote_from_workplace};
use crate::stream::{Items, Shape};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

const WHAT: &str = "greenhouse board listing";

/// A listing is `{"jobs": [...], "meta": {...}}` (`meta` optional).
pub(crate) const SHAPE: Shape = Shape { what: WHAT, items: Items::Under("jobs") };

/// One item of the `jobs` array.
pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title, url) = (id_string(job.get("id")), text(job.get("title")), text(job.get("absolute_url")));
    listed(WHAT, index, job, id, title, url).map(Some)
}

/// A list item fetched without `?content=true` has no `content`; the detail endpoint has it.
pub(crate) fn needs_detail(raw: &Value) -> bool {
    raw.get("content").is_none_or(Value::is_null)
}

/// Normalises a job (list item, with the detail response laid over it when given).
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = text(job.get("title")).ok_or_else(|| ExtractError::malformed("greenhouse posting", "has no title"))?;
    let location = text(job.pointer("/location/name")).or_else(|| office_locations(&job));
    let remote = metadata_text(&job, &["workplace type", "workplace", "remote"])
        .and_then(|w| remote_from_workplace(Some(&w)))
        .or_else(|| location.as_deref().filter(|l| l.to_ascii_lowercase().contains("remote")).map(|_| true));
    Ok(NormalizedPosting {
        title,
        url: text(job.get("absolute_url")),
        location,
        remote,
        department: text(job.pointer("/departments/0/name")),
        employment_type: metadata_text(&job, &["employment type", "time type", "job type", "worker type"]),
        compensation: pay_ranges(&job),
        pay: pay(&job),
        description: job.get("content").and_then(Value::as_str).and_then(|c| html_text(&unescape_content(c))),
        posted_at: parse_date(job.get("first_published")),
        updated_at: parse_date(job.get("updated_at")),
    })
}

/// Greenhouse sends `content` as entity-escaped HTML (its documentation example is escaped twice): unescape while
/// no markup has appeared and unescaping changes something, at most three times.
pub(crate) fn unescape_content(content: &str) -> String {
    let mut html = content.to_owned();
    for _ in 0..3 {
        if html.contains('<') {
            break;
        }
        let decoded = html_escape::decode_html_entities(&html);
        if decoded == html {
            break;
        }
        html = decoded.into_owned();
    }
    html
}

/// The text of the first metadata entry whose name matches one of `names` (case-insensitive). `metadata` may be
/// null; values may be strings, string arrays (joined with ", "), booleans or null (ignored).
fn metadata_text(job: &Value, names: &[&str]) -> Option<String> {
    let entries = job.get("metadata")?.as_array()?;
    names.iter().find_map(|wanted| {
        entries
            .iter()
            .filter(|e| e.get("name").and_then(Value::as_str).is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted)))
            .find_map(|e| match e.get("value") {
                Some(Value::Array(values)) => join_nonempty(values.iter().filter_map(|v| text(Some(v))), ", "),
                other => text(other),
            })
    })
}

/// `offices[].location` (or `name`) joined with ` | `, for jobs without `location.name`.
fn office_locations(job: &Value) -> Option<String> {
    let offices = job.get("offices")?.as_array()?;
    join_nonempty(offices.iter().filter_map(|o| text(o.get("location")).or_else(|| text(o.get("name")))), " | ")
}

/// `pay_input_ranges` (detail responses): `USD 50,000 - 75,000 (NYC Salary Range)`, several joined with `; `.
fn pay_ranges(job: &Value) -> Option<String> {
    let ranges = job.get("pay_input_ranges")?.as_array()?;
    join_nonempty(
        ranges.iter().filter_map(|r| {
            let range = format_range(currency(r), amount(r, "min_cents"), amount(r, "max_cents"), None)?;
            Some(match text(r.get("title")) {
                Some(title) => format!("{range} ({title})"),
                None => range,
            })
        }),
        "; ",
    )
}

/// A range's currency, as sent.
fn currency(range: &Value) -> Option<&str> {
    range.get("currency_type").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty())
}

/// A range's amount `key` in whole units (Greenhouse sends cents).
fn amount(range: &Value, key: &str) -> Option<f64> {
    number(range.get(key)).filter(|c| c.is_finite() && *c >= 0.0).map(|c| c / 100.0)
}

/// `pay_input_ranges` as one pay: from the lowest minimum to the highest maximum of the ranges in the first range's
/// currency (a board gives one range per pay zone). Greenhouse states no period, so none is given.
fn pay(job: &Value) -> Option<Pay> {
    let ranges = job.get("pay_input_ranges")?.as_array()?;
    let first = ranges.iter().find(|r| amount(r, "min_cents").is_some() || amount(r, "max_cents").is_some())?;
    let same_currency = |r: &&Value| match (currency(r), currency(first)) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    };
    let min = ranges.iter().filter(same_currency).filter_map(|r| amount(r, "min_cents")).reduce(f64::min);
    let max = ranges.iter().filter(same_currency).filter_map(|r| amount(r, "max_cents")).reduce(f64::max);
    Pay::of(min, max, currency(first), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn double_escaped_content_is_unescaped_until_markup() {
        let docs = "This is the job description. &amp;lt;p&amp;gt;Any HTML&amp;lt;/p&amp;gt;";
        assert_eq!(unescape_content(docs), "This is the job description. <p>Any HTML</p>");
        assert_eq!(unescape_content("&lt;p&gt;a &amp;amp; b&lt;/p&gt;"), "<p>a &amp; b</p>");
        assert_eq!(unescape_content("<p>a &amp;lt; b</p>"), "<p>a &amp;lt; b</p>");
        assert_eq!(unescape_content("plain & simple"), "plain & simple");
        assert_eq!(unescape_content("R&amp;amp;D"), "R&D");
    }

    #[test]
    fn pay_input_ranges_become_a_summary() -> Result<(), ExtractError> {
        let raw = json!({"id": 44444, "title": "Product Engineer", "pay_input_ranges": [
            {"min_cents": 5000000, "max_cents": 7500000, "currency_type": "USD", "title": "NYC Salary Range"},
            {"min_cents": null, "max_cents": null, "currency_type": "USD"}]});
        let n = normalize(&raw, None)?;
        assert_eq!(n.compensation.as_deref(), Some("USD 50,000 - 75,000 (NYC Salary Range)"));
        let pay = Pay { min: Some(50000.0), max: Some(75000.0), currency: Some("USD".into()), interval: None };
        assert_eq!(n.pay, Some(pay));
        Ok(())
    }

    #[test]
    fn pay_spans_the_zones_in_the_first_ranges_currency() -> Result<(), ExtractError> {
        let raw = json!({"id": 1, "title": "a", "pay_input_ranges": [
            {"min_cents": null, "max_cents": null, "currency_type": "EUR"},
            {"min_cents": 12000000, "max_cents": 15000000, "currency_type": "USD", "title": "Zone 1"},
            {"min_cents": 9000000, "max_cents": 13000000, "currency_type": "USD", "title": "Zone 2"},
            {"min_cents": 100, "max_cents": 99999999900_i64, "currency_type": "CAD", "title": "Canada"}]});
        let pay = normalize(&raw, None)?.pay;
        assert_eq!(pay.map(|p| (p.min, p.max, p.currency)), Some((Some(90000.0), Some(150000.0), Some("USD".into()))));
        assert_eq!(normalize(&json!({"id": 1, "title": "a", "pay_input_ranges": []}), None)?.pay, None);
        Ok(())
    }

    #[test]
    fn missing_fields_are_none() -> Result<(), ExtractError> {
        let n = normalize(&json!({"id": 1, "title": " T ", "metadata": null, "location": null}), None)?;
        assert_eq!(n, NormalizedPosting { title: "T".into(), ..NormalizedPosting::default() });
        assert!(normalize(&json!({"id": 1}), None).is_err());
        Ok(())
    }

    #[test]
    fn listing_shape_errors_are_named() {
        let err = |body: &str| {
            crate::parse_listing(crate::BoardKind::Greenhouse, body.as_bytes())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("").starts_with("greenhouse board listing is not valid JSON: EOF"), "{}", err(""));
        assert_eq!(err("[]"), "greenhouse board listing has no \"jobs\" array");
        assert_eq!(
            err(r#"{"jobs": [{"id": 1, "title": "a"}, {"title": "b"}]}"#),
            "greenhouse board listing item 1 has no id"
        );
        assert_eq!(err(r#"{"jobs": [{"id": 1, "title": null}]}"#), "greenhouse board listing item 0 has no title");
        assert_eq!(err(r#"{"jobs": [3]}"#), "greenhouse board listing item 0 is not a JSON object");
    }
}
