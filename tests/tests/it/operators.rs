//! The operators' path, through the real `ctl` binary against LocalStack and PostgreSQL: a poison message reaches
//! its DLQ, `ctl dlq peek` shows it with the reason its consumer recorded, and once the cause is fixed
//! `ctl dlq redrive` puts it back and it is processed. Also filtered and capped redrives, refusals, move tasks,
//! purge, `ctl queues`, and pausing consumers (local runners and Lambda event source mappings).
//! Needs the binaries built first (`cargo build --bins`).

use std::time::Duration;

use anyhow::Context as _;
use bw_fake_ats::Kind;
use bw_messages::{Database, RunMessage};
use bw_queue::{Outgoing, Queue as _};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::ctl;
use bw_tests::db::TestDb;
use bw_tests::sqs::{TestQueue, unique_prefix};
use bw_vocab::RunStatus;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_peeked_and_after_the_fix_redriven_and_processed() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let test_db = TestDb::new().await?;
    let run_id = app.run_in(&test_db, 25).await?;
    // The cause: the message asks for the test database, and this ingestion service has no TEST_DATABASE_URL.
    app.start_runner();
    let message = RunMessage::new(run_id, "alice", Database::Test);
    app.queue.sqs.send(&app.queue.url, Outgoing::run(&message, Some("trace-42"))).await?;

    // 1. It fails on every delivery, then SQS moves it to the DLQ.
    app.queue.wait_visible(&app.queue.dlq_url, 1).await?;
    let db_url = app.db.url.clone();
    let db_url = Some(db_url.as_str());

    // 2. Peek: the message, its attributes and receive count, and the reason the consumer recorded; it stays.
    let peeked = ctl::json(&["dlq", "peek", &app.queue.url], db_url).await?;
    let messages = peeked.as_array().context("peek prints a list")?;
    assert_eq!(messages.len(), 1, "{peeked}");
    let m = &messages[0];
    assert_eq!(m["body"], bw_messages::to_body(&message), "{m}");
    assert_eq!(m["attributes"]["run_id"], run_id.to_string(), "{m}");
    assert_eq!(m["attributes"]["trace_id"], "trace-42", "{m}");
    assert!(m["receive_count"].as_u64() > Some(u64::from(app.queue.max_receive_count)), "{m}");
    assert!(m["first_received_at"].is_string() && m["sent_at"].is_string(), "{m}");
    let reason = m["failure"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("TEST_DATABASE_URL is not set"), "the recorded reason names the cause: {m}");
    assert_eq!(m["failure"]["retryable"], false, "{m}");
    assert_eq!(m["failure"]["receive_count"].as_u64(), Some(u64::from(app.queue.max_receive_count)), "{m}");
    let text = ctl::run(&["dlq", "peek", &app.queue.dlq_url], db_url).await?;
    assert!(text.success && text.stdout.contains("TEST_DATABASE_URL is not set"), "{text:?}");
    assert_eq!(app.queue.visible(&app.queue.dlq_url).await?, 1, "peeking leaves the message in the DLQ");

    // 3. A redrive without --yes moves nothing and says what it would.
    let plan = ctl::json(&["dlq", "redrive", &app.queue.dlq_url], db_url).await?;
    assert_eq!(
        (plan["dry_run"].as_bool(), plan["matched"].as_u64(), plan["moved"].as_u64()),
        (Some(true), Some(1), Some(0)),
        "{plan}"
    );
    assert_eq!(app.queue.visible(&app.queue.dlq_url).await?, 1, "a dry run moves nothing");

    // 4. The fix: the service restarts with TEST_DATABASE_URL. Then the redrive, and the run is processed.
    app.stop_runner().await?;
    app.start_runner_with(app.ingestion_with_test_database(test_db.pool.clone()));
    let done = ctl::json(&["dlq", "redrive", "--yes", &app.queue.dlq_url], db_url).await?;
    assert_eq!(done["method"], "message-move-task", "{done}");
    assert_eq!((done["moved"].as_u64(), done["task_status"].as_str()), (Some(1), Some("COMPLETED")), "{done}");
    TestQueue::wait_until(LONG, "the redriven run to finish", || async {
        let mut conn = bw_db::pool::conn(&test_db.pool).await?;
        let run = bw_db::runs::get(&mut conn, "alice", run_id).await?.context("run vanished")?;
        anyhow::ensure!(
            !matches!(run.status.as_str(), "failed" | "aborted"),
            "run ended {}: {:?}",
            run.status,
            run.error
        );
        Ok(run.status == bw_vocab::RunStatus::Finished)
    })
    .await?;
    let mut conn = bw_db::pool::conn(&test_db.pool).await?;
    let run = bw_db::runs::get(&mut conn, "alice", run_id).await?.context("run vanished")?;
    let counts = bw_db::counts::for_run(&mut conn, &run).await?;
    assert_eq!(counts.total.inserted, 25, "the redriven run stored its company's postings");
    assert_eq!(app.queue.visible(&app.queue.dlq_url).await?, 0, "the DLQ is empty again");
    Ok(())
}

