//! Workable's widget API: `GET apply.workable.com/api/v1/widget/accounts/{slug}?details=true` answers the account's
//! `{"name", "description", "jobs": [...]}`, descriptions inline. One host serves every account (requests to it are
//! made one at a time, see [`crate::HttpBoards`]).

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{listed, parse_json, text};
use crate::normalized::{join_nonempty, merged, parse_date};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

pub(crate) const WHAT: &str = "workable account";

/// The account's jobs, each once: Workable lists a job in several locations once per location under the same
/// `shortcode`, so the repeats are folded into the first, their `locations` added to its own (each place once).
pub(crate) fn answer_items(body: &[u8]) -> Result<Vec<Value>, ExtractError> {
    let Value::Object(mut account) = parse_json(WHAT, body)? else {
        return Err(ExtractError::malformed(WHAT, "is not a JSON object"));
    };
    let Some(Value::Array(jobs)) = account.remove("jobs") else {
        return Err(ExtractError::malformed(WHAT, "has no \"jobs\" array"));
    };
    let mut out: Vec<Value> = Vec::with_capacity(jobs.len());
    let mut at = std::collections::HashMap::new();
    for job in jobs {
        let Some(code) = text(job.get("shortcode")) else {
            out.push(job);
            continue;
        };
        let Some(&first) = at.get(&code) else {
            at.insert(code, out.len());
            out.push(job);
            continue;
        };
        let more: Vec<Value> = job.get("locations").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(Value::Object(kept)) = out.get_mut(first) {
            let list = kept.entry("locations").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                for place in more {
                    if !list.contains(&place) {
                        list.push(place);
                    }
                }
            }
        }
    }
    // The places of a folded job in one order whatever order Workable repeats it in, so that its content does not
    // seem to change when only the order did.
    for &index in at.values() {
        if let Some(Value::Array(places)) = out.get_mut(index).and_then(|job| job.get_mut("locations")) {
            places.sort_by_cached_key(|place| place.to_string());
        }
    }
    Ok(out)
}

/// One job: `shortcode` is its id.
pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title) = (text(job.get("shortcode")), text(job.get("title")));
    let url = text(job.get("url")).or_else(|| text(job.get("shortlink")));
    listed(WHAT, index, job, id, title, url).map(Some)
}

/// Normalises a job (a detail value, when given, is laid over it).
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = &merged(raw, detail);
    let title = text(job.get("title")).ok_or_else(|| ExtractError::malformed("workable job", "has no title"))?;
    Ok(NormalizedPosting {
        title,
        url: text(job.get("url")).or_else(|| text(job.get("shortlink"))),
        location: location(job),
        remote: job.get("telecommuting").and_then(Value::as_bool),
        department: text(job.get("department")),
        employment_type: text(job.get("employment_type")),
        compensation: None,
        pay: None,
        description: job.get("description").and_then(Value::as_str).and_then(html_text),
        posted_at: parse_date(job.get("published_on")).or_else(|| parse_date(job.get("created_at"))),
        updated_at: None,
    })
}

/// Each of `locations` as "city, region, country" (hidden ones left out), joined with ` | `; else the job's own
/// `city`, `state` and `country`.
fn location(job: &Value) -> Option<String> {
    let place = |v: &Value, keys: [&str; 3]| join_nonempty(keys.iter().filter_map(|k| text(v.get(*k))), ", ");
    let listed = job.get("locations").and_then(Value::as_array).into_iter().flatten();
    let visible = listed.filter(|l| l.get("hidden").and_then(Value::as_bool) != Some(true));
    join_nonempty(visible.filter_map(|l| place(l, ["city", "region", "country"])), " | ")
        .or_else(|| place(job, ["city", "state", "country"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_job_in_several_places_is_one_posting_with_each_place() -> Result<(), ExtractError> {
        let job = |city: &str| {
            json!({"shortcode": "AB12", "title": "Engineer", "city": city,
                "locations": [{"city": city, "country": "Germany", "hidden": false}]})
        };
        let body = json!({"name": "Acme", "jobs": [job("Berlin"), {"shortcode": "CD34", "title": "Other"}, job("Munich"), job("Berlin")]});
        let items = answer_items(body.to_string().as_bytes())?;
        assert_eq!(items.len(), 2);
        let n = normalize(&items[0], None)?;
        assert_eq!(n.location.as_deref(), Some("Berlin, Germany | Munich, Germany"));
        assert_eq!(normalize(&items[1], None)?.location, None);
        let err = answer_items(b"[]").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("workable account is not a JSON object"));
        Ok(())
    }
}
