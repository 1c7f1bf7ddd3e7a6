//! Workable, SmartRecruiters, Recruitee and BambooHR answer in their real shapes.

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, ensure};
use bw_fake_ats::Kind;
use serde_json::Value;

use crate::common::{Harness, fixture, fixture_json, keys, same_shape};

#[tokio::test]
async fn workable_lists_a_job_once_per_location_under_one_shortcode() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workable, "acme", 20, 4);
    let body = h.json("/api/v1/widget/accounts/acme?details=true").await?;
    ensure!(body["name"] == "Acme" && body["description"].is_string(), "{}", body["name"]);
    let jobs = body["jobs"].as_array().context("jobs")?;
    let template = &fixture_json("workable/jobagent_vasion_widget.json")?["jobs"][0];
    let mut places: HashMap<&str, Vec<&Value>> = HashMap::new();
    for job in jobs {
        same_shape(template, job, &[])?;
        let locations = job["locations"].as_array().context("locations")?;
        ensure!(locations.len() == 1, "a listing with {} locations", locations.len());
        ensure!(job["city"] == locations[0]["city"] && job["state"] == locations[0]["region"]);
        ensure!(job["country"] == locations[0]["country"]);
        places.entry(job["shortcode"].as_str().context("shortcode")?).or_default().push(&locations[0]);
    }
    let ids = h.fake.posting_ids(Kind::Workable, "acme");
    ensure!(places.len() == 20 && ids.iter().all(|id| places.contains_key(id.as_str())));
    let repeated: Vec<_> = places.values().filter(|places| places.len() > 1).collect();
    ensure!(repeated.len() == 4, "{} jobs listed more than once", repeated.len());
    for places in repeated {
        ensure!((2..=3).contains(&places.len()));
        let cities: HashSet<&Value> = places.iter().map(|place| &place["city"]).collect();
        ensure!(cities.len() == places.len(), "a job repeated in the same place");
    }
    ensure!(jobs.len() > 20 && jobs.iter().all(|job| job["description"].as_str().is_some_and(|d| d.contains("<p>"))));
    let plain = h.json("/api/v1/widget/accounts/acme").await?;
    let plain = plain["jobs"].as_array().context("jobs")?;
    ensure!(plain.len() == jobs.len() && plain.iter().all(|job| job.get("description").is_none()));

    let file = "workable/jobagent_vasion_widget.json";
    ensure!(h.fake.load_fixture_board(Kind::Workable, "vasion", file)? == 2);
    let (_, _, body) = h.get("/api/v1/widget/accounts/vasion?details=true").await?;
    ensure!(body == fixture(file)?, "not verbatim");
    let plain = h.json("/api/v1/widget/accounts/vasion").await?;
    ensure!(plain["name"] == "Vasion" && plain["jobs"][1]["shortcode"] == "15F16B8D99");
    ensure!(plain["jobs"][0].get("description").is_none());
    let (status, content_type, _) = h.get("/api/v1/widget/accounts/nope").await?;
    ensure!(status == 404 && content_type.starts_with("application/json"));
    Ok(())
}