/// Sends `bodies` straight to the DLQ (as if they had failed), each with a run_id attribute.
async fn dead_letters(queue: &TestQueue, bodies: &[String]) -> anyhow::Result<()> {
    for (i, body) in bodies.iter().enumerate() {
        let message =
            Outgoing { body: body.clone(), attributes: vec![("run_id".into(), format!("r-{i}"))], delay_seconds: None };
        queue.sqs.send(&queue.dlq_url, message).await?;
    }
    queue.wait_visible(&queue.dlq_url, i64::try_from(bodies.len())?).await
}

fn body(run: &str) -> String {
    format!(r#"{{"v":1,"run_id":"{run}","user_id":"alice","database":"primary"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_redrive_moves_only_matching_messages_and_keeps_their_attributes() -> anyhow::Result<()> {
    let queue = TestQueue::new("runs", 30, 5).await?;
    let bodies: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|r| body(r)).collect();
    dead_letters(&queue, &bodies).await?;

    let plan = ctl::json(&["dlq", "redrive", &queue.url, "--filter", "body.run_id=b"], None).await?;
    assert_eq!(
        (plan["dry_run"].as_bool(), plan["matched"].as_u64(), plan["scanned"].as_u64()),
        (Some(true), Some(1), Some(7)),
        "{plan}"
    );
    queue.wait_visible(&queue.dlq_url, 7).await?;

    let done = ctl::json(&["dlq", "redrive", &queue.url, "--filter", "body.run_id=b", "--yes"], None).await?;
    assert_eq!(
        (done["method"].as_str(), done["moved"].as_u64(), done["failed"].as_u64()),
        (Some("receive-send-delete"), Some(1), Some(0)),
        "{done}"
    );
    queue.wait_visible(&queue.dlq_url, 6).await?;
    let back = queue.sqs.receive(&queue.url, 10, Duration::from_secs(2)).await?;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body.as_deref(), Some(body("b").as_str()));
    assert_eq!(back[0].message_attributes.get("run_id").and_then(|a| a.string_value.as_deref()), Some("r-1"));

    // A cap without a filter also goes message by message, here at 2 a second: 5 sends take at least 2 s.
    let started = std::time::Instant::now();
    let capped = ctl::json(&["dlq", "redrive", &queue.dlq_url, "--max", "5", "--rate", "2/s", "--yes"], None).await?;
    assert_eq!(
        (capped["moved"].as_u64(), capped["method"].as_str()),
        (Some(5), Some("receive-send-delete")),
        "{capped}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1_900), "--rate 2/s moved 5 in {:?}", started.elapsed());
    queue.wait_visible(&queue.dlq_url, 1).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redriving_into_a_queue_that_is_not_the_source_is_refused_unless_forced() -> anyhow::Result<()> {
    let queue = TestQueue::new("runs", 30, 5).await?;
    let other = TestQueue::new("other", 30, 5).await?;
    dead_letters(&queue, &[body("a")]).await?;
    let refused = ctl::failing(&["dlq", "redrive", &queue.dlq_url, "--to", &other.url, "--yes"], None).await?;
    assert!(refused.contains("not the DLQ's source") && refused.contains("--force"), "{refused}");
    assert_eq!(queue.visible(&queue.dlq_url).await?, 1);
    let forced =
        ctl::json(&["dlq", "redrive", &queue.dlq_url, "--to", &other.url, "--force", "--max", "1", "--yes"], None)
            .await?;
    assert_eq!(forced["moved"].as_u64(), Some(1), "{forced}");
    other.wait_visible(&other.url, 1).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_operator_input_gets_a_clear_error() -> anyhow::Result<()> {
    let queue = TestQueue::new("runs", 30, 5).await?;
    let unknown = ctl::failing(&["dlq", "peek", "no-such-queue-xyz"], None).await?;
    assert!(unknown.contains("unknown queue \"no-such-queue-xyz\""), "{unknown}");
    // A queue with no redrive policy that is nobody's DLQ.
    let plain = queue.sqs.client().create_queue().queue_name(format!("{}plain", unique_prefix())).send().await?;
    let plain_url = plain.queue_url.context("no url")?;
    let no_dlq = ctl::failing(&["dlq", "peek", &plain_url], None).await?;
    assert!(no_dlq.contains("has no DLQ"), "{no_dlq}");
    let bad_filter = ctl::failing(&["dlq", "redrive", &queue.url, "--filter", "colour=red"], None).await?;
    assert!(bad_filter.contains("bad filter \"colour=red\"") && bad_filter.contains("unknown key"), "{bad_filter}");
    let no_db = ctl::failing(&["dlq", "redrive", &queue.url, "--filter", "reason!=timeout", "--yes"], None).await?;
    assert!(no_db.contains("needs DATABASE_URL"), "{no_db}");
    let into_itself = ctl::failing(&["dlq", "redrive", &queue.url, "--to", &queue.dlq_url, "--force"], None).await?;
    assert!(into_itself.contains("into itself"), "{into_itself}");
    let too_fast = ctl::failing(&["dlq", "redrive", &queue.url, "--rate", "501"], None).await?;
    assert!(too_fast.contains("from 1 to 500"), "{too_fast}");
    let purge = ctl::failing(&["dlq", "purge", &queue.url], None).await?;
    assert!(purge.contains("without --yes"), "{purge}");
    let cancel = ctl::failing(&["dlq", "cancel", &queue.url], None).await?;
    assert!(cancel.contains("no message move task is running"), "{cancel}");
    queue.sqs.client().delete_queue().queue_url(plain_url).send().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_move_task_shows_in_status_and_can_be_cancelled_and_a_dlq_purged() -> anyhow::Result<()> {
    let queue = TestQueue::new("runs", 30, 5).await?;
    let bodies: Vec<String> = (0..6).map(|i| body(&format!("r{i}"))).collect();
    dead_letters(&queue, &bodies).await?;
    let dlq_arn = bw_queue::definitions::arn_of(queue.sqs.client(), &queue.dlq_url).await?;
    queue
        .sqs
        .client()
        .start_message_move_task()
        .source_arn(&dlq_arn)
        // These messages were sent to the DLQ directly, so they have no source of their own: name the destination.
        .destination_arn(bw_queue::definitions::arn_of(queue.sqs.client(), &queue.url).await?)
        .max_number_of_messages_per_second(1)
        .send()
        .await?;

    let status = ctl::json(&["dlq", "status", &queue.url], None).await?;
    assert_eq!(status[0]["status"], "RUNNING", "{status}");
    assert_eq!(status[0]["max_per_second"], 1, "{status}");
    let cancelled = ctl::json(&["dlq", "cancel", &queue.url], None).await?;
    assert_eq!(cancelled["status"], "CANCELLING", "{cancelled}");
    TestQueue::wait_until(LONG, "the task to be cancelled", || async {
        let status = ctl::json(&["dlq", "status", &queue.url], None).await?;
        Ok(status[0]["status"] == "CANCELLED")
    })
    .await?;
    let left = queue.visible(&queue.dlq_url).await?;
    assert!(left > 0, "a cancelled task leaves the rest in the DLQ");

    let purged = ctl::json(&["dlq", "purge", &queue.url, "--yes"], None).await?;
    assert_eq!(purged["purged"].as_i64(), Some(left), "{purged}");
    queue.wait_visible(&queue.dlq_url, 0).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_lists_depths_the_oldest_message_and_the_dlq_depth() -> anyhow::Result<()> {
    let prefix = unique_prefix();
    let runs = TestQueue::named(&format!("{prefix}runs"), 30, 5).await?;
    let llm = TestQueue::named(&format!("{prefix}llm-jobs"), 30, 5).await?;
    for i in 0..2 {
        runs.sqs.send(&runs.url, Outgoing { body: body(&format!("q{i}")), ..Outgoing::default() }).await?;
    }
    runs.sqs.send(&runs.url, Outgoing { body: body("later"), delay_seconds: Some(60), ..Outgoing::default() }).await?;
    dead_letters(&runs, &[body("dead")]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // What SQS publishes to CloudWatch in AWS (LocalStack does not publish this metric itself).
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_cloudwatch::Client::new(&config)
        .put_metric_data()
        .namespace("AWS/SQS")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("ApproximateAgeOfOldestMessage")
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("QueueName")
                        .value(format!("{prefix}runs"))
                        .build(),
                )
                .value(42.0)
                .build(),
        )
        .send()
        .await?;

    let rows = ctl::json(&["--prefix", &prefix, "queues"], None).await?;
    let row =
        |name: &str| rows.as_array().and_then(|r| r.iter().find(|q| q["name"] == name)).cloned().unwrap_or(Value::Null);
    let work = row(&format!("{prefix}runs"));
    assert_eq!(
        (work["visible"].as_i64(), work["delayed"].as_i64(), work["dlq_depth"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{rows}"
    );
    assert_eq!(
        (work["oldest_age_secs"].as_i64(), work["oldest_age_from"].as_str()),
        (Some(42), Some("cloudwatch")),
        "{rows}"
    );
    assert_eq!(work["consumers_paused"], false, "{rows}");
    let dlq = row(&format!("{prefix}runs-dlq"));
    assert_eq!(
        (dlq["role"].as_str(), dlq["visible"].as_i64(), dlq["oldest_age_from"].as_str()),
        (Some("dlq"), Some(1), Some("peek")),
        "{rows}"
    );
    assert!(dlq["oldest_age_secs"].as_i64() >= Some(2), "{rows}");
    let jobs = row(&format!("{prefix}llm-jobs"));
    assert_eq!((jobs["visible"].as_i64(), jobs["oldest_age_secs"].as_i64()), (Some(0), None), "{rows}");
    drop(llm);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_local_consumer_takes_no_new_messages_and_loses_none() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Lever, "paused-co", 10, 1);
    app.add_company("alice", "Paused Co", "lever", "paused-co").await?;
    app.start_runner();
    let paused = ctl::json(&["consumers", "pause", &app.queue.url], None).await?;
    assert_eq!(paused[0]["paused"], true, "{paused}");
    // The runner reads the tag every 200 ms and its receive waits up to 1 s.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let run_id = app.start_run("alice").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.run("alice", &run_id).await?.status, RunStatus::Pending, "a paused consumer took the message");
    assert_eq!(app.queue.visible(&app.queue.url).await?, 1, "the message waits in the queue");
    let listed = ctl::json(&["consumers", "list", &app.queue.url], None).await?;
    assert_eq!(listed[0]["paused"], true, "{listed}");

    let resumed = ctl::json(&["consumers", "resume", &app.queue.url], None).await?;
    assert_eq!(resumed[0]["paused"], false, "{resumed}");
    let run = app.wait_for_end("alice", &run_id, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.counts.total.inserted, 10, "{run:?}");
    Ok(())
}

/// A zip holding one empty `bootstrap` file: enough for LocalStack to create a function (it cannot run it here).
fn empty_function_zip() -> Vec<u8> {
    let mut zip = Vec::new();
    let name = b"bootstrap";
    // Local file header, no data (CRC-32 of nothing is 0), then the central directory and its end record.
    zip.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&u16::try_from(name.len()).unwrap_or(0).to_le_bytes());
    zip.extend_from_slice(&[0, 0]);
    zip.extend_from_slice(name);
    let central = zip.len();
    zip.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&u16::try_from(name.len()).unwrap_or(0).to_le_bytes());
    zip.extend_from_slice(&[0; 8]);
    zip.extend_from_slice(&(0o100_755_u32 << 16).to_le_bytes());
    zip.extend_from_slice(&0_u32.to_le_bytes());
    zip.extend_from_slice(name);
    let central_len = zip.len() - central;
    zip.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
    zip.extend_from_slice(&u32::try_from(central_len).unwrap_or(0).to_le_bytes());
    zip.extend_from_slice(&u32::try_from(central).unwrap_or(0).to_le_bytes());
    zip.extend_from_slice(&[0, 0]);
    zip
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_in_aws_disables_the_event_source_mappings_and_resuming_enables_them() -> anyhow::Result<()> {
    let queue = TestQueue::new("runs", 30, 5).await?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = format!("{}ingestion", unique_prefix());
    lambda
        .create_function()
        .function_name(&function)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .architectures(aws_sdk_lambda::types::Architecture::Arm64)
        .handler("bootstrap")
        .role("arn:aws:iam::000000000000:role/ingestion")
        .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(empty_function_zip().into()).build())
        .send()
        .await
        .context("LocalStack could not create the function")?;
    let arn = bw_queue::definitions::arn_of(queue.sqs.client(), &queue.url).await?;
    let mapping = lambda
        .create_event_source_mapping()
        .function_name(&function)
        .event_source_arn(&arn)
        .enabled(false)
        .batch_size(1)
        .function_response_types(aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await?;
    let uuid = mapping.uuid.context("mapping without uuid")?;
    let state = |v: &Value| v[0]["mappings"][0]["state"].as_str().map(str::to_owned);

    let resumed = ctl::json(&["consumers", "resume", &queue.url], None).await?;
    assert_eq!(resumed[0]["mappings"][0]["uuid"], uuid.as_str(), "{resumed}");
    assert!(matches!(state(&resumed).as_deref(), Some("Enabling" | "Enabled")), "{resumed}");
    let paused = ctl::json(&["consumers", "pause", &queue.url], None).await?;
    assert!(matches!(state(&paused).as_deref(), Some("Disabling" | "Disabled")), "{paused}");
    TestQueue::wait_until(LONG, "the mapping to be disabled", || async {
        let listed = ctl::json(&["consumers", "list", &queue.url], None).await?;
        Ok(state(&listed).as_deref() == Some("Disabled") && listed[0]["paused"] == true)
    })
    .await?;
    let after = lambda.get_event_source_mapping().uuid(&uuid).send().await?;
    assert_eq!(after.state.as_deref(), Some("Disabled"));

    lambda.delete_event_source_mapping().uuid(&uuid).send().await?;
    // Best effort: LocalStack cannot run functions on this machine, and deleting one whose start-up failed can fail.
    let _ = lambda.delete_function().function_name(&function).send().await;
    Ok(())
}
