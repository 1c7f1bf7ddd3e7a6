//! The operators' routes of the API (`/api/ops`). In-process: only operators get in, and bad names and limits get
//! clear errors. Against LocalStack and PostgreSQL: the queue list shows the app's own queues with their depths; a
//! poison message that reached its DLQ is peeked with its recorded failure reason and stays there; a dry-run
//! redrive moves nothing; a real one moves it back to its work queue; a second one while a move task runs is
//! refused.

use anyhow::Context as _;
use bw_messages::{Database, RunMessage};
use bw_ops::peek::Peeked;
use bw_ops::tasks::Task;
use bw_queue::{Outgoing, Queue as _};
use bw_tests::api::TestApi;
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::db::TestDb;
use bw_tests::sqs::TestQueue;
use reqwest::Method;
use serde_json::{Value, json};

const OPERATOR: &str = "ops";

/// The SQS name of the queue at `url`.
fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// The app's work queue called `name` in the list.
fn listed<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["queues"].as_array().and_then(|q| q.iter().find(|q| q["name"] == name)).unwrap_or(&Value::Null)
}

/// Sends `count` messages straight to the DLQ of `queue`, as if they had failed.
async fn dead_letters(queue: &TestQueue, count: usize) -> anyhow::Result<()> {
    for i in 0..count {
        let body = format!(r#"{{"v":1,"run_id":"r-{i}","user_id":"alice","database":"primary"}}"#);
        queue.sqs.send(&queue.dlq_url, Outgoing { body, ..Outgoing::default() }).await?;
    }
    queue.wait_visible(&queue.dlq_url, i64::try_from(count)?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operators_may_use_them_and_bad_names_and_limits_are_named() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    for (method, path, body) in [
        (Method::GET, "/api/ops/queues", None),
        (Method::POST, "/api/ops/queues/runs/dlq/peek", Some(json!({}))),
        (Method::POST, "/api/ops/queues/runs/dlq/redrive", Some(json!({ "dry_run": false }))),
    ] {
        let (status, body) = app.call("alice", method, path, body).await?;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("not an operator")), "{body}");
    }

    for path in ["/api/ops/queues/nope/dlq/peek", "/api/ops/queues/runs-dlq/dlq/redrive"] {
        let (status, body) = app.call(OPERATOR, Method::POST, path, Some(json!({}))).await?;
        assert_eq!(status, 404, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("the system's queues are runs, llm-jobs"), "{body}");
    }

    for limit in [0, 51] {
        let body = Some(json!({ "limit": limit }));
        let (status, body) = app.call(OPERATOR, Method::POST, "/api/ops/queues/runs/dlq/peek", body).await?;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("between 1 and 50")), "{body}");
    }
    let body = Some(json!({ "dry_run": "yes" }));
    let (status, body) = app.call(OPERATOR, Method::POST, "/api/ops/queues/runs/dlq/redrive", body).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("dry_run")), "{body}");
    Ok(())
}

