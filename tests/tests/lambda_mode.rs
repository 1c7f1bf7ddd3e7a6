//! Lambda mode of the real `ingestion` binary: with `AWS_LAMBDA_RUNTIME_API` set it takes SQS events from the
//! Runtime API (a fake here), works them, and answers with an `SqsBatchResponse` naming exactly the failed messages.
//! Needs the binaries built first (`cargo build --bins`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use bw_fakes::Kind;
use bw_messages::{Database, RunMessage};
use bw_tests::app::TestApp;
use bw_tests::lambda_runtime::FakeRuntime;
use serde_json::{Value, json};
use tokio::process::Command;

const LONG: Duration = Duration::from_secs(60);

/// The `ingestion` binary in the cargo target directory (`CARGO_TARGET_DIR`, else the workspace's `target`).
fn ingestion_binary() -> anyhow::Result<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), |d| workspace.join(d));
    let binary = target.join("debug").join("ingestion");
    anyhow::ensure!(binary.is_file(), "{} is missing: run `cargo build --bins` before these tests", binary.display());
    Ok(binary)
}

/// The binary in Lambda mode with only the environment Lambda sets (no database yet), talking to `runtime_api`.
fn lambda_command(runtime_api: &str) -> anyhow::Result<Command> {
    let mut command = Command::new(ingestion_binary()?);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "ingestion")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    Ok(command)
}

/// One SQS record as the event source mapping delivers it.
fn record(id: &str, body: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": "1700000000001"
        },
        "messageAttributes": {},
        "md5OfBody": "00000000000000000000000000000000",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bw-runs",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_in_lambda_mode_works_an_sqs_event_and_reports_only_the_bad_record() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 25, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let run_id = app.start_run("alice").await?;
    let good = bw_messages::to_body(&RunMessage::new(run_id.parse()?, "alice", Database::Primary));

    let (runtime, runtime_api) = FakeRuntime::start().await?;
    let request_id = runtime.push_event(json!({ "Records": [record("good-1", &good), record("bad-1", "{oops")] }));
    // stdout and stderr are inherited: the test runner shows the binary's logs with a failure.
    let mut child = lambda_command(&runtime_api)?
        .env("DATABASE_URL", &app.db.url)
        .env("ATS_BASE_URL", &app.ats_server.base_url)
        .spawn()
        .context("failed to start the ingestion binary")?;

    let answer = tokio::select! {
        answer = runtime.wait_response(&request_id, LONG) => answer?,
        status = child.wait() => anyhow::bail!("the binary exited before answering: {}", status?),
    };
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "bad-1" }] }));
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run["status"], "finished", "{run}");
    assert_eq!(run["counts"]["total"]["inserted"], 25, "{run}");
    assert!(runtime.init_errors().is_empty(), "{:?}", runtime.init_errors());
    assert!(child.try_wait()?.is_none(), "the binary keeps polling for the next event");
    child.kill().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_in_lambda_mode_without_database_url_exits_with_a_config_error() -> anyhow::Result<()> {
    let (_runtime, runtime_api) = FakeRuntime::start().await?;
    let child = lambda_command(&runtime_api)?
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
