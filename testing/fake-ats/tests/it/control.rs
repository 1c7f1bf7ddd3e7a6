//! The HTTP control API under /_fake/.

use anyhow::{Context as _, ensure};
use bw_fake_ats::{Failure, FakeAts, Kind};
use reqwest::Method;
use serde_json::Value;

use crate::common::Harness;

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn generate_list_and_remove_boards() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let (status, body) = h.control(Method::POST, "/_fake/boards/lever/globex", r#"{"count": 5, "seed": 3}"#).await?;
    ensure!(status == 200 && body["postings"] == 5, "{status} {body}");
    let twin = FakeAts::new();
    twin.generate_board(Kind::Lever, "globex", 5, 3);
    ensure!(h.fake.posting_ids(Kind::Lever, "globex") == twin.posting_ids(Kind::Lever, "globex"));
    let (status, body) = h.control(Method::GET, "/_fake/boards/lever/globex", "").await?;
    ensure!(status == 200 && body["ids"].as_array().map(Vec::len) == Some(5), "{body}");

    let file = r#"{"fixture": "greenhouse/gh_airbnb_board_jobs_content_true.json"}"#;
    let (status, body) = h.control(Method::POST, "/_fake/boards/greenhouse/airbnb/fixture", file).await?;
    ensure!(status == 200 && body["postings"] == 20, "{status} {body}");

    let (status, body) = h.control(Method::GET, "/_fake/boards", "").await?;
    ensure!(status == 200);
    let boards = body["boards"].as_array().context("boards")?;
    let summary: Vec<(String, String, u64)> = boards
        .iter()
        .map(|b| (b["kind"].to_string(), b["token"].to_string(), b["postings"].as_u64().unwrap_or_default()))
        .collect();
    let expected = [
        ("\"greenhouse\"".to_owned(), "\"airbnb\"".to_owned(), 20),
        ("\"lever\"".to_owned(), "\"globex\"".to_owned(), 5),
    ];
    ensure!(summary == expected, "{summary:?}");

    let (status, _) = h.control(Method::DELETE, "/_fake/boards/lever/globex", "").await?;
    ensure!(status == 200);
    let (status, body) = h.control(Method::DELETE, "/_fake/boards/lever/globex", "").await?;
    ensure!(status == 404 && error_of(&body).contains("globex"), "{body}");
    Ok(())
}

#[tokio::test]
async fn postings_change_remove_add_and_failures() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Ashby, "initech", 3, 1);
    let id = h.fake.posting_ids(Kind::Ashby, "initech").first().context("id")?.clone();
    let before = h.json("/posting-api/job-board/initech").await?;

    let (status, _) = h.control(Method::POST, &format!("/_fake/boards/ashby/initech/change/{id}"), "").await?;
    ensure!(status == 200);
    ensure!(h.json("/posting-api/job-board/initech").await? != before);
    let (status, body) = h.control(Method::POST, "/_fake/boards/ashby/initech/change/nope", "").await?;
    ensure!(status == 404 && error_of(&body).contains("nope"), "{body}");

    let (status, _) = h.control(Method::DELETE, &format!("/_fake/boards/ashby/initech/postings/{id}"), "").await?;
    ensure!(status == 200 && h.fake.posting_ids(Kind::Ashby, "initech").len() == 2);
    let (status, _) = h.control(Method::DELETE, &format!("/_fake/boards/ashby/initech/postings/{id}"), "").await?;
    ensure!(status == 404);

    let (status, body) = h.control(Method::POST, "/_fake/boards/ashby/initech/postings", r#"{"count": 4}"#).await?;
    ensure!(status == 200 && body["ids"].as_array().map(Vec::len) == Some(4), "{body}");
    ensure!(h.fake.posting_ids(Kind::Ashby, "initech").len() == 6);

    let (status, _) =
        h.control(Method::POST, "/_fake/boards/ashby/initech/failure", r#"{"failure": "server_error"}"#).await?;
    ensure!(status == 200);
    let (status, _, _) = h.get("/posting-api/job-board/initech").await?;
    ensure!(status == 500);
    let (_, body) = h.control(Method::GET, "/_fake/boards", "").await?;
    ensure!(body["boards"][0]["failure"] == "server_error", "{body}");
    let (status, _) = h.control(Method::POST, "/_fake/boards/ashby/initech/failure", r#"{"failure": null}"#).await?;
    ensure!(status == 200);
    let (status, _, _) = h.get("/posting-api/job-board/initech").await?;
    ensure!(status == 200);

    let (status, _) = h.control(Method::POST, "/_fake/boards/ashby/initech/delay", r#"{"delay_ms": 5}"#).await?;
    ensure!(status == 200 && h.fake.boards().first().map(|b| b.delay_ms) == Some(5));

    let (status, body) = h.control(Method::GET, "/_fake/requests?prefix=/posting-api/", "").await?;
    ensure!(status == 200 && body["count"] == 4, "{body}");
    ensure!(h.fake.boards().first().map(|b| b.failure) == Some(None::<Failure>));
    Ok(())
}

#[tokio::test]
async fn bad_control_input_is_a_400_naming_the_problem() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let cases: [(&str, &str, &str); 15] = [
        ("/_fake/boards/taleo/acme", r#"{"count": 1}"#, "unknown kind `taleo`: expected one of greenhouse"),
        ("/_fake/boards/workday/acme", r#"{"count": 1}"#, "a Workday board is `{tenant}.{site}`"),
        ("/_fake/boards/workday/acme./rate_limit", r#"{"per_second": 1}"#, "invalid workday token"),
        ("/_fake/boards/workable/acme/rate_limit", "{}", "missing field `per_second`"),
        ("/_fake/boards/workable/acme/rate_limit", r#"{"per_second": -2}"#, "invalid value"),
        ("/_fake/boards/lever/a%20b", r#"{"count": 1}"#, "invalid board token"),
        ("/_fake/boards/lever/acme", r#"{"count": "ten"}"#, "invalid type"),
        ("/_fake/boards/lever/acme", r#"{"count": -1}"#, "invalid value"),
        ("/_fake/boards/lever/acme", r#"{"cont": 1}"#, "unknown field `cont`"),
        ("/_fake/boards/lever/acme", r#"{"count": 1000000}"#, "more than the limit"),
        ("/_fake/boards/lever/acme", r#"{"count": 1"#, "invalid JSON body"),
        ("/_fake/boards/lever/acme/failure", r#"{"failure": "explode"}"#, "unknown variant `explode`"),
        ("/_fake/boards/lever/acme/failure", "{}", "missing field `failure`"),
        ("/_fake/boards/lever/acme/fixture", r#"{"fixture": "../../Cargo.toml"}"#, "relative path"),
        ("/_fake/boards/lever/acme/fixture", r#"{"fixture": "lever/missing.json"}"#, "reading fixture"),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = h.control(Method::POST, path, body).await?;
        ensure!(status == 400, "{path} {body}: {status} {answer}");
        ensure!(error_of(&answer).contains(expected), "{path} {body}: {answer}");
    }
    let wrong_kind = r#"{"fixture": "greenhouse/gh_docs_list_jobs.json"}"#;
    let (status, answer) = h.control(Method::POST, "/_fake/boards/lever/acme/fixture", wrong_kind).await?;
    ensure!(status == 400 && error_of(&answer).contains("not a lever board"), "{answer}");
    ensure!(h.fake.boards().is_empty(), "no bad request made a board");
    Ok(())
}
