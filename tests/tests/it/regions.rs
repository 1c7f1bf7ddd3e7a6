//! Greenhouse and Lever boards on their EU hosts: a company names its board's region, runs read the board there
//! (the same token on the main host is another board), and a region a board kind has not is refused.

use std::time::Duration;

use bw_fake_ats::Kind;
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::RunStatus;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_on_an_eu_host_is_read_there_and_not_on_the_main_one() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    // The same tokens on both hosts, different boards.
    app.ats.generate_board(Kind::Greenhouse, &bw_fake_ats::eu("acme"), 7, 1);
    app.ats.generate_board(Kind::Greenhouse, "acme", 3, 2);
    app.ats.generate_board(Kind::Lever, &bw_fake_ats::eu("globex"), 5, 3);
    for (name, kind, token, region) in [
        ("Acme EU", "greenhouse", "acme", "eu"),
        ("Acme", "greenhouse", "acme", "us"),
        ("Globex", "lever", "globex", "eu"),
    ] {
        let body = json!({ "name": name, "board_kind": kind, "board_token": token, "board_region": region });
        let (status, company) = app.call("alice", Method::POST, "/api/companies", Some(body)).await?;
        assert_eq!(status, 201, "{company}");
        assert_eq!(company["board_region"], region);
    }
    let again =
        json!({ "name": "Acme EU again", "board_kind": "greenhouse", "board_token": "acme", "board_region": "eu" });
    let (status, refused) = app.call("alice", Method::POST, "/api/companies", Some(again)).await?;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("on its EU host"), "{refused}");

    app.start_runner();
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, Duration::from_secs(60)).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    let per_company = app
        .db
        .rows(
            "SELECT c.name, c.board_region, count(p.id) AS postings FROM companies c \
             LEFT JOIN postings p ON p.company_id = c.id GROUP BY c.name, c.board_region ORDER BY c.name",
        )
        .await?;
    let found: Vec<(String, i64)> = per_company
        .iter()
        .map(|r| (r["name"].as_str().unwrap_or_default().to_owned(), r["postings"].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(found, [("Acme".to_owned(), 3), ("Acme EU".to_owned(), 7), ("Globex".to_owned(), 5)]);
    assert_eq!(app.ats.request_count("/eu/v1/boards/acme/jobs"), 1);
    assert_eq!(app.ats.request_count("/eu/v0/postings/globex"), 1);
    assert_eq!(app.ats.request_count("/v0/postings/globex"), 0, "the EU board is not asked for on the main host");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_a_board_kind_has_not_is_refused_naming_it() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    for (kind, token, region, named) in [
        ("ashby", "initech", "eu", "ashby boards have no eu host"),
        ("jsonld", "https://example.com/careers", "eu", "jsonld boards have no eu host"),
        ("greenhouse", "acme", "apac", "unknown board region \"apac\""),
    ] {
        let body = json!({ "name": "X", "board_kind": kind, "board_token": token, "board_region": region });
        let (status, answer) = app.call("alice", Method::POST, "/api/companies", Some(body)).await?;
        assert_eq!(status, 400, "{kind} {region}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("board_region: ") && message.contains(named), "{message}");
    }
    let (status, list) = app.call("alice", Method::GET, "/api/companies", None).await?;
    assert_eq!((status, list["companies"].as_array().map(Vec::len)), (200, Some(0)));
    // Left out, the region is the main host's.
    let body = json!({ "name": "Initech", "board_kind": "ashby", "board_token": "initech" });
    let (status, company) = app.call("alice", Method::POST, "/api/companies", Some(body)).await?;
    assert_eq!((status, company["board_region"].as_str()), (201, Some("us")), "{company}");
    Ok(())
}
