//! Boards that fail: 404, 500, malformed bodies and hangs.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use bw_fake_ats::{Failure, Kind};
use serde_json::Value;

use crate::common::{Harness, ld_json};

const LISTS: [(Kind, &str); 4] = [
    (Kind::Greenhouse, "/v1/boards/b/jobs?content=true"),
    (Kind::Lever, "/v0/postings/b?mode=json"),
    (Kind::Ashby, "/posting-api/job-board/b?includeCompensation=true"),
    (Kind::Jsonld, "/careers/b"),
];

async fn harness_with_boards() -> anyhow::Result<Harness> {
    let h = Harness::start().await?;
    for kind in Kind::ALL {
        h.fake.generate_board(kind, "b", 4, 1);
    }
    Ok(h)
}

#[tokio::test]
async fn not_found_and_server_error() -> anyhow::Result<()> {
    let h = harness_with_boards().await?;
    for (failure, expected) in [(Failure::NotFound, 404), (Failure::ServerError, 500)] {
        for (kind, path) in LISTS {
            h.fake.set_failure(kind, "b", Some(failure));
            let (status, content_type, body) = h.get(path).await?;
            ensure!(status == expected, "{path} with {failure:?}: {status}");
            if kind != Kind::Jsonld {
                ensure!(content_type.starts_with("application/json"), "{path}: {content_type}");
                serde_json::from_str::<Value>(&body).with_context(|| format!("{path}: error body {body}"))?;
            }
        }
    }
    let id = h.fake.posting_ids(Kind::Greenhouse, "b").pop().context("id")?;
    let (status, _, _) = h.get(&format!("/v1/boards/b/jobs/{id}")).await?;
    ensure!(status == 500, "the job detail fails too: {status}");
    for (kind, path) in LISTS {
        h.fake.set_failure(kind, "b", None);
        let (status, _, _) = h.get(path).await?;
        ensure!(status == 200, "{path} healed: {status}");
    }
    Ok(())
}

#[tokio::test]
async fn malformed_bodies_do_not_parse() -> anyhow::Result<()> {
    let h = harness_with_boards().await?;
    for (kind, path) in LISTS {
        h.fake.set_failure(kind, "b", Some(Failure::Malformed));
        let (status, _, body) = h.get(path).await?;
        ensure!(status == 200, "{path}: {status}");
        if kind == Kind::Jsonld {
            let scripts = ld_json(&body);
            ensure!(!scripts.is_empty(), "the page keeps its scripts");
            ensure!(scripts.iter().all(|s| serde_json::from_str::<Value>(s).is_err()), "valid JSON-LD: {body}");
        } else {
            ensure!(serde_json::from_str::<Value>(&body).is_err(), "{path} parsed: {body}");
            ensure!(!body.is_empty(), "{path}: empty");
        }
    }
    let id = h.fake.posting_ids(Kind::Greenhouse, "b").pop().context("id")?;
    let (_, _, body) = h.get(&format!("/v1/boards/b/jobs/{id}")).await?;
    ensure!(serde_json::from_str::<Value>(&body).is_err(), "detail parsed");
    Ok(())
}

#[tokio::test]
async fn a_hanging_board_times_the_client_out_and_others_still_answer() -> anyhow::Result<()> {
    let h = harness_with_boards().await?;
    h.fake.set_failure(Kind::Lever, "b", Some(Failure::Hang));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(500)).build()?;
    let started = Instant::now();
    let result = impatient.get(h.url("/v0/postings/b?mode=json")).send().await;
    let error = result.err().context("a hanging board answered")?;
    ensure!(error.is_timeout(), "{error}");
    ensure!(started.elapsed() >= Duration::from_millis(500));
    let other = impatient.get(h.url("/posting-api/job-board/b")).send().await?;
    ensure!(other.status() == 200);
    h.fake.set_failure(Kind::Lever, "b", None);
    ensure!(impatient.get(h.url("/v0/postings/b")).send().await?.status() == 200);
    Ok(())
}

#[tokio::test]
async fn dropping_the_server_releases_hanging_requests() -> anyhow::Result<()> {
    let h = harness_with_boards().await?;
    h.fake.set_failure(Kind::Ashby, "b", Some(Failure::Hang));
    let (client, url) = (h.client.clone(), h.url("/posting-api/job-board/b"));
    let request = tokio::spawn(async move { client.get(url).send().await.map(|response| response.status()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    ensure!(!request.is_finished(), "the request did not hang");
    drop(h);
    let outcome = tokio::time::timeout(Duration::from_secs(5), request).await.context("still hanging")??;
    ensure!(!outcome.is_ok_and(|status| status == 200), "a hanging request succeeded");
    Ok(())
}

#[tokio::test]
async fn a_failure_set_before_the_board_exists_applies_once_it_does() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.set_failure(Kind::Greenhouse, "later", Some(Failure::ServerError));
    h.fake.generate_board(Kind::Greenhouse, "later", 2, 1);
    let (status, _, _) = h.get("/v1/boards/later/jobs").await?;
    ensure!(status == 500);
    h.fake.remove_board(Kind::Greenhouse, "later");
    h.fake.generate_board(Kind::Greenhouse, "later", 2, 1);
    let (status, _, _) = h.get("/v1/boards/later/jobs").await?;
    ensure!(status == 200, "removing the board clears its failure: {status}");
    Ok(())
}