#[tokio::test]
async fn smartrecruiters_pages_by_offset_up_to_a_hundred() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Smartrecruiters, "Acme", 130, 1);
    let real = fixture_json("smartrecruiters/vjd_vitol_list_limit5.json")?;
    let first = h.json("/v1/companies/Acme/postings").await?;
    ensure!(first["offset"] == 0 && first["limit"] == 10 && first["totalFound"] == 130, "{}", keys(&first).join(","));
    ensure!(keys(&first) == keys(&real));
    ensure!(first["content"].as_array().map(Vec::len) == Some(10));
    let mut listed = Vec::new();
    for offset in [0, 100] {
        let page = h.json(&format!("/v1/companies/Acme/postings?limit=100&offset={offset}")).await?;
        ensure!(page["offset"] == offset && page["limit"] == 100 && page["totalFound"] == 130);
        for row in page["content"].as_array().context("content")? {
            same_shape(&real["content"][0], row, &["location.latitude", "location.longitude", "location.region"])?;
            ensure!(row["department"]["id"].is_string(), "a list row's department id is a string");
            listed.push(row["id"].as_str().context("id")?.to_owned());
        }
    }
    ensure!(listed == h.fake.posting_ids(Kind::Smartrecruiters, "Acme"), "offset pages are the board in order");
    let past = h.json("/v1/companies/Acme/postings?limit=100&offset=200").await?;
    ensure!(past["content"].as_array().is_some_and(Vec::is_empty) && past["totalFound"] == 130);
    for bad in ["limit=101", "limit=ten", "offset=-1"] {
        let (status, content_type, body) = h.get(&format!("/v1/companies/Acme/postings?{bad}")).await?;
        ensure!(status == 400 && content_type.starts_with("application/json"), "{bad}: {status}");
        let body: Value = serde_json::from_str(&body)?;
        ensure!(body["message"].as_str().is_some_and(|m| m.contains(bad.split('=').next().unwrap_or(bad))), "{body}");
    }

    let detail = h.json(&format!("/v1/companies/Acme/postings/{}", listed[7])).await?;
    same_shape(
        &fixture_json("smartrecruiters/vjd_vitol_detail.json")?,
        &detail,
        &["location.latitude", "location.longitude", "location.region"],
    )?;
    ensure!(detail["id"] == listed[7].as_str() && detail["department"]["id"].is_u64());
    ensure!(detail["jobAd"]["sections"]["jobDescription"]["text"].as_str().is_some_and(|t| t.contains("<li>")));
    ensure!(detail["postingUrl"].as_str().is_some_and(|url| url.contains(&listed[7])));
    let (status, _, _) = h.get("/v1/companies/Acme/postings/744000000000000").await?;
    ensure!(status == 404);

    let list = "smartrecruiters/vjd_vitol_list_limit5.json";
    ensure!(h.fake.load_fixture_board(Kind::Smartrecruiters, "Vitol", list)? == 5);
    let (_, _, body) = h.get("/v1/companies/Vitol/postings?limit=5&offset=0").await?;
    ensure!(body == fixture(list)?, "the recorded page is not verbatim");
    let (_, _, body) = h.get("/v1/companies/Vitol/postings/744000133666057").await?;
    ensure!(body == fixture("smartrecruiters/vjd_vitol_detail.json")?, "the recorded detail is not verbatim");
    let rebuilt = h.json("/v1/companies/Vitol/postings?limit=100").await?;
    ensure!(rebuilt["totalFound"] == 5 && rebuilt["content"] == real["content"], "rows as recorded");
    let second =
        h.json(&format!("/v1/companies/Vitol/postings/{}", real["content"][1]["id"].as_str().unwrap_or(""))).await?;
    ensure!(
        second["name"] == real["content"][1]["name"]
            && second["jobAd"]["sections"]["qualifications"]["text"].is_string()
    );
    ensure!(h.fake.load_fixture_board(Kind::Smartrecruiters, "One", "smartrecruiters/vjd_vitol_detail.json")? == 1);
    let one = h.json("/v1/companies/One/postings").await?;
    ensure!(one["content"][0]["id"] == "744000133666057" && one["content"][0]["department"]["id"] == "1736387");
    Ok(())
}

