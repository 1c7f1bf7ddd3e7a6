//! Workday career sites through their CXS API: `POST {site host}/wday/cxs/{tenant}/{site}/jobs` with
//! `{"appliedFacets": {}, "limit": 20, "offset": N, "searchText": ""}` answers a page of at most 20 postings (`total` on
//! the first page only, a search stopping at 2,000; facets to split a larger board by), and
//! `GET …/wday/cxs/{tenant}/{site}{externalPath}` a posting's details (its description among them).

use serde_json::Value;

use crate::html::html_text;
use crate::listing::{listed, text};
use crate::normalized::{join_nonempty, merged, parse_date, remote_from_workplace};
use crate::{ExtractError, ListedPosting, NormalizedPosting};

pub(crate) const WHAT: &str = "workday job search";

/// Postings per page: the most the CXS API gives.
pub(crate) const PAGE: usize = 20;
/// Where a CXS search stops: postings past it cannot be paged to (a board this large is read facet by facet).
pub(crate) const SEARCH_CAP: u64 = 2_000;

/// One page of a search.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The postings, each without `postedOn` (see [`page`]).
    pub items: Vec<Value>,
    /// The number of postings the search matches (capped at [`SEARCH_CAP`]): set on the first page only.
    pub total: Option<u64>,
    /// The facets the first page offers, nested ones flattened.
    pub facets: Vec<Facet>,
}

/// A facet of a search, e.g. `jobFamilyGroup` or `locations`, with each value's id and posting count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Facet {
    pub parameter: String,
    pub values: Vec<(String, u64)>,
}

/// Reads a page. Each posting's `postedOn` is dropped: it is relative text ("Posted Today", "Posted 3 Days Ago")
/// that changes every day without the posting changing; the posting's date comes from its details (`startDate`).
pub(crate) fn page(body: &[u8]) -> Result<Page, ExtractError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ExtractError::malformed(WHAT, format!("is not valid JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(ExtractError::malformed(WHAT, "is not a JSON object"));
    };
    let Some(Value::Array(jobs)) = object.remove("jobPostings") else {
        return Err(ExtractError::malformed(WHAT, "has no \"jobPostings\" array"));
    };
    let items = jobs
        .into_iter()
        .map(|mut job| {
            if let Value::Object(fields) = &mut job {
                fields.remove("postedOn");
            }
            job
        })
        .collect();
    let total = object.get("total").and_then(Value::as_u64).filter(|t| *t > 0);
    let mut facets = Vec::new();
    for facet in object.get("facets").and_then(Value::as_array).into_iter().flatten() {
        flatten(facet, &mut facets);
    }
    Ok(Page { items, total, facets })
}

/// A facet and the facets nested in its values (Workday groups locations so), each with values that carry a count.
fn flatten(facet: &Value, out: &mut Vec<Facet>) {
    let Some(parameter) = text(facet.get("facetParameter")) else { return };
    let mut values = Vec::new();
    for value in facet.get("values").and_then(Value::as_array).into_iter().flatten() {
        if value.get("values").is_some() {
            flatten(value, out);
        } else if let (Some(id), Some(count)) = (text(value.get("id")), value.get("count").and_then(Value::as_u64)) {
            values.push((id, count));
        }
    }
    if !values.is_empty() {
        out.push(Facet { parameter, values });
    }
}

/// The facet to split a search by: one whose every value has fewer postings than the search cap; a location facet
/// first (Workday asks a location of every posting, so no posting is left out of it), else the one whose values
/// cover the most postings (a posting may have no value of a facet), then the one with the fewest values (fewer
/// searches). `None` when no facet splits it.
pub(crate) fn splitting_facet(facets: &[Facet]) -> Option<&Facet> {
    facets.iter().filter(|f| f.values.iter().all(|(_, count)| *count < SEARCH_CAP)).max_by_key(|f| {
        let location = f.parameter.to_ascii_lowercase().contains("location");
        (location, f.values.iter().map(|(_, c)| c).sum::<u64>(), std::cmp::Reverse(f.values.len()))
    })
}

/// One posting of a page: its `externalPath` is its id (the path its details are read at).
pub(crate) fn item(index: usize, job: Value) -> Result<Option<ListedPosting>, ExtractError> {
    let (id, title) = (text(job.get("externalPath")), text(job.get("title")));
    listed(WHAT, index, job, id, title, None).map(Some)
}

/// Whether the posting still needs its details: a listed one has no description.
pub(crate) fn needs_detail(raw: &Value) -> bool {
    raw.get("jobDescription").is_none()
}

