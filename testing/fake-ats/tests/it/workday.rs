//! Workday's CXS API: POSTed searches of 20, `total` on the first page only, the 2,000 stop, facets, details.

use std::collections::HashSet;

use anyhow::{Context as _, ensure};
use bw_fake_ats::Kind;
use serde_json::{Value, json};

use crate::common::{Harness, fixture, fixture_json, same_shape, workday_search};

const JOBS: &str = "/workday/acme/wday/cxs/acme/Careers/jobs";
const SITE: &str = "/workday/acme/wday/cxs/acme/Careers";

async fn search(h: &Harness, body: &Value) -> anyhow::Result<Value> {
    let (status, content_type, text) = h.post_json(JOBS, body).await?;
    ensure!(status == 200 && content_type.starts_with("application/json"), "{body}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

fn paths(page: &Value) -> anyhow::Result<Vec<String>> {
    let postings = page["jobPostings"].as_array().context("jobPostings")?;
    postings.iter().map(|posting| posting["externalPath"].as_str().map(str::to_owned).context("externalPath")).collect()
}

const POSTED: [&str; 3] = ["Posted Today", "Posted Yesterday", "Posted 30+ Days Ago"];

fn relative(text: &str) -> bool {
    POSTED.contains(&text)
        || text
            .strip_prefix("Posted ")
            .and_then(|rest| rest.strip_suffix(" Days Ago"))
            .and_then(|days| days.parse::<u32>().ok())
            .is_some_and(|days| (2..30).contains(&days))
}

#[tokio::test]
async fn pages_of_twenty_with_the_total_on_the_first_page_only() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workday, "acme.Careers", 45, 3);
    let template = &fixture_json("workday/eujobfeeds_nvidia_list.json")?["jobPostings"][0];
    let mut listed = Vec::new();
    for (offset, total, count) in [(0, 45, 20), (20, 0, 20), (40, 0, 5)] {
        let page = search(&h, &workday_search(offset, &json!({}))).await?;
        ensure!(page["total"] == total, "offset {offset}: total {}", page["total"]);
        let facets = page["facets"].as_array().context("facets")?;
        ensure!((offset == 0) != facets.is_empty(), "offset {offset}: facets {}", facets.len());
        ensure!(page["userAuthenticated"] == false);
        for posting in page["jobPostings"].as_array().context("jobPostings")? {
            same_shape(template, posting, &[])?;
            let posted = posting["postedOn"].as_str().context("postedOn")?;
            ensure!(relative(posted), "postedOn {posted}");
            let path = posting["externalPath"].as_str().context("path")?;
            ensure!(
                path.starts_with("/job/") && posting["bulletFields"][0].as_str().is_some_and(|r| path.ends_with(r))
            );
        }
        let page = paths(&page)?;
        ensure!(page.len() == count, "offset {offset}: {} postings", page.len());
        listed.extend(page);
    }
    ensure!(listed == h.fake.posting_ids(Kind::Workday, "acme.Careers"), "pages are the board in order");
    let shown: HashSet<&str> = listed.iter().map(String::as_str).collect();
    ensure!(shown.len() == 45, "a posting listed twice");

    let (status, content_type, body) = h.post_json(JOBS, &json!({ "limit": 21, "offset": 0 })).await?;
    ensure!(status == 400 && content_type.starts_with("application/json"), "{status} {body}");
    let error: Value = serde_json::from_str(&body)?;
    ensure!(error["message"].as_str().is_some_and(|m| m.contains("maximum of 20")), "{error}");
    let (status, _, body) = h.post_json(JOBS, &json!({ "appliedFacets": [] })).await?;
    ensure!(status == 400 && body.contains("appliedFacets"), "{status} {body}");
    let (status, _, _) = h.get(JOBS).await?;
    ensure!(status == 405, "GET answered {status}");
    let plain = h.client.post(h.url(JOBS)).body(workday_search(0, &json!({})).to_string()).send().await?;
    ensure!(plain.status() == 415, "a POST without a JSON content type: {}", plain.status());
    for other in ["/workday/acme/wday/cxs/acme/Other/jobs", "/workday/acme/wday/cxs/globex/Careers/jobs"] {
        let (status, _, _) = h.post_json(other, &workday_search(0, &json!({}))).await?;
        ensure!(status == 404, "{other}: {status}");
    }
    Ok(())
}

