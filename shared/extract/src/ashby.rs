//! Ashby public job board API: `GET /posting-api/job-board/{token}?includeCompensation=true`.

use serde_json::Value;

use crate::html::{html_text, tidy_plain};
use crate::listing::{id_string, listed, text};
use crate::normalized::{format_range, join_nonempty, merged, number, parse_date, per_interval, remote_from_workplace};
use crate::stream::{Items, Shape};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

const WHAT: &str = "ashby board listing";

/// A listing is `{"jobs": [...], "apiVersion": ...}`.
pub(crate) const SHAPE: Shape = Shape { what: WHAT, items: Items::Under("jobs") };

/// One item of the `jobs` array; `None` for a job marked `"isListed": false`, which is not open to the public (a
/// missing or null `isListed` counts as listed).
pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let unlisted = job.get("isListed").and_then(Value::as_bool) == Some(false);
    let (id, title, url) = (id_string(job.get("id")), text(job.get("title")), text(job.get("jobUrl")));
    let posting = listed(WHAT, index, job, id, title, url)?;
    Ok((!unlisted).then_some(posting))
}

/// Normalises a job (a detail value, when given, is laid over it).
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = text(job.get("title")).ok_or_else(|| ExtractError::malformed("ashby posting", "has no title"))?;
    let remote = remote_from_workplace(job.get("workplaceType").and_then(Value::as_str))
        .or_else(|| job.get("isRemote").and_then(Value::as_bool));
    let description = job
        .get("descriptionPlain")
        .and_then(Value::as_str)
        .and_then(tidy_plain)
        .or_else(|| job.get("descriptionHtml").and_then(Value::as_str).and_then(html_text));
    Ok(NormalizedPosting {
        title,
        url: text(job.get("jobUrl")),
        location: locations(&job),
        remote,
        department: text(job.get("department")).or_else(|| text(job.get("team"))),
        employment_type: text(job.get("employmentType")),
        compensation: job.get("compensation").and_then(compensation),
        description,
        posted_at: parse_date(job.get("publishedAt")),
        updated_at: parse_date(job.get("updatedAt")),
    })
}

/// `location` then each `secondaryLocations[].location`, joined with ` | `; the postal address when there is none.
fn locations(job: &Value) -> Option<String> {
    let secondary = job.get("secondaryLocations").and_then(Value::as_array).into_iter().flatten();
    let names = text(job.get("location")).into_iter().chain(secondary.filter_map(|s| text(s.get("location"))));
    join_nonempty(names, " | ").or_else(|| {
        let address = job.pointer("/address/postalAddress")?;
        let part = |k: &str| text(address.get(k));
        join_nonempty(
            [part("addressLocality"), part("addressRegion"), part("addressCountry")].into_iter().flatten(),
            ", ",
        )
    })
}

/// The board's own summary (`compensationTierSummary`, else `scrapeableCompensationSalarySummary`), else one built
/// from the first salary component with an amount.
fn compensation(comp: &Value) -> Option<String> {
    text(comp.get("compensationTierSummary")).or_else(|| text(comp.get("scrapeableCompensationSalarySummary"))).or_else(
        || {
            comp.get("summaryComponents")?.as_array()?.iter().find_map(|c| {
                if c.get("compensationType").and_then(Value::as_str) != Some("Salary") {
                    return None;
                }
                let per = c.get("interval").and_then(Value::as_str).and_then(per_interval);
                let currency = c.get("currencyCode").and_then(Value::as_str);
                format_range(currency, number(c.get("minValue")), number(c.get("maxValue")), per)
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compensation_falls_back_to_components() {
        let comp = json!({"compensationTierSummary": null, "scrapeableCompensationSalarySummary": null,
            "summaryComponents": [
                {"compensationType": "EquityPercentage", "interval": "NONE", "currencyCode": null, "minValue": null},
                {"compensationType": "Salary", "interval": "1 HOUR", "currencyCode": "USD", "minValue": 30, "maxValue": 38}]});
        assert_eq!(compensation(&comp).as_deref(), Some("USD 30 - 38 per hour"));
        let empty = json!({"compensationTiers": [], "summaryComponents": [], "compensationTierSummary": null});
        assert_eq!(compensation(&empty), None);
    }

    #[test]
    fn remote_prefers_workplace_type_then_is_remote() -> Result<(), ExtractError> {
        let remote = |job: Value| normalize(&job, None).map(|n| n.remote);
        assert_eq!(remote(json!({"title": "a", "workplaceType": "Hybrid", "isRemote": true}))?, Some(false));
        assert_eq!(remote(json!({"title": "a", "workplaceType": null, "isRemote": true}))?, Some(true));
        assert_eq!(remote(json!({"title": "a", "workplaceType": null, "isRemote": null}))?, None);
        assert_eq!(remote(json!({"title": "a", "workplaceType": "OnSite"}))?, Some(false));
        Ok(())
    }

    #[test]
    fn address_is_the_fallback_location() -> Result<(), ExtractError> {
        let job = json!({"title": "a", "location": " ", "address": {"postalAddress":
            {"addressLocality": "", "addressRegion": "California ", "addressCountry": "USA"}}});
        assert_eq!(normalize(&job, None)?.location.as_deref(), Some("California, USA"));
        Ok(())
    }

    #[test]
    fn listing_shape_errors_are_named() {
        let err = |body: &str| {
            crate::parse_listing(crate::BoardKind::Ashby, body.as_bytes())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(err(r#"{"apiVersion": "1"}"#), "ashby board listing has no \"jobs\" array");
        assert_eq!(err(r#"{"jobs": [{"title": "a"}]}"#), "ashby board listing item 0 has no id");
    }
}
