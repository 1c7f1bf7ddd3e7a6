//! Teamtailor's JSON and RSS feeds and Personio's XML feed.

use std::collections::HashMap;

use anyhow::{Context as _, ensure};
use bw_fake_ats::{Failure, Kind};
use serde_json::Value;

use crate::common::{Harness, fixture, fixture_json, same_shape, xml};

#[tokio::test]
async fn teamtailor_serves_both_feeds_of_a_generated_board_with_the_same_postings() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Teamtailor, "acme", 9, 2);
    let feed = h.json("/teamtailor/acme/jobs.json").await?;
    let real = fixture_json("teamtailor/careerkit_teamtailor_jobs_feed.json")?;
    ensure!(feed["version"] == real["version"] && feed["feed_url"] == "https://acme.teamtailor.com/jobs.json");
    let items = feed["items"].as_array().context("items")?;
    for item in items {
        same_shape(&real["items"][0], item, &[])?;
        ensure!(item["_jobposting"]["@type"] == "JobPosting" && item["_jobposting"]["title"] == item["title"]);
        ensure!(item["content_html"].as_str().is_some_and(|html| html.contains("<li>")), "no content_html");
        chrono::DateTime::parse_from_rfc3339(item["date_published"].as_str().context("date")?)?;
    }
    let ids: Vec<&str> = items.iter().filter_map(|item| item["id"].as_str()).collect();
    ensure!(ids == h.fake.posting_ids(Kind::Teamtailor, "acme"));

    let (status, content_type, rss) = h.get("/teamtailor/acme/jobs.rss").await?;
    ensure!(status == 200 && content_type.starts_with("application/rss+xml"), "{status} {content_type}");
    ensure!(rss.contains("xmlns:tt=\"https://teamtailor.com/locations\""));
    let root = xml::parse(&rss)?;
    ensure!(root.name == "rss");
    let channel = root.child("channel").context("channel")?;
    ensure!(channel.text_of("title") == "Acme" && channel.child("description").is_some());
    let rss_items: Vec<&xml::Element> = channel.all("item").collect();
    let guids: Vec<String> = rss_items.iter().map(|item| item.text_of("guid")).collect();
    ensure!(guids == ids, "the RSS guids are the JSON ids");
    for (item, json) in rss_items.iter().zip(items) {
        ensure!(item.text_of("title") == json["title"].as_str().unwrap_or_default());
        ensure!(item.text_of("description") == json["content_html"].as_str().unwrap_or_default(), "description");
        ensure!(item.text_of("link") == json["url"].as_str().unwrap_or_default());
        let locations = item.child("tt:locations").context("tt:locations")?;
        ensure!(
            locations
                .all("tt:location")
                .all(|l| !l.text_of("tt:city").is_empty() && !l.text_of("tt:country").is_empty())
        );
        ensure!(item.child("tt:department").is_some() && item.child("tt:role").is_some());
        ensure!(chrono::DateTime::parse_from_rfc2822(&item.text_of("pubDate")).is_ok(), "{}", item.text_of("pubDate"));
    }
    // HTML inside an RSS description is entity-escaped, never raw markup.
    for description in rss.split("<description>").skip(1).filter_map(|rest| rest.split("</description>").next()) {
        ensure!(!description.contains('<') && description.contains("&lt;p&gt;"), "{description}");
    }
    Ok(())
}

#[tokio::test]
async fn a_teamtailor_fixture_board_serves_only_its_own_feed() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    ensure!(h.fake.load_fixture_board(Kind::Teamtailor, "ferd", "teamtailor/jobba_ferd_jobs.rss")? == 3);
    let (status, content_type, rss) = h.get("/teamtailor/ferd/jobs.rss").await?;
    ensure!(
        status == 200
            && content_type.starts_with("application/rss+xml")
            && rss == fixture("teamtailor/jobba_ferd_jobs.rss")?
    );
    let (status, _, _) = h.get("/teamtailor/ferd/jobs.json").await?;
    ensure!(status == 404, "an RSS board's JSON feed: {status}");
    ensure!(h.fake.posting_ids(Kind::Teamtailor, "ferd")[0] == "a23bdfdf-e5b7-49d8-8923-e77f96224a6f");

    let file = "teamtailor/careerkit_teamtailor_jobs_feed.json";
    ensure!(h.fake.load_fixture_board(Kind::Teamtailor, "career", file)? == 2);
    let (_, _, body) = h.get("/teamtailor/career/jobs.json").await?;
    ensure!(body == fixture(file)?);
    let (status, _, _) = h.get("/teamtailor/career/jobs.rss").await?;
    ensure!(status == 404, "a JSON board's RSS feed: {status}");

    // Changed, the RSS board's feed is rebuilt from its items, still RSS, the others as recorded.
    let ids = h.fake.posting_ids(Kind::Teamtailor, "ferd");
    ensure!(h.fake.change_posting(Kind::Teamtailor, "ferd", &ids[1]));
    let (_, _, after) = h.get("/teamtailor/ferd/jobs.rss").await?;
    let before = xml::parse(&fixture("teamtailor/jobba_ferd_jobs.rss")?)?;
    let after = xml::parse(&after)?;
    let items = |root: &xml::Element| -> Vec<(String, String, String)> {
        let channel = root.child("channel");
        channel
            .into_iter()
            .flat_map(|channel| channel.all("item"))
            .map(|item| (item.text_of("guid"), item.text_of("title"), item.text_of("description")))
            .collect()
    };
    let (before, after) = (items(&before), items(&after));
    ensure!(before.len() == 3 && after.len() == 3 && before[0] == after[0] && before[2] == after[2]);
    ensure!(before[1].0 == after[1].0 && before[1].1 != after[1].1 && after[1].2.contains("revision 1"));
    // The JSON board gains the content_html its fixture was trimmed of.
    let ids = h.fake.posting_ids(Kind::Teamtailor, "career");
    ensure!(h.fake.change_posting(Kind::Teamtailor, "career", &ids[0]));
    let feed = h.json("/teamtailor/career/jobs.json").await?;
    ensure!(feed["items"][0]["content_html"].as_str().is_some_and(|html| html.contains("revision 1")));
    ensure!(feed["items"][0]["_jobposting"]["title"] == feed["items"][0]["title"]);
    Ok(())
}