#[tokio::test]
async fn a_search_stops_at_two_thousand() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workday, "acme.Careers", 2_050, 1);
    let first = search(&h, &workday_search(0, &json!({}))).await?;
    ensure!(first["total"] == 2000, "total {}", first["total"]);
    let categories = first["facets"][0]["values"].as_array().context("values")?;
    let counted: u64 = categories.iter().filter_map(|value| value["count"].as_u64()).sum();
    ensure!(counted == 2_050, "facet counts are real counts past the stop: {counted}");
    for (offset, count) in [(1_980, 20), (1_990, 10), (2_000, 0), (2_040, 0)] {
        let page = search(&h, &workday_search(offset, &json!({}))).await?;
        ensure!(paths(&page)?.len() == count && page["total"] == 0, "offset {offset}: {page}");
    }
    Ok(())
}

#[tokio::test]
async fn facets_count_the_postings_they_filter_to() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workday, "acme.Careers", 300, 5);
    let first = search(&h, &workday_search(0, &json!({}))).await?;
    ensure!(first["total"] == 300);
    let facets = first["facets"].as_array().context("facets")?;
    let parameters: Vec<&str> = facets.iter().filter_map(|facet| facet["facetParameter"].as_str()).collect();
    ensure!(parameters == ["jobFamilyGroup", "locations"], "{parameters:?}");
    let categories = facets[0]["values"].as_array().context("values")?;
    ensure!(categories.len() >= 2 && facets[1]["values"].as_array().is_some_and(|v| v.len() >= 2));

    // Each category filters to exactly its count; together they are the whole board, once each.
    let mut seen = HashSet::new();
    for value in categories {
        let (id, count) = (value["id"].as_str().context("id")?, value["count"].as_u64().context("count")?);
        ensure!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "id {id}");
        let filter = json!({ "jobFamilyGroup": [id] });
        let mut total = None;
        let mut offset = 0;
        loop {
            let page = search(&h, &workday_search(offset, &filter)).await?;
            total = total.or(page["total"].as_u64());
            let listed = paths(&page)?;
            if listed.is_empty() {
                break;
            }
            for path in listed {
                ensure!(seen.insert(path.clone()), "{path} is in two categories");
            }
            offset += 20;
        }
        ensure!(total == Some(count), "{} filters to {total:?}, counted {count}", value["descriptor"]);
    }
    ensure!(seen.len() == 300);

    // Ids of one parameter are or-ed; parameters are and-ed, and a facet counts with the others' filters applied.
    let (a, b) = (&categories[0], &categories[1]);
    let both = search(&h, &workday_search(0, &json!({ "jobFamilyGroup": [a["id"], b["id"]] }))).await?;
    ensure!(both["total"].as_u64() == Some(a["count"].as_u64().unwrap_or(0) + b["count"].as_u64().unwrap_or(0)));
    let category = search(&h, &workday_search(0, &json!({ "jobFamilyGroup": [a["id"]] }))).await?;
    ensure!(category["facets"][0]["values"] == first["facets"][0]["values"], "a facet ignores its own filter");
    let place = &category["facets"][1]["values"][0];
    let narrowed = json!({ "jobFamilyGroup": [a["id"]], "locations": [place["id"]] });
    let narrowed = search(&h, &workday_search(0, &narrowed)).await?;
    ensure!(narrowed["total"] == place["count"], "{} vs {place}", narrowed["total"]);
    ensure!(narrowed["total"].as_u64() < a["count"].as_u64(), "both filters apply");
    let none = search(&h, &workday_search(0, &json!({ "locations": ["0000"] }))).await?;
    ensure!(none["total"] == 0 && paths(&none)?.is_empty());
    let text = search(&h, &json!({ "limit": 20, "offset": 0, "searchText": "engineer" })).await?;
    let titles = text["jobPostings"].as_array().context("postings")?;
    ensure!(!titles.is_empty() && titles.iter().all(|p| p["title"].as_str().is_some_and(|t| t.contains("Engineer"))));
    Ok(())
}