/// In-process, the routes' answers from what the operators' seam says: logical names without the prefix, the
/// recorded reason on a peeked message, 200 for a dry run, 409 naming the task a running move holds, 202 with the
/// task started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routes_answer_what_the_queues_say() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let at = chrono::Utc::now();
    let failure = bw_db::failures::MessageFailure {
        message_id: "m-1".into(),
        queue: "bw-runs".into(),
        receive_count: 5,
        retryable: false,
        reason: "run r-1 of user \"alice\" does not exist".into(),
        first_failed_at: at,
        last_failed_at: at,
    };
    let dead = Peeked {
        message_id: "m-1".into(),
        body: "{}".into(),
        receive_count: 6,
        failure: Some(failure),
        ..Peeked::default()
    };
    app.ops.update("runs", |q| {
        q.depth.visible = 3;
        q.dead_letters.push(dead);
    });

    let (status, list) = app.call(OPERATOR, Method::GET, "/api/ops/queues", None).await?;
    assert_eq!(status, 200, "{list}");
    let runs = listed(&list, "runs");
    assert_eq!((runs["queue_name"].as_str(), runs["visible"].as_i64()), (Some("bw-runs"), Some(3)), "{list}");
    assert_eq!((runs["dlq"]["name"].as_str(), runs["dlq"]["visible"].as_i64()), (Some("runs-dlq"), Some(1)), "{list}");

    let (status, peeked) = app.call(OPERATOR, Method::POST, "/api/ops/queues/runs/dlq/peek", Some(json!({}))).await?;
    assert_eq!(status, 200, "{peeked}");
    assert_eq!(peeked["messages"][0]["reason"], "run r-1 of user \"alice\" does not exist", "{peeked}");

    let redrive = "/api/ops/queues/runs/dlq/redrive";
    let (status, plan) = app.call(OPERATOR, Method::POST, redrive, Some(json!({}))).await?;
    assert_eq!((status, &plan["messages"], &plan["task"]), (200, &json!(1), &Value::Null), "{plan}");

    let running =
        Task { dlq: "bw-runs-dlq".into(), task_handle: Some("h-7".into()), status: "RUNNING".into(), ..task() };
    app.ops.update("runs", |q| q.running_task = Some(running));
    let (status, refused) = app.call(OPERATOR, Method::POST, redrive, Some(json!({ "dry_run": false }))).await?;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["details"]["task"]["task_handle"], "h-7", "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("already running")), "{refused}");

    app.ops.update("runs", |q| q.running_task = None);
    let (status, done) = app.call(OPERATOR, Method::POST, redrive, Some(json!({ "dry_run": false }))).await?;
    assert_eq!(status, 202, "{done}");
    assert_eq!((done["destination"].as_str(), done["task"]["moved"].as_i64()), (Some("bw-runs"), Some(1)), "{done}");
    let runs = app.ops.state("runs").context("no runs queue")?;
    assert_eq!((runs.dead_letters.len(), runs.depth.visible), (0, 4), "the dead letter went back");
    Ok(())
}

