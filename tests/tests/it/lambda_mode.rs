//! Lambda mode of the real binaries: with `AWS_LAMBDA_RUNTIME_API` set each takes its events from the Runtime API
//! (a fake here) and answers as Lambda expects: `ingestion` and `poller worker` an `SqsBatchResponse` naming
//! exactly the failed messages, `poller dispatch` its report for a scheduled event, and `api` an HTTP API response.
//! Each starts with only the environment Lambda sets plus its own configuration. Needs the binaries built first
//! (`cargo build --bins`).

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi, Timing};
use bw_messages::{Database, RunMessage};
use bw_queue::Queue as _;
use bw_tests::app::{JWT_SECRET, TestApp, token_for};
use bw_tests::client::Api as _;
use bw_tests::lambda_runtime::events::{http_event, http_response, scheduled_event, sqs_event, sqs_record};
use bw_tests::lambda_runtime::{FakeRuntime, Function};
use bw_tests::llm as llm_harness;
use bw_vocab::JobStatus;
use bw_vocab::RunStatus;
use serde_json::{Value, json};
use tokio::process::Child;
use uuid::Uuid;

const LONG: Duration = Duration::from_secs(60);

/// Waits for the answer to `request_id`, failing at once if the binary exits first.
async fn answer(runtime: &FakeRuntime, child: &mut Child, request_id: &str) -> anyhow::Result<Value> {
    tokio::select! {
        answer = runtime.wait_response(request_id, LONG) => answer,
        status = child.wait() => anyhow::bail!("the binary exited before answering: {}", status?),
    }
}

/// After the last answer: nothing went wrong at init, and the binary is still waiting for its next event.
async fn still_serving(runtime: &FakeRuntime, mut child: Child) -> anyhow::Result<()> {
    assert!(runtime.init_errors().is_empty(), "{:?}", runtime.init_errors());
    assert!(child.try_wait()?.is_none(), "the binary keeps polling for the next event");
    child.kill().await?;
    Ok(())
}

/// A test app whose user alice has 12 ready postings (one finished run), and a queued background LLM job over them.
async fn app_with_job() -> anyhow::Result<(TestApp, Uuid)> {
    let (app, _run) = llm_harness::app_with_ready_postings(Kind::Greenhouse, "acme", 12).await?;
    let job_id = llm_harness::create_job(&app, bw_vocab::JobMode::Background, 12).await?;
    Ok((app, job_id))
}

