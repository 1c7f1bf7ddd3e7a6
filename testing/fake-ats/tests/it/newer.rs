//! The seven newer kinds steered like the first four: ids, changes, failures, delays, rate limits, control API.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use bw_fake_ats::{Failure, FakeAts, Kind};
use reqwest::Method;
use serde_json::Value;

use crate::common::{Harness, NEWER, listings, workday_search, xml};

/// Whether a 200 body parses as what the kind sends (JSON, or XML for Personio).
fn parses(kind: Kind, body: &str) -> bool {
    match kind {
        Kind::Personio => xml::parse(body).is_ok(),
        _ => serde_json::from_str::<Value>(body).is_ok(),
    }
}

#[test]
fn ids_are_stable_per_kind_token_seed_and_index() -> anyhow::Result<()> {
    let (a, b) = (FakeAts::new(), FakeAts::new());
    for (kind, token) in NEWER {
        a.generate_board(kind, token, 40, 9);
        b.generate_board(kind, token, 40, 9);
        let ids = a.posting_ids(kind, token);
        ensure!(ids == b.posting_ids(kind, token), "{kind}: same inputs, other ids");
        ensure!(ids.iter().collect::<HashSet<_>>().len() == 40, "{kind}: duplicate ids");
        b.generate_board(kind, token, 40, 10);
        let reseeded: HashSet<String> = b.posting_ids(kind, token).into_iter().collect();
        ensure!(ids.iter().all(|id| !reseeded.contains(id)), "{kind}: another seed shares ids");
        let other = if kind == Kind::Workday { "other.Careers" } else { "other" };
        a.generate_board(kind, other, 40, 9);
        let other: HashSet<String> = a.posting_ids(kind, other).into_iter().collect();
        ensure!(ids.iter().all(|id| !other.contains(id)), "{kind}: another token shares ids");
        let added = a.add_postings(kind, token, 2);
        ensure!(a.posting_ids(kind, token)[40..] == added[..], "{kind}: added postings come last");
    }
    let numeric = |kind: Kind, token: &str| a.posting_ids(kind, token).iter().all(|id| id.parse::<u64>().is_ok());
    ensure!(numeric(Kind::Recruitee, "acme") && numeric(Kind::Personio, "acme") && numeric(Kind::Bamboohr, "acme"));
    ensure!(
        a.posting_ids(Kind::Workday, "acme.Careers").iter().all(|id| id.starts_with("/job/") && id.contains("_JR"))
    );
    ensure!(
        a.posting_ids(Kind::Workable, "acme")
            .iter()
            .all(|id| id.len() == 10 && id.chars().all(|c| c.is_ascii_hexdigit()))
    );
    Ok(())
}

#[tokio::test]
async fn every_newer_kind_shows_changes_removals_and_additions() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    for (kind, token) in NEWER {
        h.fake.generate_board(kind, token, 6, 1);
        let ids = h.fake.posting_ids(kind, token);
        let (status, _, body) = h.list(kind, token).await?;
        ensure!(status == 200, "{kind}: {status}");
        let before = listings(kind, &body)?;
        let distinct: Vec<String> = before.iter().map(|(id, _)| id.clone()).fold(Vec::new(), |mut seen, id| {
            if !seen.contains(&id) {
                seen.push(id);
            }
            seen
        });
        ensure!(distinct == ids, "{kind}: the list is not the board in order");

        let (target, gone) = (ids[1].clone(), ids[2].clone());
        ensure!(h.fake.change_posting(kind, token, &target), "{kind}: change");
        ensure!(h.fake.remove_posting(kind, token, &gone), "{kind}: remove");
        let added = h.fake.add_postings(kind, token, 3);
        let (_, _, body) = h.list(kind, token).await?;
        let after = listings(kind, &body)?;
        let title = |list: &[(String, String)], id: &str| list.iter().find(|(i, _)| i == id).map(|(_, t)| t.clone());
        ensure!(title(&after, &target).is_some() && title(&after, &target) != title(&before, &target), "{kind}: title");
        ensure!(title(&after, &ids[0]) == title(&before, &ids[0]), "{kind}: another posting changed");
        ensure!(title(&after, &gone).is_none(), "{kind}: removed posting still listed");
        ensure!(added.iter().all(|id| title(&after, id).is_some()), "{kind}: added postings missing");
        ensure!(h.fake.posting_ids(kind, token).len() == 8);
        // The description changed too, in the list or in the detail the kind keeps it in.
        let detail = match kind {
            Kind::Workday => Some(format!("/workday/acme/wday/cxs/acme/Careers{target}")),
            Kind::Smartrecruiters => Some(format!("/v1/companies/{token}/postings/{target}")),
            Kind::Bamboohr => Some(format!("/bamboohr/{token}/careers/{target}/detail")),
            _ => None,
        };
        let described = match detail {
            Some(path) => h.get(&path).await?.2,
            None => body,
        };
        ensure!(described.contains("Updated listing (revision 1)"), "{kind}: description unchanged");
        ensure!(!h.fake.change_posting(kind, token, "no-such-id") && !h.fake.remove_posting(kind, token, &gone));
    }
    Ok(())
}

