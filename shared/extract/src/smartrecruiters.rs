//! SmartRecruiters Posting API: `GET api.smartrecruiters.com/v1/companies/{id}/postings?limit=100&offset=N` answers
//! `{"offset", "limit", "totalFound", "content": [...]}`; a posting's ad (its description) is in
//! `GET …/postings/{postingId}`.

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, parse_json, text};
use crate::normalized::{join_nonempty, merged, parse_date};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

pub(crate) const WHAT: &str = "smartrecruiters postings page";

/// Postings asked per page: the API's most.
pub(crate) const PAGE: usize = 100;

/// A page's postings and `totalFound`.
pub(crate) fn page(body: &[u8]) -> Result<(Vec<Value>, Option<u64>), ExtractError> {
    let Value::Object(mut page) = parse_json(WHAT, body)? else {
        return Err(ExtractError::malformed(WHAT, "is not a JSON object"));
    };
    let Some(Value::Array(content)) = page.remove("content") else {
        return Err(ExtractError::malformed(WHAT, "has no \"content\" array"));
    };
    Ok((content, page.get("totalFound").and_then(Value::as_u64)))
}

pub(crate) fn item(index: usize, posting: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title) = (id_string(posting.get("id")), text(posting.get("name")));
    let url = text(posting.get("postingUrl"));
    listed(WHAT, index, posting, id, title, url).map(Some)
}

/// A listed posting has no ad.
pub(crate) fn needs_detail(raw: &Value) -> bool {
    raw.get("jobAd").is_none()
}

pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title =
        text(job.get("name")).ok_or_else(|| ExtractError::malformed("smartrecruiters posting", "has no name"))?;
    let place = job.get("location");
    let flag = |key: &str| place.and_then(|p| p.get(key)).and_then(Value::as_bool);
    let remote = match (flag("remote"), flag("hybrid")) {
        (Some(true), _) => Some(true),
        (_, Some(true)) | (Some(false), _) => Some(false),
        (None, _) => None,
    };
    Ok(NormalizedPosting {
        title,
        url: text(job.get("postingUrl")),
        location: place.and_then(location),
        remote,
        department: text(job.pointer("/department/label")),
        employment_type: text(job.pointer("/typeOfEmployment/label")),
        compensation: None,
        pay: None,
        description: description(&job),
        posted_at: parse_date(job.get("releasedDate")),
        updated_at: None,
    })
}

/// `fullLocation` without its empty parts ("Singapore, , Singapore" has no region); else city, region, country.
fn location(place: &Value) -> Option<String> {
    let full = text(place.get("fullLocation"))
        .and_then(|full| join_nonempty(full.split(',').map(|p| p.trim().to_owned()), ", "));
    full.or_else(|| join_nonempty(["city", "region", "country"].iter().filter_map(|k| text(place.get(*k))), ", "))
}

/// The ad's sections in the board's order, each under its title.
fn description(job: &Value) -> Option<String> {
    let sections = job.pointer("/jobAd/sections")?;
    let mut html = String::new();
    for key in ["companyDescription", "jobDescription", "qualifications", "additionalInformation"] {
        let Some(section) = sections.get(key) else { continue };
        let Some(body) = text(section.get("text")) else { continue };
        if let Some(title) = text(section.get("title")) {
            html.push_str(&format!("<h3>{}</h3>", html_escape::encode_text(&title)));
        }
        html.push_str(&body);
    }
    html_text(&html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_and_location_as_the_board_says() -> Result<(), ExtractError> {
        let with = |place: Value| normalize(&json!({"name": "a", "location": place}), None);
        let n = with(json!({"fullLocation": "Singapore, , Singapore", "remote": false, "hybrid": true}))?;
        assert_eq!((n.location.as_deref(), n.remote), (Some("Singapore, Singapore"), Some(false)));
        let n = with(json!({"city": "Houston", "region": "TX", "country": "us", "remote": true}))?;
        assert_eq!((n.location.as_deref(), n.remote), (Some("Houston, TX, us"), Some(true)));
        assert_eq!(with(json!({}))?.remote, None);
        assert_eq!(
            page(b"{\"offset\": 0}").err().map(|e| e.to_string()).as_deref(),
            Some("smartrecruiters postings page has no \"content\" array")
        );
        Ok(())
    }
}
