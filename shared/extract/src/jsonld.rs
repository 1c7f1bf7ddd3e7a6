//! Careers pages carrying schema.org `JobPosting` objects in `<script type="application/ld+json">` blocks.

mod ids;
mod scripts;

use serde_json::Value;

use crate::greenhouse::unescape_content;
use crate::html::{html_text, ld_json_scripts};
use crate::listing::{dedupe, listed, text};
use crate::normalized::{Pay, join_nonempty, merged, number, parse_date, pay_interval};
use crate::{ExtractError, Listing, NormalizedPosting};

const WHAT: &str = "careers page JSON-LD";

/// Finds every JSON-LD script of the page and collects each `JobPosting` object (top level, inside top-level
/// arrays, and inside `@graph`), each with an id of its own (see [`ids`]). A script that is not valid JSON is
/// skipped with a warning naming it; a page with scripts but none valid, or without a `JobPosting`, is malformed.
pub(crate) fn parse_listing(body: &[u8]) -> Result<Listing, ExtractError> {
    let page = String::from_utf8_lossy(body);
    let scripts = scripts::read(&ld_json_scripts(&page))?;
    let warning = scripts.warning();
    let readable = scripts.docs.len();
    let mut found = Vec::new();
    for doc in scripts.docs {
        collect_postings(doc, &mut found);
    }
    if found.is_empty() {
        let mut reason = format!("has no JobPosting: no schema.org JobPosting found in {readable} JSON-LD script(s)");
        if let Some(warning) = &warning {
            reason = format!("{reason}; {warning}");
        }
        return Err(ExtractError::malformed("careers page", reason));
    }
    let postings = found
        .iter()
        .zip(ids::assign(&found))
        .enumerate()
        .map(|(i, (posting, id))| listed(WHAT, i, posting.clone(), Some(id), title(posting), text(posting.get("url"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Listing { postings: dedupe(WHAT, postings), warnings: warning.into_iter().collect() })
}

/// Normalises a `JobPosting` object (a detail value, when given, is laid over it).
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = title(&job).ok_or_else(|| ExtractError::malformed("JSON-LD JobPosting", "has no title or name"))?;
    let remote =
        strings(job.get("jobLocationType")).iter().any(|t| t.eq_ignore_ascii_case("TELECOMMUTE")).then_some(true);
    let pay = salary(&job);
    Ok(NormalizedPosting {
        title,
        url: text(job.get("url")),
        location: location(&job),
        remote,
        department: None,
        employment_type: join_nonempty(strings(job.get("employmentType")), ", "),
        compensation: salary_text(&job, pay.as_ref()),
        pay,
        description: job.get("description").and_then(Value::as_str).and_then(|d| html_text(&unescape_content(d))),
        posted_at: parse_date(job.get("datePosted")),
        updated_at: parse_date(job.get("dateModified")),
    })
}

/// Moves every JobPosting in `doc` into `out`.
fn collect_postings(doc: Value, out: &mut Vec<Value>) {
    match doc {
        Value::Array(items) => items.into_iter().for_each(|item| collect_postings(item, out)),
        Value::Object(mut map) => {
            if map.get("@type").is_some_and(is_job_posting_type) {
                out.push(Value::Object(map));
            } else if let Some(graph) = map.remove("@graph") {
                collect_postings(graph, out);
            }
        }
        _ => {}
    }
}

/// `"JobPosting"`, `"schema:JobPosting"`, `"https://schema.org/JobPosting"`, or an array holding one of them.
fn is_job_posting_type(t: &Value) -> bool {
    strings(Some(t)).iter().any(|s| s == "JobPosting" || s.ends_with("/JobPosting") || s.ends_with(":JobPosting"))
}

/// `title`, else `name`, with HTML entities decoded.
fn title(job: &Value) -> Option<String> {
    let raw = text(job.get("title")).or_else(|| text(job.get("name")))?;
    text(Some(&Value::String(html_escape::decode_html_entities(&raw).into_owned())))
}

/// The posting's places (`jobLocation`), else where applicants may be (`applicantLocationRequirements`), joined
/// with " | ".
fn location(job: &Value) -> Option<String> {
    join_nonempty(items(job.get("jobLocation")).filter_map(place), " | ").or_else(|| {
        join_nonempty(items(job.get("applicantLocationRequirements")).filter_map(|a| name_of(Some(a))), " | ")
    })
}

/// A key looked up exactly, else ignoring ASCII case (real pages write `Value`, `UnitText`, ...).
fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// A value that may be one item or an array of them.
fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let (one, many) = match value {
        Some(Value::Array(list)) => (None, list.as_slice()),
        Some(v) => (Some(v), &[][..]),
        None => (None, &[][..]),
    };
    one.into_iter().chain(many)
}

/// The non-empty strings of a string-or-array value.
fn strings(value: Option<&Value>) -> Vec<String> {
    items(value).filter_map(|v| text(Some(v))).collect()
}

/// A plain string, or an object's `name`.
fn name_of(value: Option<&Value>) -> Option<String> {
    text(value).or_else(|| value.and_then(|v| get_ci(v, "name")).and_then(|n| text(Some(n))))
}

/// A `Place`: its address as "locality, region, country" (or the address string), else its name.
fn place(place: &Value) -> Option<String> {
    let address = get_ci(place, "address");
    let parts = ["addressLocality", "addressRegion", "addressCountry"]
        .into_iter()
        .filter_map(|k| name_of(address.and_then(|a| get_ci(a, k))));
    join_nonempty(parts, ", ").or_else(|| text(address)).or_else(|| name_of(Some(place)))
}

/// `baseSalary`: a `MonetaryAmount` whose `value` is a number or a `QuantitativeValue` (`minValue`, `maxValue`,
/// `value`, `unitText`; key case ignored), or a bare amount (with `salaryCurrency`). Text that is not a number is no
/// structured pay (see [`salary_text`]).
fn salary(job: &Value) -> Option<Pay> {
    let base = items(job.get("baseSalary")).next()?;
    let fallback_currency = text(job.get("salaryCurrency"));
    if let Value::Object(_) = base {
        let currency = text(get_ci(base, "currency")).or(fallback_currency);
        let (min, max, unit) = match get_ci(base, "value") {
            Some(q @ Value::Object(_)) => {
                let exact = number(get_ci(q, "value"));
                let min = number(get_ci(q, "minValue")).or(exact);
                let max = number(get_ci(q, "maxValue")).or(exact);
                (min, max, text(get_ci(q, "unitText")).or_else(|| text(get_ci(base, "unitText"))))
            }
            other => (number(other), number(other), text(get_ci(base, "unitText"))),
        };
        return Pay::of(min, max, currency.as_deref(), unit.as_deref().and_then(pay_interval));
    }
    let amount = number(Some(base));
    Pay::of(amount, amount, fallback_currency.as_deref(), None)
}

/// `baseSalary` as text: the structured pay written out, else a string as the page gives it.
fn salary_text(job: &Value, pay: Option<&Pay>) -> Option<String> {
    pay.and_then(Pay::text)
        .or_else(|| items(job.get("baseSalary")).next().filter(|b| b.is_string()).and_then(|b| text(Some(b))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::Digest as _;

    fn ids(page: &str) -> Result<Vec<String>, ExtractError> {
        Ok(parse_listing(page.as_bytes())?.postings.into_iter().map(|p| p.external_id).collect())
    }

    fn error(page: &str) -> String {
        parse_listing(page.as_bytes()).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn finds_scripts_whatever_the_quoting_and_case() -> Result<(), ExtractError> {
        let page = r#"<html><head>
            <script type="text/javascript">var x = "<script type='application/ld+json'>";</script>
            <SCRIPT TYPE='application/ld+json'>{"@type": "JobPosting", "title": "A", "identifier": {"@type": "PropertyValue", "value": 42}}</SCRIPT>
            <script data-x="1" type=application/ld+json>[{"@type": "Organization"}, {"@type": ["JobPosting"], "title": "B", "identifier": "b-1"}]</script>
            <script type="application/ld+json; charset=utf-8"><!-- {"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, {"@type": "schema:JobPosting", "title": "C", "url": "https://x.test/c"}]} --></script>
            <script type="application/ld+json">  </script>
            <script type="application/json">{"@type": "JobPosting", "title": "not ld"}</script>
            <scripts type="application/ld+json">{</scripts>
        </head></html>"#;
        assert_eq!(ids(page)?, ["42", "b-1", "https://x.test/c"]);
        assert!(parse_listing(page.as_bytes())?.is_complete());
        Ok(())
    }

    #[test]
    fn an_invalid_script_is_skipped_and_named_and_the_others_kept() -> Result<(), ExtractError> {
        let page = r#"<script type="application/ld+json">{"@type": "JobPosting", "title": "A", "identifier": "a"}</script>
            <script type="application/ld+json">{"@type": "JobPosting", "title": "B",}</script>
            <script type="application/ld+json">{"@type": "JobPosting", "title": "C", "identifier": "c"}</script>"#;
        let listing = parse_listing(page.as_bytes())?;
        let titles: Vec<&str> = listing.postings.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["A", "C"]);
        assert_eq!(
            listing.warnings,
            [
                "1 of 3 JSON-LD scripts could not be read: script 2 is not valid JSON: trailing comma at line 1 column 38"
            ]
        );
        assert!(!listing.is_complete());
        Ok(())
    }

    #[test]
    fn a_page_with_no_valid_script_fails_saying_so() {
        let page = r#"<script type="application/ld+json">{"@type": "JobPosting", "title": "A",}</script>
            <script type="application/ld+json">{"@type": "JobPosting"</script>"#;
        let err = error(page);
        assert!(
            err.starts_with(
                "careers page has no readable JSON-LD: none of its 2 JSON-LD scripts is valid JSON: script 1 is not \
                 valid JSON: trailing comma at line 1 column 38; script 2 is not valid JSON: EOF while parsing"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_page_without_postings_is_malformed() {
        for page in
            ["<html>no scripts</html>", r#"<script type="application/ld+json">{"@type": "Organization"}</script>"#]
        {
            let err = error(page);
            assert!(err.starts_with("careers page has no JobPosting: no schema.org JobPosting found in"), "{err}");
        }
        // The posting's script being the unreadable one is not hidden behind "no JobPosting".
        let page = r#"<script type="application/ld+json">{"@type": "Organization"}</script>
            <script type="application/ld+json">{"@type": "JobPosting", "title": "A",}</script>"#;
        assert_eq!(
            error(page),
            "careers page has no JobPosting: no schema.org JobPosting found in 1 JSON-LD script(s); 1 of 2 JSON-LD \
             scripts could not be read: script 2 is not valid JSON: trailing comma at line 1 column 38"
        );
    }

    #[test]
    fn postings_sharing_a_title_are_all_kept_with_ids_stable_across_reads() -> Result<(), ExtractError> {
        let page = r#"<script type="application/ld+json">[
            {"@type": "JobPosting", "title": "Engineer", "hiringOrganization": {"name": "ACME"},
             "jobLocation": {"@type": "Place", "address": {"addressLocality": "Berlin"}}},
            {"@type": "JobPosting", "title": "Engineer", "hiringOrganization": {"name": "ACME"},
             "jobLocation": {"@type": "Place", "address": {"addressLocality": "Paris"}}},
            {"@type": "JobPosting", "title": "Engineer", "hiringOrganization": {"name": "ACME"},
             "jobLocation": {"@type": "Place", "address": {"addressLocality": "Berlin"}}}]</script>"#;
        let first = ids(page)?;
        // The third repeats the first word for word: one posting listed twice.
        assert_eq!(first.len(), 2, "{first:?}");
        assert_ne!(first[0], first[1]);
        assert_eq!(first[0], hex::encode(sha2::Sha256::digest(b"Engineer\nACME\nBerlin")), "its place tells it apart");
        assert_eq!(ids(page)?, first, "the same page gives the same ids");
        Ok(())
    }

    #[test]
    fn normalizes_structured_fields() -> Result<(), ExtractError> {
        let job = json!({"@type": "JobPosting", "title": "Dev &amp; Ops", "employmentType": "FULL_TIME",
            "jobLocationType": "TELECOMMUTE", "datePosted": "2024-02-03T04:05:06+01:00",
            "jobLocation": [{"@type": "Place", "address": {"addressLocality": "Berlin", "addressCountry": {"@type": "Country", "name": "DE"}}},
                {"@type": "Place", "address": "Remote, EU"}],
            "baseSalary": {"@type": "MonetaryAmount", "currency": "EUR",
                "value": {"@type": "QuantitativeValue", "minValue": "60000", "maxValue": 80000, "unitText": "YEAR"}},
            "description": "&lt;p&gt;Hi&lt;/p&gt;&lt;p&gt;there&lt;/p&gt;"});
        let n = normalize(&job, None)?;
        assert_eq!(n.title, "Dev & Ops");
        assert_eq!(n.remote, Some(true));
        assert_eq!(n.location.as_deref(), Some("Berlin, DE | Remote, EU"));
        assert_eq!(n.compensation.as_deref(), Some("EUR 60,000 - 80,000 per year"));
        assert_eq!(n.description.as_deref(), Some("Hi\nthere"));
        assert_eq!(n.posted_at.map(|d| d.to_rfc3339()).as_deref(), Some("2024-02-03T03:05:06+00:00"));
        let flat = json!({"title": "x", "baseSalary": {"currency": "USD", "value": 50, "unitText": "HOUR"}});
        assert_eq!(normalize(&flat, None)?.compensation.as_deref(), Some("USD 50 per hour"));
        let text_salary = json!({"title": "x", "baseSalary": "Competitive"});
        assert_eq!(normalize(&text_salary, None)?.compensation.as_deref(), Some("Competitive"));
        Ok(())
    }
}