#[tokio::test]
async fn failures_and_delays_apply_to_every_newer_kind() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    for (kind, token) in NEWER {
        h.fake.generate_board(kind, token, 4, 1);
        for (failure, expected) in [(Failure::NotFound, 404), (Failure::ServerError, 500)] {
            h.fake.set_failure(kind, token, Some(failure));
            let (status, content_type, body) = h.list(kind, token).await?;
            ensure!(status == expected, "{kind} {failure:?}: {status}");
            let html = matches!(kind, Kind::Teamtailor | Kind::Personio);
            ensure!(
                content_type.starts_with(if html { "text/html" } else { "application/json" }),
                "{kind}: {content_type}"
            );
            ensure!(html || serde_json::from_str::<Value>(&body).is_ok(), "{kind}: error body {body}");
        }
        h.fake.set_failure(kind, token, Some(Failure::Malformed));
        let (status, _, body) = h.list(kind, token).await?;
        ensure!(status == 200 && !body.is_empty() && !parses(kind, &body), "{kind}: malformed body parsed");
        h.fake.set_failure(kind, token, None);
        let (status, _, body) = h.list(kind, token).await?;
        ensure!(status == 200 && parses(kind, &body), "{kind}: healed {status}");

        h.fake.set_delay(kind, token, Duration::from_millis(300));
        let started = Instant::now();
        h.list(kind, token).await?;
        ensure!(started.elapsed() >= Duration::from_millis(300), "{kind}: not delayed");
        h.fake.set_delay(kind, token, Duration::ZERO);
    }
    // A hanging Workday board times its client out.
    h.fake.set_failure(Kind::Workday, "acme.Careers", Some(Failure::Hang));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build()?;
    let url = h.server.board_url(Kind::Workday, "acme.Careers");
    let error = impatient.post(url).json(&workday_search(0, &serde_json::json!({}))).send().await.err();
    ensure!(error.is_some_and(|error| error.is_timeout()), "a hanging board answered");
    Ok(())
}