#[tokio::test]
async fn personio_repeats_an_id_and_leaves_some_descriptions_empty() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Personio, "acme", 12, 3);
    let (status, content_type, body) = h.get("/personio/acme/xml").await?;
    ensure!(status == 200 && content_type.contains("xml"), "{status} {content_type}");
    ensure!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<workzag-jobs>"));
    let root = xml::parse(&body)?;
    let positions: Vec<&xml::Element> = root.all("position").collect();
    let mut times: HashMap<String, usize> = HashMap::new();
    for position in &positions {
        *times.entry(position.text_of("id")).or_default() += 1;
    }
    let repeated: Vec<(&String, &usize)> = times.iter().filter(|(_, times)| **times > 1).collect();
    ensure!(positions.len() == 13 && times.len() == 12 && repeated.len() == 1, "{times:?}");
    let ids = h.fake.posting_ids(Kind::Personio, "acme");
    ensure!(ids.len() == 12 && ids.iter().all(|id| times.contains_key(id)));
    let real = xml::parse(&fixture("personio/clearfetch_personio_feed_one_position.xml")?)?;
    let real = real.child("position").context("position")?;
    let mut empty = 0;
    for position in &positions {
        for element in &real.children {
            ensure!(
                position.child(&element.name).is_some() || element.name == "additionalOffices",
                "no <{}>",
                element.name
            );
        }
        let blocks: Vec<&xml::Element> =
            position.child("jobDescriptions").context("jobDescriptions")?.all("jobDescription").collect();
        empty += usize::from(blocks.is_empty());
        for block in blocks {
            ensure!(!block.text_of("name").is_empty() && !block.text_of("value").is_empty());
        }
    }
    ensure!(empty >= 1 && empty < positions.len(), "{empty} positions without descriptions");
    ensure!(body.contains("<![CDATA[<ul><li>"), "descriptions are CDATA");

    h.fake.set_failure(Kind::Personio, "acme", Some(Failure::NotFound));
    for path in ["/personio/acme/xml", "/personio/nope/xml"] {
        let (status, content_type, page) = h.get(path).await?;
        ensure!(status == 404 && content_type.starts_with("text/html"), "{path}: {status} {content_type}");
        ensure!(page.contains("<html") && !page.contains("<?xml") && !page.contains("<workzag-jobs"), "{page}");
    }
    Ok(())
}

#[tokio::test]
async fn personio_fixtures_load_with_their_repeated_id() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let file = "personio/careerkit_feed_sanitized.xml";
    ensure!(h.fake.load_fixture_board(Kind::Personio, "acme", file)? == 1, "one posting listed twice");
    ensure!(h.fake.posting_ids(Kind::Personio, "acme") == ["1834171"]);
    let (_, _, body) = h.get("/personio/acme/xml").await?;
    ensure!(body == fixture(file)?);
    let one = "personio/clearfetch_personio_feed_one_position.xml";
    ensure!(h.fake.load_fixture_board(Kind::Personio, "personio", one)? == 1);
    let (_, _, body) = h.get("/personio/personio/xml").await?;
    ensure!(body == fixture(one)?);

    // Rebuilt after a change: still listed twice, the new title in both listings, the description block added.
    ensure!(h.fake.change_posting(Kind::Personio, "acme", "1834171"));
    let (_, _, body) = h.get("/personio/acme/xml").await?;
    let root = xml::parse(&body)?;
    let positions: Vec<&xml::Element> = root.all("position").collect();
    ensure!(positions.len() == 2 && positions.iter().all(|p| p.text_of("id") == "1834171"));
    ensure!(positions[0].text_of("name") != "Staff Software Engineer, Data Platform");
    ensure!(positions[0].text_of("subcompany") == "Acme SE & Co. KG", "entities decoded and written back");
    let block = positions[1].child("jobDescriptions").and_then(|blocks| blocks.child("jobDescription"));
    ensure!(block.is_some_and(|block| block.text_of("value").contains("revision 1")));
    let value: Value = serde_json::to_value(h.fake.boards())?;
    ensure!(value[0]["postings"] == 1);
    Ok(())
}
