//! Generated ids, board changes, request counts and delays.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use bw_fake_ats::{FakeAts, Kind};
use serde_json::Value;

use crate::common::{Harness, fixture};

#[test]
fn ids_are_deterministic_and_unique_per_token_and_seed() -> anyhow::Result<()> {
    let (a, b) = (FakeAts::new(), FakeAts::new());
    for kind in Kind::ALL {
        a.generate_board(kind, "acme", 50, 9);
        b.generate_board(kind, "acme", 50, 9);
        b.generate_board(kind, "other-seed", 50, 10);
        a.generate_board(kind, "acme2", 50, 9);
        let ids = a.posting_ids(kind, "acme");
        ensure!(ids == b.posting_ids(kind, "acme"), "{kind}: same inputs, other ids");
        ensure!(ids.iter().collect::<HashSet<_>>().len() == 50, "{kind}: duplicate ids");
        b.generate_board(kind, "acme", 50, 10);
        let reseeded: HashSet<String> = b.posting_ids(kind, "acme").into_iter().collect();
        let other_token: HashSet<String> = a.posting_ids(kind, "acme2").into_iter().collect();
        ensure!(ids.iter().all(|id| !reseeded.contains(id) && !other_token.contains(id)), "{kind}: ids shared");
    }
    Ok(())
}

fn jobs(body: &Value) -> anyhow::Result<&Vec<Value>> {
    body["jobs"].as_array().context("jobs array")
}

#[tokio::test]
async fn change_remove_and_add_postings() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Greenhouse, "acme", 6, 1);
    let path = "/v1/boards/acme/jobs?content=true";
    let before = h.json(path).await?;
    let ids = h.fake.posting_ids(Kind::Greenhouse, "acme");
    let target = ids.get(2).context("third id")?.clone();
    let target_number: u64 = target.parse()?;

    ensure!(h.fake.change_posting(Kind::Greenhouse, "acme", &target));
    let after = h.json(path).await?;
    ensure!(h.fake.posting_ids(Kind::Greenhouse, "acme") == ids, "ids kept");
    for (old, new) in jobs(&before)?.iter().zip(jobs(&after)?) {
        if old["id"] == target_number {
            ensure!(old["title"] != new["title"] && old["content"] != new["content"]);
            ensure!(old["updated_at"] != new["updated_at"]);
        } else {
            ensure!(old == new, "an unchanged posting changed");
        }
    }
    ensure!(!h.fake.change_posting(Kind::Greenhouse, "acme", "1"));
    ensure!(!h.fake.change_posting(Kind::Greenhouse, "nope", &target));
    ensure!(!h.fake.change_posting(Kind::Lever, "acme", &target), "boards of other kinds are apart");

    ensure!(h.fake.remove_posting(Kind::Greenhouse, "acme", &target));
    ensure!(!h.fake.remove_posting(Kind::Greenhouse, "acme", &target));
    let after = h.json(path).await?;
    ensure!(jobs(&after)?.len() == 5 && after["meta"]["total"] == 5);
    ensure!(jobs(&after)?.iter().all(|job| job["id"] != target_number));
    let (status, _, _) = h.get(&format!("/v1/boards/acme/jobs/{target}")).await?;
    ensure!(status == 404);

    let added = h.fake.add_postings(Kind::Greenhouse, "acme", 3);
    ensure!(added.len() == 3 && added.iter().all(|id| !ids.contains(id)));
    let after = h.json(path).await?;
    let listed: Vec<String> = jobs(&after)?.iter().map(|job| job["id"].to_string()).collect();
    ensure!(listed.len() == 8 && listed[5..] == added[..], "added postings come last");
    ensure!(h.fake.add_postings(Kind::Lever, "fresh", 2).len() == 2, "adding creates a missing board");

    h.fake.remove_board(Kind::Greenhouse, "acme");
    let (status, _, _) = h.get(path).await?;
    ensure!(status == 404 && h.fake.posting_ids(Kind::Greenhouse, "acme").is_empty());
    Ok(())
}

