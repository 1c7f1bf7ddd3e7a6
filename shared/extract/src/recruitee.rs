//! Recruitee's offers API: `GET {slug}.recruitee.com/api/offers/` (or on the company's own domain) answers
//! `{"offers": [...]}`, descriptions and requirements inline as HTML.

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, text};
use crate::normalized::{Pay, join_nonempty, merged, number, parse_date, pay_interval};
use crate::stream::{Items, Shape};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

const WHAT: &str = "recruitee offers";

/// A listing is `{"offers": [...]}`.
pub(crate) const SHAPE: Shape = Shape { what: WHAT, items: Items::Under("offers") };

/// One offer, without its `position` on the careers page (it moves when other offers come and go, which is no change
/// of this one).
pub(crate) fn item(index: usize, mut offer: Value) -> Result<Option<ListedPosting>, ExtractError> {
    if let Value::Object(fields) = &mut offer {
        fields.remove("position");
    }
    let (id, title) = (id_string(offer.get("id")), text(offer.get("title")));
    let url = text(offer.get("careers_url"));
    listed(WHAT, index, offer, id, title, url).map(Some)
}

pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let offer = merged(raw, detail);
    let title = text(offer.get("title")).ok_or_else(|| ExtractError::malformed("recruitee offer", "has no title"))?;
    let flag = |key: &str| offer.get(key).and_then(Value::as_bool);
    let remote = match (flag("remote"), flag("hybrid"), flag("on_site")) {
        (Some(true), _, _) => Some(true),
        (_, Some(true), _) | (_, _, Some(true)) => Some(false),
        _ => None,
    };
    let pay = offer.get("salary").and_then(|salary| {
        let interval = salary.get("period").and_then(Value::as_str).and_then(pay_interval);
        let currency = salary.get("currency").and_then(Value::as_str);
        Pay::of(number(salary.get("min")), number(salary.get("max")), currency, interval)
    });
    let html: String = ["description", "requirements"]
        .iter()
        .filter_map(|key| offer.get(*key).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(NormalizedPosting {
        title,
        url: text(offer.get("careers_url")),
        location: location(&offer),
        remote,
        department: text(offer.get("department")),
        employment_type: text(offer.get("employment_type_code")),
        compensation: pay.as_ref().and_then(Pay::text),
        pay,
        description: html_text(&html),
        posted_at: parse_date(offer.get("published_at")).or_else(|| parse_date(offer.get("created_at"))),
        updated_at: parse_date(offer.get("updated_at")),
    })
}

/// Each of `locations` as "city, state, country", joined with ` | `; else `location`, else city and country.
fn location(offer: &Value) -> Option<String> {
    let place = |v: &Value, keys: &[&str]| join_nonempty(keys.iter().filter_map(|k| text(v.get(*k))), ", ");
    let listed = offer.get("locations").and_then(Value::as_array).into_iter().flatten();
    join_nonempty(listed.filter_map(|l| place(l, &["city", "state", "country"])), " | ")
        .or_else(|| text(offer.get("location")))
        .or_else(|| place(offer, &["city", "country"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn salary_becomes_pay_and_flags_remote() -> Result<(), ExtractError> {
        let offer = json!({"title": "a", "remote": false, "hybrid": true, "on_site": false,
            "salary": {"min": "60000", "max": "75000", "period": "year", "currency": "EUR"}});
        let n = normalize(&offer, None)?;
        assert_eq!(n.remote, Some(false));
        assert_eq!(n.compensation.as_deref(), Some("EUR 60,000 - 75,000 per year"));
        let n = normalize(&json!({"title": "a", "salary": {"min": null, "max": null, "period": null}}), None)?;
        assert_eq!((n.pay, n.remote), (None, None));
        Ok(())
    }
}