/// The job ids of the messages on the test app's `llm-jobs` queue, waiting up to `wait` for the first (a delayed
/// message shows only after its delay).
async fn receive_jobs(app: &TestApp, wait: Duration) -> anyhow::Result<Vec<Uuid>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let messages = app.llm_queue.sqs.receive(&app.llm_queue.url, 10, Duration::from_secs(1)).await?;
        if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(messages
                .iter()
                .filter_map(|m| bw_messages::parse_llm_job_message(m.body.as_deref()?).ok())
                .map(|m| m.job_id)
                .collect());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_in_lambda_mode_works_an_sqs_event_and_reports_only_the_bad_record() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 25, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let run_id = app.start_run("alice").await?;
    let good = bw_messages::to_body(&RunMessage::new(run_id.parse()?, "alice", Database::Primary));

    let (runtime, runtime_api) = FakeRuntime::start(Function::INGESTION).await?;
    let request_id = runtime
        .push_event(sqs_event(vec![sqs_record("bw-runs", "good-1", &good), sqs_record("bw-runs", "bad-1", "{oops")]));
    // stdout and stderr are inherited: the test runner shows the binary's logs with a failure.
    let mut child = Function::INGESTION
        .command(&bw_tests::ctl::binary("ingestion")?, &runtime_api)
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", &app.db.url)
        .env("ATS_BASE_URL", &app.ats_server.base_url)
        .spawn()
        .context("failed to start the ingestion binary")?;

    let answer = answer(&runtime, &mut child, &request_id).await?;
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "bad-1" }] }));
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.counts.total.inserted, 25, "{run:?}");
    still_serving(&runtime, child).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_lambda_mode_a_record_that_can_never_succeed_is_handed_back_at_once() -> anyhow::Result<()> {
    // A real message on the runs queue as the stack defines it (90-minute visibility), received as the event source
    // mapping would: without the function's own visibility change it would stay hidden for 90 minutes.
    let app = TestApp::spawn_with_real_runs_queue().await?;
    let (sqs, url) = (&app.queue.sqs, app.queue.url.as_str());
    sqs.send(url, bw_queue::Outgoing { body: "{oops".to_owned(), ..bw_queue::Outgoing::default() }).await?;
    let received = sqs.receive(url, 1, Duration::from_secs(5)).await?.pop().context("nothing received")?;
    let id = received.message_id.clone().context("no message id")?;
    let mut record = sqs_record("bw-runs", &id, "{oops");
    record["receiptHandle"] = json!(received.receipt_handle.clone().context("no receipt handle")?);

    let (runtime, runtime_api) = FakeRuntime::start(Function::INGESTION).await?;
    let request_id = runtime.push_event(sqs_event(vec![record]));
    let mut child = Function::INGESTION
        .command(&bw_tests::ctl::binary("ingestion")?, &runtime_api)
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", &app.db.url)
        .env("RUNS_QUEUE_URL", url)
        .spawn()
        .context("failed to start the ingestion binary")?;
    let answer = answer(&runtime, &mut child, &request_id).await?;
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": id }] }));
    let again = sqs.receive(url, 1, Duration::from_secs(5)).await?.pop().context("not visible again at once")?;
    assert_eq!(again.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(again.attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    still_serving(&runtime, child).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_in_lambda_mode_without_database_url_exits_with_a_config_error() -> anyhow::Result<()> {
    let (_runtime, runtime_api) = FakeRuntime::start(Function::INGESTION).await?;
    let child = Function::INGESTION
        .command(&bw_tests::ctl::binary("ingestion")?, &runtime_api)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("failed to start the ingestion binary")?;
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .context("the binary did not exit within 30 s")??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status {}; stderr: {stderr}", output.status);
    assert!(stderr.contains("DATABASE_URL"), "stderr does not name DATABASE_URL: {stderr}");
    assert!(!stderr.contains("panicked"), "a config error, not a panic: {stderr}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_worker_in_lambda_mode_submits_a_job_and_reports_only_the_bad_record() -> anyhow::Result<()> {
    let (app, job_id) = app_with_job().await?;
    // Responses that take ten minutes: the invocation polls a few items right after submitting them, and on a loaded
    // machine the default 200 ms would let some complete, so that "submitted" would no longer count them all.
    let fake = FakeOpenAi::new(FakeConfig { complete_after_ms: Timing::ms(600_000), ..FakeConfig::default() });
    let openai = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    let good = bw_messages::LlmJobMessage::new(job_id).body();

    let (runtime, runtime_api) = FakeRuntime::start(Function::POLLER_WORKER).await?;
    let records = vec![sqs_record("bw-llm-jobs", "good-1", &good), sqs_record("bw-llm-jobs", "bad-1", "{oops")];
    let request_id = runtime.push_event(sqs_event(records));
    let mut child = Function::POLLER_WORKER
        .command(&bw_tests::ctl::binary("poller")?, &runtime_api)
        .env("RUST_LOG", "info")
        .env("POLLER_ROLE", "worker")
        .env("DATABASE_URL", &app.db.url)
        .env("LLM_JOBS_QUEUE_URL", &app.llm_queue.url)
        .env("OPENAI_API_KEY", "sk-test")
        .env("OPENAI_BASE_URL", &openai.base_url)
        .spawn()
        .context("failed to start the poller binary")?;

    let answer = answer(&runtime, &mut child, &request_id).await?;
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "bad-1" }] }));
    let job = llm_harness::job_row(&app, job_id).await?;
    let counts =
        [job.items_pending, job.items_submitted, job.items_completed, job.items_failed].map(|n| Some(i64::from(n)));
    assert_eq!(job.status, JobStatus::Running, "{job:?}");
    assert_eq!(counts, [Some(0), Some(12), Some(0), Some(0)], "every item submitted, none ended yet: {job:?}");
    assert_eq!(fake.stats().responses_created, 12, "every item submitted once");
    let requeued = receive_jobs(&app, Duration::from_secs(10)).await?;
    assert_eq!(requeued, [job_id], "the running job is re-enqueued (with a delay) for its next poll");
    still_serving(&runtime, child).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_dispatch_in_lambda_mode_sends_the_due_job_on_a_scheduled_event() -> anyhow::Result<()> {
    let (app, job_id) = app_with_job().await?;
    // Bob's schedule is due: the same dispatch starts his run.
    let due = json!({ "every_hours": 4, "first_at": chrono::Utc::now() - chrono::Duration::minutes(1) });
    let (status, _) = app.call("bob", reqwest::Method::PUT, "/api/schedule", Some(due)).await?;
    assert_eq!(status, 200);
    let (runtime, runtime_api) = FakeRuntime::start(Function::POLLER_DISPATCH).await?;
    let request_id = runtime.push_event(scheduled_event("bw-poller-dispatch"));
    let mut child = Function::POLLER_DISPATCH
        .command(&bw_tests::ctl::binary("poller")?, &runtime_api)
        .env("RUST_LOG", "info")
        .env("POLLER_ROLE", "dispatch")
        .env("DATABASE_URL", &app.db.url)
        .env("LLM_JOBS_QUEUE_URL", &app.llm_queue.url)
        .env("RUNS_QUEUE_URL", &app.queue.url)
        .spawn()
        .context("failed to start the poller binary")?;

    let answer = answer(&runtime, &mut child, &request_id).await?;
    let bobs: Vec<String> = app
        .db
        .rows("SELECT id::text FROM runs WHERE user_id = 'bob' AND started_by = 'schedule'")
        .await?
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(bobs.len(), 1, "bob's scheduled run");
    let scheduled = json!({ "started": bobs, "skipped": 0, "already_started": 0, "not_queued": 0, "failed": 0 });
    assert_eq!(
        answer,
        json!({ "scheduled_runs": scheduled, "jobs": { "due": 1, "sent": 1, "failed": 0 }, "stale_runs_requeued": 0 })
    );
    let jobs = receive_jobs(&app, Duration::from_secs(5)).await?;
    assert_eq!(jobs, [job_id], "exactly the due job's message is on the queue");
    let runs = app.queue.sqs.receive(&app.queue.url, 10, Duration::from_secs(2)).await?;
    let bodies: Vec<&str> = runs.iter().filter_map(|m| m.body.as_deref()).collect();
    assert!(bodies.iter().any(|b| b.contains(&bobs[0]) && b.contains("\"bob\"")), "bob's run's message: {bodies:?}");
    still_serving(&runtime, child).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_in_lambda_mode_answers_http_api_events() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let token = &token_for("alice", false);
    let (runtime, runtime_api) = FakeRuntime::start(Function::API).await?;
    let company = json!({ "name": "Acme", "board_kind": "greenhouse", "board_token": "acme" });
    let create = runtime.push_event(http_event("POST", "/api/companies", Some(token), Some(&company)));
    let list = runtime.push_event(http_event("GET", "/api/companies", Some(token), None));
    let anonymous = runtime.push_event(http_event("GET", "/api/companies", None, None));
    let run = app.start_run("alice").await?;
    let progress = runtime.push_event(http_event("GET", &format!("/api/ingestion/progress/{run}"), Some(token), None));
    let mut child = Function::API
        .command(&bw_tests::ctl::binary("api")?, &runtime_api)
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUNS_QUEUE_URL", &app.queue.url)
        .env("LLM_JOBS_QUEUE_URL", &app.llm_queue.url)
        .spawn()
        .context("failed to start the api binary")?;

    let (status, created) = http_response(&answer(&runtime, &mut child, &create).await?);
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["name"].as_str(), created["board_kind"].as_str()), (Some("Acme"), Some("greenhouse")));
    let response = answer(&runtime, &mut child, &list).await?;
    assert_eq!(response["headers"]["content-type"], "application/json", "{response}");
    let (status, listed) = http_response(&response);
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["companies"].as_array().map(|c| c.iter().map(|c| c["id"].clone()).collect()),
        Some(vec![created["id"].clone()])
    );
    let (status, refused) = http_response(&answer(&runtime, &mut child, &anonymous).await?);
    assert_eq!(status, 401, "{refused}");
    assert!(refused["error"]["code"].is_string(), "an error body naming the problem: {refused}");
    // Behind API Gateway a progress stream is one shot: the state and a one-second retry, no end while the run is on.
    let response = answer(&runtime, &mut child, &progress).await?;
    assert_eq!(response["statusCode"], 200, "{response}");
    let kind = response["headers"]["content-type"].as_str().unwrap_or_default();
    assert!(kind.starts_with("text/event-stream"), "{response}");
    let body = response["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("event: state\n") && body.contains("\nretry: 1000\n"), "{body}");
    assert!(body.contains(&format!("\"id\":\"{run}\"")) && !body.contains("event: end"), "{body}");
    still_serving(&runtime, child).await
}