#[tokio::test]
async fn every_kind_shows_a_change_in_its_own_fields() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let cases = [
        (Kind::Lever, "/v0/postings/b", "text", "descriptionPlain"),
        (Kind::Ashby, "/posting-api/job-board/b", "title", "descriptionHtml"),
    ];
    for (kind, path, title, description) in cases {
        h.fake.generate_board(kind, "b", 3, 1);
        let id = h.fake.posting_ids(kind, "b").first().context("id")?.clone();
        let find = |body: Value| -> anyhow::Result<Value> {
            let list = body.get("jobs").cloned().unwrap_or(body);
            list.as_array()
                .and_then(|items| items.iter().find(|item| item["id"] == id.as_str()).cloned())
                .context("posting")
        };
        let before = find(h.json(path).await?)?;
        ensure!(h.fake.change_posting(kind, "b", &id));
        let after = find(h.json(path).await?)?;
        ensure!(before[title] != after[title] && before[description] != after[description], "{kind}");
    }
    h.fake.load_fixture_board(Kind::Jsonld, "lamp", "jsonld")?;
    let ids = h.fake.posting_ids(Kind::Jsonld, "lamp");
    ensure!(ids.len() == 3);
    let (_, _, before) = h.get("/careers/lamp").await?;
    ensure!(h.fake.change_posting(Kind::Jsonld, "lamp", ids.first().context("id")?));
    let (_, _, after) = h.get("/careers/lamp").await?;
    ensure!(before != after && after.contains("revision 1"));
    Ok(())
}

#[tokio::test]
async fn a_changed_fixture_board_is_no_longer_verbatim() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let file = "lever/lever_plaid_postings.json";
    h.fake.load_fixture_board(Kind::Lever, "plaid", file)?;
    let id = h.fake.posting_ids(Kind::Lever, "plaid").get(1).context("id")?.clone();
    ensure!(h.fake.change_posting(Kind::Lever, "plaid", &id));
    let (_, _, body) = h.get("/v0/postings/plaid?mode=json").await?;
    ensure!(body != fixture(file)?);
    let served: Vec<Value> = serde_json::from_str(&body)?;
    let real: Vec<Value> = serde_json::from_str(&fixture(file)?)?;
    ensure!(served.len() == real.len() && served[0] == real[0] && served[1]["text"] != real[1]["text"]);
    ensure!(served[1]["id"] == real[1]["id"] && served[1]["createdAt"] == real[1]["createdAt"]);
    Ok(())
}

#[tokio::test]
async fn requests_are_counted_by_path_prefix() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Lever, "globex", 2, 1);
    for _ in 0..3 {
        h.get("/v0/postings/globex?mode=json").await?;
    }
    h.get("/v1/boards/unknown/jobs").await?;
    ensure!(h.fake.request_count("/v0/postings/globex") == 3);
    ensure!(h.fake.request_count("/v0/") == 3);
    ensure!(h.fake.request_count("/v1/boards/unknown") == 1);
    ensure!(h.fake.request_count("/posting-api/") == 0);
    ensure!(h.fake.request_count("/") == 4);
    Ok(())
}

#[tokio::test]
async fn a_delay_holds_list_answers_back() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Ashby, "slow", 2, 1);
    h.fake.set_delay(Kind::Ashby, "slow", Duration::from_millis(400));
    let started = Instant::now();
    h.json("/posting-api/job-board/slow").await?;
    ensure!(started.elapsed() >= Duration::from_millis(400), "answered after {:?}", started.elapsed());
    h.fake.set_delay(Kind::Ashby, "slow", Duration::ZERO);
    let started = Instant::now();
    h.json("/posting-api/job-board/slow").await?;
    ensure!(started.elapsed() < Duration::from_millis(400), "still delayed: {:?}", started.elapsed());
    Ok(())
}