#[tokio::test]
async fn recruitee_offers_carry_their_html_inline() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Recruitee, "acme", 12, 2);
    let body = h.json("/recruitee/acme/api/offers/").await?;
    ensure!(body == h.json("/recruitee/acme/api/offers").await?, "with and without the slash");
    let real = fixture_json("recruitee/careerkit_offers_sanitized.json")?;
    let offers = body["offers"].as_array().context("offers")?;
    ensure!(offers.len() == 12);
    let mut paid = 0;
    for offer in offers {
        same_shape(&real["offers"][0], offer, &[])?;
        ensure!(offer["id"].is_u64(), "id is a number");
        ensure!(offer["description"].as_str().is_some_and(|d| d.contains("<p>")));
        ensure!(offer["requirements"].as_str().is_some_and(|d| d.contains("<li>")));
        ensure!(offer["translations"]["en"]["title"] == offer["title"]);
        paid += usize::from(offer["salary"]["min"].is_string());
    }
    ensure!(paid > 0 && paid < 12, "{paid} offers of 12 show a salary");
    let ids: Vec<String> = offers.iter().map(|offer| offer["id"].to_string()).collect();
    ensure!(ids == h.fake.posting_ids(Kind::Recruitee, "acme"));
    let file = "recruitee/careerkit_offers_sanitized.json";
    ensure!(h.fake.load_fixture_board(Kind::Recruitee, "acme", file)? == 2);
    let (_, _, body) = h.get("/recruitee/acme/api/offers/").await?;
    ensure!(body == fixture(file)?);
    Ok(())
}

#[tokio::test]
async fn bamboohr_lists_and_details_and_miscounts() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let real = fixture_json("bamboohr/mwbackend_collectivemeasures_list.json")?;
    let real_detail = fixture_json("bamboohr/mwbackend_collectivemeasures_detail.json")?;
    for (seed, extra) in [(1, 1), (2, 0)] {
        h.fake.generate_board(Kind::Bamboohr, "acme", 8, seed);
        let list = h.json("/bamboohr/acme/careers/list").await?;
        let rows = list["result"].as_array().context("result")?;
        ensure!(rows.len() == 8 && list["meta"]["totalCount"] == 8 + extra, "seed {seed}: {}", list["meta"]);
        for row in rows {
            same_shape(&real["result"][0], row, &[])?;
            let id = row["id"].as_str().context("id is a string")?;
            let detail = h.json(&format!("/bamboohr/acme/careers/{id}/detail")).await?;
            same_shape(&real_detail, &detail, &[])?;
            let opening = &detail["result"]["jobOpening"];
            ensure!(opening["jobOpeningName"] == row["jobOpeningName"]);
            ensure!(opening["jobOpeningShareUrl"] == format!("https://acme.bamboohr.com/careers/{id}"));
            ensure!(opening["description"].as_str().is_some_and(|d| d.contains("<ul>")));
        }
    }
    let (status, content_type, _) = h.get("/bamboohr/acme/careers/1/detail").await?;
    ensure!(status == 404 && content_type.starts_with("application/json"));

    let list = "bamboohr/mwbackend_collectivemeasures_list.json";
    ensure!(h.fake.load_fixture_board(Kind::Bamboohr, "cm", list)? == 4);
    let (_, _, body) = h.get("/bamboohr/cm/careers/list").await?;
    ensure!(body == fixture(list)?);
    let (_, _, body) = h.get("/bamboohr/cm/careers/214/detail").await?;
    ensure!(body == fixture("bamboohr/mwbackend_collectivemeasures_detail.json")?);
    let made = h.json("/bamboohr/cm/careers/313/detail").await?;
    same_shape(&real_detail, &made, &[])?;
    ensure!(made["result"]["jobOpening"]["jobOpeningName"] == real["result"][2]["jobOpeningName"]);
    ensure!(h.fake.remove_posting(Kind::Bamboohr, "cm", "312"));
    let after = h.json("/bamboohr/cm/careers/list").await?;
    ensure!(after["meta"]["totalCount"] == 3 && after["result"].as_array().map(Vec::len) == Some(3));
    ensure!(
        h.fake.load_fixture_board(Kind::Bamboohr, "one", "bamboohr/mwbackend_collectivemeasures_detail.json")? == 1
    );
    let one = h.json("/bamboohr/one/careers/list").await?;
    ensure!(one["result"][0]["id"] == "214" && one["meta"]["totalCount"] == 1, "{one}");
    Ok(())
}
