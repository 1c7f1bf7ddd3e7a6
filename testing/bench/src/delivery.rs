//! `bench delivery`: when failed records come back, on the `runs` queue as the stack defines it (visibility timeout
//! and `maxReceiveCount` from infra/template.yaml) on LocalStack, consumed by the real ingestion binary as a process
//! of its own. Two messages go in at once:
//! - a malformed body: `poison_to_dlq_seconds`, from its send until it is in the DLQ;
//! - a run message for a database that refuses connections (a transient failure on every delivery):
//!   `transient_first_retry_seconds`, between its first and second deliveries, and
//!   `transient_deliveries_in_10_min`, its deliveries in the ten minutes after the first.
//!
//! Deliveries are read from the service's own log (`record failed` lines carry the message id). The binary is the
//! release `ingestion` beside `bench`, or `BENCH_INGESTION_BIN` (another build, e.g. an older commit's, for a
//! before figure). A figure that did not happen within the window prints `none`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_messages::{Database, RunMessage};
use bw_queue::definitions::RUNS;
use bw_queue::{Outgoing, Queue as _};
use tokio::io::AsyncBufReadExt as _;

use super::figure;
use bw_tests::db::TestDb;
use bw_tests::sqs::{TestQueue, unique_prefix};

const POISON: &str = "{\"v\":1,\"run_id\":\"not-a-uuid\"}";
/// A database nobody listens on: every delivery of a run for it fails to connect, a transient failure.
const UNREACHABLE: &str = "postgres://postgres@127.0.0.1:1/unreachable?sslmode=disable&connect_timeout=2";

/// Watches for `minutes` (10 for the figures' names to mean what they say).
pub async fn run(minutes: u64) -> anyhow::Result<()> {
    let window = Duration::from_secs(minutes * 60);
    let db = TestDb::new().await?;
    let queue = TestQueue::from_def(&format!("{}runs", unique_prefix()), &RUNS).await?;
    figure("queue_visibility_timeout_secs", RUNS.visibility_timeout_secs);
    figure("queue_max_receive_count", RUNS.max_receive_count);
    let binary = ingestion_binary()?;
    figure("ingestion_binary", binary.display());
    let mut child = tokio::process::Command::new(&binary)
        .env("DATABASE_URL", &db.url)
        .env("TEST_DATABASE_URL", UNREACHABLE)
        .env("RUNS_QUEUE_URL", &queue.url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().context("no stderr")?).lines();
    wait_for_start(&mut lines).await?;

    let transient = RunMessage::new(uuid::Uuid::new_v4(), "bench", Database::Test);
    let transient_id = queue.sqs.send(&queue.url, Outgoing::run(&transient, None)).await?;
    let sent = Instant::now();
    queue.sqs.send(&queue.url, Outgoing { body: POISON.to_owned(), ..Outgoing::default() }).await?;

    let mut deliveries: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
    let mut poison_in_dlq = None;
    let mut poll = tokio::time::interval(Duration::from_millis(250));
    let end = tokio::time::Instant::now() + window + Duration::from_secs(5);
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => note_delivery(&line, &mut deliveries),
                None => anyhow::bail!("the ingestion process exited: {:?}", child.try_wait()?),
            },
            _ = poll.tick(), if poison_in_dlq.is_none() => {
                if queue.depth(&queue.dlq_url).await? >= 1 {
                    poison_in_dlq = Some(sent.elapsed());
                }
            }
            () = tokio::time::sleep_until(end) => break,
        }
    }
    let _ = child.kill().await;

    let seconds = |d: Option<Duration>| d.map_or_else(|| "none".to_owned(), |d| format!("{:.1}", d.as_secs_f64()));
    let retried = deliveries.get(&transient_id).cloned().unwrap_or_default();
    figure("poison_to_dlq_seconds", seconds(poison_in_dlq));
    figure("transient_first_retry_seconds", seconds(retried.get(1).map(|second| *second - retried[0])));
    let within = retried.iter().filter(|at| retried.first().is_some_and(|first| at.duration_since(*first) <= window));
    figure(&format!("transient_deliveries_in_{minutes}_min"), within.count());
    let gaps: Vec<String> = retried.windows(2).map(|w| format!("{:.0}", (w[1] - w[0]).as_secs_f64())).collect();
    figure("transient_retry_gaps_seconds", if gaps.is_empty() { "none".to_owned() } else { gaps.join(",") });
    Ok(())
}

/// The binary to run: `BENCH_INGESTION_BIN`, else `ingestion` beside `bench`.
pub(crate) fn ingestion_binary() -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = bw_config::optional("BENCH_INGESTION_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe().context("cannot locate the bench binary")?;
    Ok(exe.with_file_name("ingestion"))
}

/// Reads the service's log until its runner says it started (within 60 s).
async fn wait_for_start(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) -> anyhow::Result<()> {
    let started = async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("local event-source runner started") {
                return Ok(());
            }
        }
        anyhow::bail!("the ingestion process exited before its runner started")
    };
    tokio::time::timeout(Duration::from_secs(60), started).await.context("the runner did not start within 60 s")?
}

/// Notes a delivery when `line` is the service's log of a failed record (JSON, the record's span carrying its id).
fn note_delivery(line: &str, deliveries: &mut BTreeMap<String, Vec<Instant>>) {
    let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { return };
    if !entry["message"].as_str().is_some_and(|m| m.starts_with("record failed")) {
        return;
    }
    if let Some(id) = entry["span"]["message.id"].as_str() {
        deliveries.entry(id.to_owned()).or_default().push(Instant::now());
    }
}
