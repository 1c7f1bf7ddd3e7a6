//! Ashby public job board API: `GET /posting-api/job-board/{token}?includeCompensation=true`.

use serde_json::Value;

use crate::html::{html_text, tidy_plain};
use crate::listing::{id_string, listed, text};
use crate::normalized::{Pay, join_nonempty, merged, number, parse_date, pay_interval, remote_from_workplace};
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
    let comp = job.get("compensation");
    let pay = comp.and_then(salary);
    Ok(NormalizedPosting {
        title,
        url: text(job.get("jobUrl")),
        location: locations(&job),
        remote,
        department: text(job.get("department")).or_else(|| text(job.get("team"))),
        employment_type: text(job.get("employmentType")),
        compensation: comp.and_then(|c| summary(c).or_else(|| pay.as_ref().and_then(Pay::text))),
        pay,
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

/// The board's own summary: `compensationTierSummary`, else `scrapeableCompensationSalarySummary`.
fn summary(comp: &Value) -> Option<String> {
    text(comp.get("compensationTierSummary")).or_else(|| text(comp.get("scrapeableCompensationSalarySummary")))
}

/// The first salary component with an amount: of `summaryComponents` (the board's summary over its tiers), else of
/// the first tier that has one. Equity components are not pay in money per period and are left out.
fn salary(comp: &Value) -> Option<Pay> {
    let salary = |c: &Value| {
        if c.get("compensationType").and_then(Value::as_str) != Some("Salary") {
            return None;
        }
        let interval = c.get("interval").and_then(Value::as_str).and_then(pay_interval);
        let currency = c.get("currencyCode").and_then(Value::as_str);
        Pay::of(number(c.get("minValue")), number(c.get("maxValue")), currency, interval)
    };
    components(comp.get("summaryComponents")).find_map(salary).or_else(|| {
        components(comp.get("compensationTiers")).find_map(|tier| components(tier.get("components")).find_map(salary))
    })
}

fn components(list: Option<&Value>) -> impl Iterator<Item = &Value> {
    list.and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bw_vocab::PayInterval;
    use serde_json::json;

    #[test]
    fn compensation_falls_back_to_components_and_pay_skips_equity() -> Result<(), ExtractError> {
        let comp = json!({"compensationTierSummary": null, "scrapeableCompensationSalarySummary": null,
            "summaryComponents": [
                {"compensationType": "EquityPercentage", "interval": "NONE", "currencyCode": null, "minValue": null},
                {"compensationType": "Salary", "interval": "1 HOUR", "currencyCode": "USD", "minValue": 30, "maxValue": 38}]});
        let n = normalize(&json!({"title": "a", "compensation": comp}), None)?;
        assert_eq!(n.compensation.as_deref(), Some("USD 30 - 38 per hour"));
        let pay =
            Pay { min: Some(30.0), max: Some(38.0), currency: Some("USD".into()), interval: Some(PayInterval::Hour) };
        assert_eq!(n.pay, Some(pay));
        // Only in a tier: still found.
        let tiers = json!({"compensationTierSummary": "€50K – €60K", "summaryComponents": [], "compensationTiers": [
            {"components": [{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 50000, "maxValue": 60000}]}]});
        let n = normalize(&json!({"title": "a", "compensation": tiers}), None)?;
        assert_eq!(n.compensation.as_deref(), Some("€50K – €60K"));
        assert_eq!(n.pay.map(|p| (p.min, p.max, p.currency)), Some((Some(50000.0), Some(60000.0), Some("EUR".into()))));
        let empty = json!({"compensationTiers": [], "summaryComponents": [], "compensationTierSummary": null});
        let n = normalize(&json!({"title": "a", "compensation": empty}), None)?;
        assert_eq!((n.compensation, n.pay), (None, None));
        Ok(())
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