#[tokio::test]
async fn details_have_the_real_shape_and_agree_with_the_list() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workday, "acme.Careers", 30, 2);
    let page = search(&h, &workday_search(0, &json!({}))).await?;
    let template = fixture_json("workday/eujobfeeds_nvidia_detail.json")?;
    let mut several = false;
    for posting in page["jobPostings"].as_array().context("postings")? {
        let path = posting["externalPath"].as_str().context("path")?;
        let detail = h.json(&format!("{SITE}{path}")).await?;
        same_shape(&template, &detail, &[])?;
        let info = &detail["jobPostingInfo"];
        ensure!(info["title"] == posting["title"] && info["postedOn"] == posting["postedOn"], "{info}");
        ensure!(info["jobReqId"] == posting["bulletFields"][0]);
        ensure!(
            info["externalUrl"]
                .as_str()
                .is_some_and(|url| url == format!("https://acme.wd5.myworkdayjobs.com/Careers{path}"))
        );
        ensure!(info["jobDescription"].as_str().is_some_and(|html| html.contains("<li>")));
        let start = info["startDate"].as_str().context("startDate")?;
        chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").with_context(|| format!("startDate {start}"))?;
        ensure!(detail["hiringOrganization"]["name"] == "Acme");
        if let Some(more) = info["additionalLocations"].as_array() {
            several = true;
            ensure!(posting["locationsText"] == format!("{} Locations", more.len() + 1), "{posting}");
        } else {
            ensure!(posting["locationsText"] == info["location"]);
        }
    }
    ensure!(several, "no posting in several locations among 20");
    let (status, content_type, _) = h.get(&format!("{SITE}/job/Nowhere/Nothing_JR1")).await?;
    ensure!(status == 404 && content_type.starts_with("application/json"));
    Ok(())
}

#[tokio::test]
async fn fixtures_are_served_verbatim_and_their_postings_have_details() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let token = "nvidia.NVIDIAExternalCareerSite";
    let site = "/workday/nvidia/wday/cxs/nvidia/NVIDIAExternalCareerSite";
    ensure!(h.fake.load_fixture_board(Kind::Workday, token, "workday/eujobfeeds_nvidia_list.json")? == 3);
    let (status, _, body) = h.post_json(&format!("{site}/jobs"), &workday_search(0, &json!({}))).await?;
    ensure!(status == 200 && body == fixture("workday/eujobfeeds_nvidia_list.json")?, "not the fixture: {body}");
    let ids = h.fake.posting_ids(Kind::Workday, token);
    let first = ids.first().context("first")?;
    let (status, _, body) = h.get(&format!("{site}{first}")).await?;
    ensure!(status == 200 && body == fixture("workday/eujobfeeds_nvidia_detail.json")?, "first detail not verbatim");
    // The other two get a detail made from the template, for their own title.
    let template = fixture_json("workday/eujobfeeds_nvidia_detail.json")?;
    let second = h.json(&format!("{site}{}", ids.get(1).context("second")?)).await?;
    same_shape(&template, &second, &[])?;
    ensure!(second["jobPostingInfo"]["jobReqId"] == "JR1980127", "{second}");
    ensure!(second["jobPostingInfo"]["title"].as_str().is_some_and(|t| t.starts_with("Distinguished Software")));
    ensure!(second["jobPostingInfo"]["postedOn"] == "Posted Yesterday");

    // Changed through the control API (the id percent-encoded), the list is rebuilt with the id kept.
    let encoded = ids.get(2).context("third")?.replace('/', "%2F");
    let (status, _) =
        h.control(reqwest::Method::POST, &format!("/_fake/boards/workday/{token}/change/{encoded}"), "").await?;
    ensure!(status == 200, "change: {status}");
    let (_, _, body) = h.post_json(&format!("{site}/jobs"), &workday_search(0, &json!({}))).await?;
    let page: Value = serde_json::from_str(&body)?;
    ensure!(paths(&page)? == ids && page["total"] == 3, "{page}");
    let real = fixture_json("workday/eujobfeeds_nvidia_list.json")?;
    ensure!(page["jobPostings"][2]["title"] != real["jobPostings"][2]["title"]);
    ensure!(page["jobPostings"][0]["postedOn"] == real["jobPostings"][0]["postedOn"], "recorded postedOn kept");

    // The other list fixture, and a detail file alone.
    ensure!(
        h.fake.load_fixture_board(
            Kind::Workday,
            "salesforce.External_Career_Site",
            "workday/careerkit_salesforce_list.json"
        )? == 2
    );
    ensure!(h.fake.load_fixture_board(Kind::Workday, "nv.Site", "workday/eujobfeeds_nvidia_detail.json")? == 1);
    let (_, _, body) = h.post_json("/workday/nv/wday/cxs/nv/Site/jobs", &workday_search(0, &json!({}))).await?;
    let page: Value = serde_json::from_str(&body)?;
    ensure!(paths(&page)? == [first.clone()] && page["jobPostings"][0]["bulletFields"][0] == "JR2021705", "{page}");
    let (_, _, body) = h.get(&format!("/workday/nv/wday/cxs/nv/Site{first}")).await?;
    ensure!(body == fixture("workday/eujobfeeds_nvidia_detail.json")?);
    Ok(())
}
