//! BambooHR's careers API: `GET {tenant}.bamboohr.com/careers/list` answers `{"meta": {"totalCount"}, "result":
//! [...]}` (the count can disagree with the rows: the rows are the listing); a job's description is in
//! `GET …/careers/{id}/detail`, under `result.jobOpening`.

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{id_string, listed, text};
use crate::normalized::{join_nonempty, merged, parse_date};
use crate::stream::{Items, Shape};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

const WHAT: &str = "bamboohr careers list";

/// A listing is `{"meta": ..., "result": [...]}`.
pub(crate) const SHAPE: Shape = Shape { what: WHAT, items: Items::Under("result") };

pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title) = (id_string(job.get("id")), text(job.get("jobOpeningName")));
    listed(WHAT, index, job, id, title, None).map(Some)
}

/// A listed job has no description.
pub(crate) fn needs_detail(raw: &Value) -> bool {
    raw.get("description").is_none()
}

/// The details answer's job (`result.jobOpening`).
pub(crate) fn detail(mut answer: Value) -> Option<Value> {
    answer.pointer_mut("/result/jobOpening").map(Value::take).filter(Value::is_object)
}

pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = text(job.get("jobOpeningName"))
        .ok_or_else(|| ExtractError::malformed("bamboohr job", "has no jobOpeningName"))?;
    Ok(NormalizedPosting {
        title,
        url: text(job.get("jobOpeningShareUrl")),
        location: location(&job),
        remote: job.get("isRemote").and_then(Value::as_bool).or_else(|| location_type(job.get("locationType"))),
        department: text(job.get("departmentLabel")),
        employment_type: text(job.get("employmentStatusLabel")),
        compensation: text(job.get("compensation")),
        pay: None,
        description: job.get("description").and_then(Value::as_str).and_then(html_text),
        posted_at: parse_date(job.get("datePosted")),
        updated_at: None,
    })
}

/// BambooHR's `locationType`: `"0"` on site, `"1"` remote, `"2"` hybrid.
fn location_type(value: Option<&Value>) -> Option<bool> {
    match value?.as_str()?.trim() {
        "1" => Some(true),
        "0" | "2" => Some(false),
        _ => None,
    }
}

/// `location` as "city, state, country"; else the ATS's `atsLocation`.
fn location(job: &Value) -> Option<String> {
    let place = |v: Option<&Value>, keys: &[&str]| {
        let v = v?;
        join_nonempty(keys.iter().filter_map(|k| text(v.get(*k))), ", ")
    };
    place(job.get("location"), &["city", "state", "addressCountry"])
        .or_else(|| place(job.get("atsLocation"), &["city", "state", "province", "country"]))
}