/// The details answer's posting (`jobPostingInfo`), with the `hiringOrganization` beside it kept in it.
pub(crate) fn detail(mut answer: Value) -> Option<Value> {
    let organization = answer.get_mut("hiringOrganization").map(Value::take);
    let mut info = answer.get_mut("jobPostingInfo").map(Value::take).filter(Value::is_object)?;
    if let (Value::Object(fields), Some(organization)) = (&mut info, organization) {
        fields.insert("hiringOrganization".to_owned(), organization);
    }
    Some(info)
}

/// Normalises a listed posting with its details laid over it.
pub(crate) fn normalize(raw: &Value, detail: Option<&Value>) -> Result<NormalizedPosting, ExtractError> {
    let job = merged(raw, detail);
    let title = text(job.get("title")).ok_or_else(|| ExtractError::malformed("workday posting", "has no title"))?;
    Ok(NormalizedPosting {
        title,
        url: text(job.get("externalUrl")),
        location: location(&job),
        remote: remote_from_workplace(job.get("remoteType").and_then(Value::as_str)),
        department: None,
        employment_type: text(job.get("timeType")),
        compensation: None,
        pay: None,
        description: job.get("jobDescription").and_then(Value::as_str).and_then(html_text),
        posted_at: parse_date(job.get("startDate")),
        updated_at: None,
    })
}

/// The details' `location` and `additionalLocations`, joined with ` | `; else the list's `locationsText` unless it
/// only counts them ("2 Locations").
fn location(job: &Value) -> Option<String> {
    let more = job.get("additionalLocations").and_then(Value::as_array).into_iter().flatten();
    let named = join_nonempty(text(job.get("location")).into_iter().chain(more.filter_map(|l| text(Some(l)))), " | ");
    named.or_else(|| {
        let listed = text(job.get("locationsText"))?;
        let counted = listed.strip_suffix(" Locations").is_some_and(|n| n.trim().parse::<u32>().is_ok());
        (!counted).then_some(listed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_facets_are_flattened_and_the_best_split_chosen() -> Result<(), ExtractError> {
        let body = json!({"total": 2000, "jobPostings": [], "facets": [
            {"facetParameter": "timeType", "values": [{"id": "ft", "count": 1990}, {"id": "pt", "count": 400}]},
            {"facetParameter": "locationMainGroup", "values": [
                {"facetParameter": "locations", "values": [{"id": "a", "count": 1200}, {"id": "b", "count": 900}]}]},
            {"facetParameter": "jobFamilyGroup", "values": [{"id": "x", "count": 1500}, {"id": "y", "count": 600}, {"id": "z", "count": 300}]},
            {"facetParameter": "empty", "values": []}]});
        let page = page(body.to_string().as_bytes())?;
        let names: Vec<&str> = page.facets.iter().map(|f| f.parameter.as_str()).collect();
        assert_eq!(names, ["timeType", "locations", "jobFamilyGroup"]);
        let split = |facets: &[Facet]| splitting_facet(facets).map(|f| f.parameter.clone());
        // A location facet first, though the others cover more (2,390 and 2,400 postings to its 2,100).
        assert_eq!(split(&page.facets).as_deref(), Some("locations"));
        let others: Vec<Facet> = page.facets.iter().filter(|f| f.parameter != "locations").cloned().collect();
        assert_eq!(split(&others).as_deref(), Some("jobFamilyGroup"), "the most postings covered");
        let facet = |name: &str, counts: &[u64]| Facet {
            parameter: name.into(),
            values: counts.iter().enumerate().map(|(i, c)| (i.to_string(), *c)).collect(),
        };
        let tied = [facet("many", &[500, 500, 500, 500]), facet("few", &[1000, 1000])];
        assert_eq!(split(&tied).as_deref(), Some("few"), "as many covered: fewer searches");
        assert_eq!(split(&[facet("p", &[2000, 5])]), None, "a value at the cap does not split");
        assert_eq!(page.total, Some(2000));
        Ok(())
    }

    #[test]
    fn counted_locations_are_not_a_location() -> Result<(), ExtractError> {
        let listed = |text: &str| normalize(&json!({"title": "a", "locationsText": text}), None).map(|n| n.location);
        assert_eq!(listed("2 Locations")?, None);
        assert_eq!(listed("US, CA, Santa Clara")?.as_deref(), Some("US, CA, Santa Clara"));
        let detail = json!({"location": "Berlin", "additionalLocations": ["Munich", " "]});
        let n = normalize(&json!({"title": "a", "locationsText": "2 Locations"}), Some(&detail))?;
        assert_eq!(n.location.as_deref(), Some("Berlin | Munich"));
        Ok(())
    }
}