/// A task with nothing set.
fn task() -> Task {
    Task {
        dlq: String::new(),
        task_handle: None,
        status: String::new(),
        destination: None,
        moved: 0,
        to_move: None,
        max_per_second: None,
        started_at: None,
        failure_reason: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_list_shows_exactly_the_apps_queues_with_their_depths() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    for i in 0..2 {
        let body = format!(r#"{{"n":{i}}}"#);
        app.queue.sqs.send(&app.queue.url, Outgoing { body, ..Outgoing::default() }).await?;
    }
    let later = Outgoing { body: "{}".to_owned(), delay_seconds: Some(60), ..Outgoing::default() };
    app.queue.sqs.send(&app.queue.url, later).await?;
    app.queue.wait_visible(&app.queue.url, 2).await?;
    dead_letters(&app.llm_queue, 1).await?;

    let (status, list) = app.call(OPERATOR, Method::GET, "/api/ops/queues", None).await?;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["queues"].as_array().map(Vec::len), Some(2), "only the app's two work queues: {list}");
    let runs = listed(&list, "runs");
    assert_eq!(runs["queue_name"], name_of(&app.queue.url), "{list}");
    assert_eq!(runs["url"], app.queue.url.as_str(), "{list}");
    assert_eq!((runs["visible"].as_i64(), runs["delayed"].as_i64()), (Some(2), Some(1)), "{list}");
    assert_eq!((runs["in_flight"].as_i64(), runs["paused"].as_bool()), (Some(0), Some(false)), "{list}");
    assert!(runs["oldest_age_secs"].is_null(), "LocalStack publishes no age to CloudWatch: {list}");
    assert_eq!(runs["dlq"]["name"], "runs-dlq", "{list}");
    assert_eq!(runs["dlq"]["queue_name"], name_of(&app.queue.dlq_url), "{list}");
    assert_eq!(runs["dlq"]["visible"], 0, "{list}");
    let jobs = listed(&list, "llm-jobs");
    assert_eq!(jobs["queue_name"], name_of(&app.llm_queue.url), "{list}");
    assert_eq!((jobs["visible"].as_i64(), jobs["dlq"]["visible"].as_i64()), (Some(0), Some(1)), "{list}");
    assert_eq!(app.llm_queue.visible(&app.llm_queue.dlq_url).await?, 1, "listing received nothing");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_message_is_peeked_and_redriven_back_to_its_queue() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let test_db = TestDb::new().await?;
    let run_id = app.run_in(&test_db, 5).await?;
    // A poison message: it asks for the test database, and this ingestion service has no TEST_DATABASE_URL.
    app.start_runner();
    let message = RunMessage::new(run_id, "alice", Database::Test);
    app.queue.sqs.send(&app.queue.url, Outgoing::run(&message, Some("trace-7"))).await?;
    app.queue.wait_visible(&app.queue.dlq_url, 1).await?;
    // Stopped, so what the redrive puts back stays on the work queue to be counted.
    app.stop_runner().await?;

    // Peek: the message with its attributes and the reason its consumer recorded; it stays in the DLQ.
    let peek = "/api/ops/queues/runs/dlq/peek";
    let (status, peeked) = app.call(OPERATOR, Method::POST, peek, Some(json!({ "limit": 5 }))).await?;
    assert_eq!(status, 200, "{peeked}");
    let messages = peeked["messages"].as_array().context("no messages")?;
    assert_eq!(messages.len(), 1, "{peeked}");
    let m = &messages[0];
    assert_eq!(m["body"], bw_messages::to_body(&message), "{m}");
    assert_eq!(
        (m["attributes"]["run_id"].as_str(), m["attributes"]["trace_id"].as_str()),
        (Some(run_id.to_string().as_str()), Some("trace-7")),
        "{m}"
    );
    assert!(m["receive_count"].as_u64() > Some(u64::from(app.queue.max_receive_count)), "{m}");
    assert!(m["message_id"].is_string() && m["sent_at"].is_string(), "{m}");
    let reason = m["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("TEST_DATABASE_URL is not set"), "the recorded reason names the cause: {m}");
    app.queue.wait_visible(&app.queue.dlq_url, 1).await?;

    // A dry run (the default) counts and names the destination, and moves nothing.
    let redrive = "/api/ops/queues/runs/dlq/redrive";
    let (status, plan) = app.call(OPERATOR, Method::POST, redrive, Some(json!({}))).await?;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan,
        json!({ "dry_run": true, "messages": 1, "destination": name_of(&app.queue.url), "task": null }),
        "{plan}"
    );
    assert_eq!(app.queue.visible(&app.queue.dlq_url).await?, 1, "a dry run moves nothing");
    assert_eq!(app.queue.depth(&app.queue.url).await?, 0, "a dry run moves nothing");

    // The real one starts a move task back to the work queue and answers at once.
    let (status, done) = app.call(OPERATOR, Method::POST, redrive, Some(json!({ "dry_run": false }))).await?;
    assert_eq!(status, 202, "{done}");
    assert_eq!((done["dry_run"].as_bool(), done["messages"].as_i64()), (Some(false), Some(1)), "{done}");
    assert_eq!(done["task"]["destination"], name_of(&app.queue.url), "{done}");
    assert!(matches!(done["task"]["status"].as_str(), Some("RUNNING" | "COMPLETED")), "{done}");
    app.queue.wait_visible(&app.queue.url, 1).await?;
    app.queue.wait_visible(&app.queue.dlq_url, 0).await?;
    let back = app.queue.sqs.receive(&app.queue.url, 10, std::time::Duration::from_secs(5)).await?;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body.as_deref(), Some(bw_messages::to_body(&message).as_str()), "the same message went back");

    // An empty DLQ: nothing starts.
    let (status, empty) = app.call(OPERATOR, Method::POST, redrive, Some(json!({ "dry_run": false }))).await?;
    assert_eq!((status, empty["messages"].as_i64(), &empty["task"]), (200, Some(0), &Value::Null), "{empty}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_while_a_move_task_runs_is_a_conflict_naming_the_task() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    dead_letters(&app.queue, 6).await?;
    let client = app.queue.sqs.client();
    let started = client
        .start_message_move_task()
        .source_arn(bw_queue::definitions::arn_of(client, &app.queue.dlq_url).await?)
        .destination_arn(bw_queue::definitions::arn_of(client, &app.queue.url).await?)
        .max_number_of_messages_per_second(1)
        .send()
        .await?;
    let handle = started.task_handle.context("no task handle")?;

    let redrive = "/api/ops/queues/runs/dlq/redrive";
    let (status, refused) = app.call(OPERATOR, Method::POST, redrive, Some(json!({ "dry_run": false }))).await?;
    assert_eq!(status, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("already running") && message.contains(&handle), "{refused}");
    assert_eq!(refused["error"]["details"]["task"]["task_handle"], handle.as_str(), "{refused}");
    assert_eq!(refused["error"]["details"]["task"]["status"], "RUNNING", "{refused}");
    client.cancel_message_move_task().task_handle(&handle).send().await?;
    Ok(())
}
