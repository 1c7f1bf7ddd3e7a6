//! The LLM-jobs API: bad input named, scoping, creation over a run's postings, items, cancel, and flagged postings
//! after a worker resolved the job against the fake OpenAI.

use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::llm as llm_harness;
use reqwest::Method;
use serde_json::{Value, json};

/// An app whose user alice has 12 ready postings from one run; returns the run id.
async fn app_with_run() -> anyhow::Result<(TestApp, String)> {
    llm_harness::app_with_ready_postings(Kind::Lever, "globex", 12).await
}

/// `body` with `key` set to `value`.
fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn job_body(entities: Value) -> Value {
    json!({ "name": "remote?", "model": "gpt-4.1-nano", "instructions": "Is this job remote?", "mode": "background", "entities": entities })
}

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_job_input_gets_a_4xx_naming_the_problem() -> anyhow::Result<()> {
    let (app, run_id) = app_with_run().await?;
    let cases = [
        (
            json!({ "name": "x", "model": "gpt-4.1-nano", "instructions": "q", "entities": { "run_id": run_id } }),
            "missing field `mode`",
        ),
        (with(job_body(json!({ "run_id": run_id })), "mode", json!("stream")), "mode must be background or batch"),
        (with(job_body(json!({ "run_id": run_id })), "model", json!("gpt 4; drop")), "model must be a model name"),
        (job_body(json!({ "run_id": run_id, "posting_ids": [1] })), "exactly one of posting_ids, run_id or filter"),
        (job_body(json!({})), "exactly one of posting_ids, run_id or filter"),
        (job_body(json!({ "posting_ids": [999_999_991, 999_999_992] })), "unknown postings 999999991, 999999992"),
        (job_body(json!({ "run_id": uuid::Uuid::new_v4() })), "entities.run_id: run"),
        (job_body(json!({ "filter": { "status": "expired" } })), "no postings match"),
        (job_body(json!({ "filter": { "status": "gone" } })), "entities.filter.status must be"),
        (job_body(json!({ "posting_ids": "all" })), "invalid type"),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.call("alice", Method::POST, "/api/llm-jobs", Some(body.clone())).await?;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(message(&answer).contains(expected), "{body} -> {answer}");
    }
    // Bob cannot ask about Alice's run.
    let (status, answer) =
        app.call("bob", Method::POST, "/api/llm-jobs", Some(job_body(json!({ "run_id": run_id })))).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(message(&answer).contains("entities.run_id"), "bob is told it is the run id: {answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_created_paged_scoped_cancelled_and_its_flags_listed() -> anyhow::Result<()> {
    let (app, run_id) = app_with_run().await?;
    let (status, job) =
        app.call("alice", Method::POST, "/api/llm-jobs", Some(job_body(json!({ "run_id": run_id })))).await?;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        (job["items_total"].as_i64(), job["status"].as_str(), job["progress"].as_f64()),
        (Some(12), Some("queued"), Some(0.0))
    );
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.llm_queue.depth(&app.llm_queue.url).await?, 1, "the job's first message");

    let (_, page) = app.call("alice", Method::GET, &format!("/api/llm-jobs/{id}/items?limit=5"), None).await?;
    assert_eq!((page["items"].as_array().map(Vec::len), page["next_after"].as_i64()), (Some(5), Some(5)));
    let (_, rest) =
        app.call("alice", Method::GET, &format!("/api/llm-jobs/{id}/items?after=5&status=pending"), None).await?;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(7));
    for (user, path) in [("bob", format!("/api/llm-jobs/{id}")), ("bob", format!("/api/llm-jobs/{id}/items"))] {
        assert_eq!(app.call(user, Method::GET, &path, None).await?.0, 404);
    }
    assert_eq!(app.call("bob", Method::POST, &format!("/api/llm-jobs/{id}/cancel"), None).await?.0, 404);
    let (status, answer) =
        app.call("alice", Method::GET, &format!("/api/llm-jobs/{id}/items?status=done"), None).await?;
    assert_eq!(status, 400, "{answer}");

    // A worker resolves the job against the fake OpenAI, which flags every posting "match".
    let fake = FakeOpenAi::new(FakeConfig {
        decision: bw_fake_openai::DecisionRule { hash_flag_rate: 1.0, ..Default::default() },
        ..FakeConfig::default()
    });
    let server = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    let worker = llm_harness::worker(&app, &server.base_url)?;
    llm_harness::poll_until_resolved(&app, &worker, id.parse()?).await?;
    let (_, done) = app.call("alice", Method::GET, &format!("/api/llm-jobs/{id}"), None).await?;
    assert_eq!(
        (done["status"].as_str(), done["progress"].as_f64(), done["flags_applied"].as_i64()),
        (Some("completed"), Some(1.0), Some(12))
    );
    let (_, flagged) = app.call("alice", Method::GET, "/api/postings?flag=match", None).await?;
    assert_eq!(flagged["postings"].as_array().map(Vec::len), Some(12), "{flagged}");
    assert_eq!(flagged["postings"][0]["label"], "match");
    let (_, of_job) = app.call("alice", Method::GET, &format!("/api/postings?job_id={id}"), None).await?;
    assert_eq!(of_job["postings"].as_array().map(Vec::len), Some(12));
    let (_, other_job) =
        app.call("alice", Method::GET, &format!("/api/postings?job_id={}", uuid::Uuid::new_v4()), None).await?;
    assert_eq!(other_job["postings"], json!([]));
    let (_, none) = app.call("alice", Method::GET, "/api/postings?flag=remote", None).await?;
    assert_eq!(none["postings"], json!([]));
    let (_, bobs) = app.call("bob", Method::GET, "/api/postings", None).await?;
    assert_eq!(bobs["postings"], json!([]));

    let (status, answer) = app.call("alice", Method::POST, &format!("/api/llm-jobs/{id}/cancel"), None).await?;
    assert_eq!(status, 409, "a resolved job cannot be cancelled: {answer}");
    let (status, second) = app
        .call("alice", Method::POST, "/api/llm-jobs", Some(job_body(json!({ "filter": { "status": "ready" } }))))
        .await?;
    assert_eq!(status, 202, "{second}");
    let second_id = second["id"].as_str().unwrap_or_default();
    let (status, cancelled) =
        app.call("alice", Method::POST, &format!("/api/llm-jobs/{second_id}/cancel"), None).await?;
    assert_eq!(status, 202, "{cancelled}");
    assert!(cancelled["cancel_requested_at"].is_string(), "{cancelled}");
    Ok(())
}