#[tokio::test]
async fn a_rate_limited_board_answers_429_with_retry_after() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Workable, "acme", 3, 1);
    h.fake.generate_board(Kind::Workable, "other", 3, 1);
    h.fake.set_rate_limit(Kind::Workable, "acme", Some(2));
    let path = "/api/v1/widget/accounts/acme?details=true";
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = h.client.get(h.url(path)).send().await?;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry =
                response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            ensure!(retry.as_deref() == Some("1"), "Retry-After {retry:?}");
            let body: Value = response.json().await.context("429 body is JSON")?;
            ensure!(body["error"].is_string(), "{body}");
        }
    }
    ensure!(statuses == [200, 200, 429, 429], "{statuses:?}");
    let (status, _, _) = h.get("/api/v1/widget/accounts/other").await?;
    ensure!(status == 200, "another board is not limited");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, _, _) = h.get(path).await?;
    ensure!(status == 200, "a second later: {status}");
    h.fake.set_rate_limit(Kind::Workable, "acme", None);
    for _ in 0..5 {
        ensure!(h.get(path).await?.0 == 200, "limit lifted");
    }

    // Through the control API, on Workday's details too.
    h.fake.generate_board(Kind::Workday, "acme.Careers", 3, 1);
    let (status, body) =
        h.control(Method::POST, "/_fake/boards/workday/acme.Careers/rate_limit", r#"{"per_second": 1}"#).await?;
    ensure!(status == 200 && body["per_second"] == 1, "{body}");
    let summary = h.fake.boards().into_iter().find(|board| board.kind == Kind::Workday).context("board")?;
    ensure!(summary.rate_limit == Some(1));
    let id = h.fake.posting_ids(Kind::Workday, "acme.Careers")[0].clone();
    let detail = format!("/workday/acme/wday/cxs/acme/Careers{id}");
    let (first, _, _) = h.get(&detail).await?;
    let (second, content_type, body) = h.get(&detail).await?;
    ensure!(first == 200 && second == 429 && content_type.starts_with("application/json"), "{first} {second}");
    let body: Value = serde_json::from_str(&body)?;
    ensure!(body["httpStatus"] == 429, "{body}");
    let (status, _) =
        h.control(Method::POST, "/_fake/boards/workday/acme.Careers/rate_limit", r#"{"per_second": null}"#).await?;
    ensure!(status == 200 && h.get(&detail).await?.0 == 200);
    Ok(())
}

#[tokio::test]
async fn the_control_api_drives_the_newer_kinds() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let fixtures = [
        ("workday", "nvidia.Site", "workday/eujobfeeds_nvidia_list.json", 3),
        ("workday", "nv.Site", "workday/eujobfeeds_nvidia_detail.json", 1),
        ("workday", "salesforce.External", "workday/careerkit_salesforce_list.json", 2),
        ("workable", "vasion", "workable/jobagent_vasion_widget.json", 2),
        ("smartrecruiters", "Vitol", "smartrecruiters/vjd_vitol_list_limit5.json", 5),
        ("smartrecruiters", "One", "smartrecruiters/vjd_vitol_detail.json", 1),
        ("teamtailor", "ferd", "teamtailor/jobba_ferd_jobs.rss", 3),
        ("teamtailor", "career", "teamtailor/careerkit_teamtailor_jobs_feed.json", 2),
        ("recruitee", "acme", "recruitee/careerkit_offers_sanitized.json", 2),
        ("personio", "acme", "personio/careerkit_feed_sanitized.xml", 1),
        ("personio", "personio", "personio/clearfetch_personio_feed_one_position.xml", 1),
        ("bamboohr", "cm", "bamboohr/mwbackend_collectivemeasures_list.json", 4),
        ("bamboohr", "one", "bamboohr/mwbackend_collectivemeasures_detail.json", 1),
    ];
    for (kind, token, file, count) in fixtures {
        let body = serde_json::json!({ "fixture": file }).to_string();
        let (status, answer) = h.control(Method::POST, &format!("/_fake/boards/{kind}/{token}/fixture"), &body).await?;
        ensure!(status == 200 && answer["postings"] == count, "{file}: {status} {answer}");
    }
    for (kind, wrong) in
        [("personio", "workable/jobagent_vasion_widget.json"), ("workable", "personio/careerkit_feed_sanitized.xml")]
    {
        let body = serde_json::json!({ "fixture": wrong }).to_string();
        let (status, answer) = h.control(Method::POST, &format!("/_fake/boards/{kind}/x/fixture"), &body).await?;
        ensure!(
            status == 400 && answer["error"].as_str().is_some_and(|e| e.contains(wrong)),
            "{kind} {wrong}: {answer}"
        );
    }

    let (status, body) = h.control(Method::POST, "/_fake/boards/personio/gen", r#"{"count": 10, "seed": 2}"#).await?;
    ensure!(status == 200 && body["postings"] == 10);
    let (_, body) = h.control(Method::GET, "/_fake/boards/personio/gen", "").await?;
    let ids: Vec<String> =
        body["ids"].as_array().context("ids")?.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect();
    ensure!(ids.len() == 10);
    let (status, _) = h.control(Method::POST, &format!("/_fake/boards/personio/gen/change/{}", ids[0]), "").await?;
    ensure!(status == 200);
    let (status, _) = h.control(Method::DELETE, &format!("/_fake/boards/personio/gen/postings/{}", ids[1]), "").await?;
    ensure!(status == 200 && h.fake.posting_ids(Kind::Personio, "gen").len() == 9);
    let (status, body) =
        h.control(Method::POST, "/_fake/boards/personio/gen/failure", r#"{"failure": "not_found"}"#).await?;
    ensure!(status == 200 && body["failure"] == "not_found");
    ensure!(h.get("/personio/gen/xml").await?.0 == 404);

    let (status, body) = h.control(Method::POST, "/_fake/boards/workday/acme.Careers", r#"{"count": 25}"#).await?;
    ensure!(status == 200 && body["postings"] == 25, "{body}");
    let id = h.fake.posting_ids(Kind::Workday, "acme.Careers")[3].clone();
    let path = format!("/_fake/boards/workday/acme.Careers/postings/{}", id.replace('/', "%2F"));
    let (status, body) = h.control(Method::DELETE, &path, "").await?;
    ensure!(status == 200 && body["removed"] == id.as_str(), "{status} {body}");
    ensure!(h.fake.posting_ids(Kind::Workday, "acme.Careers").len() == 24);
    Ok(())
}
