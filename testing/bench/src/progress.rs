//! `bench progress`: S clients on one run's progress stream (the API on this machine, its hub listening to
//! PostgreSQL), then C changes committed one after another, alternating a log line (`log` event) and a change of the
//! run's row (`change` event). Latency: from the start of the committing statement to each client's receipt of the
//! event, over every (change, client) pair.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_db::events::{self, Level};
use bw_tests::app::{TestApp, token_for};
use bw_tests::client::Api as _;
use bw_tests::sse::SseStream;
use bw_vocab::Stage;
use tokio::sync::mpsc;

use super::figure;

/// How long to wait for every client to receive one change.
const WITHIN: Duration = Duration::from_secs(10);
/// The pause between changes, so each is measured alone rather than coalesced with the next.
const SPACING: Duration = Duration::from_millis(40);

/// Runs the benchmark and prints its figures.
pub async fn run(streams: usize, changes: usize) -> anyhow::Result<()> {
    figure("streams", streams);
    figure("changes", changes);
    let app = TestApp::spawn().await?;
    let run = app.start_run("alice").await?;
    let run_id: uuid::Uuid = run.parse()?;
    let url = format!("{}/api/ingestion/progress/{run}?token={}", app.api_url, token_for("alice", false));

    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let mut clients = Vec::new();
    for _ in 0..streams {
        let mut stream = SseStream::open(&app.http, &url, None).await?;
        let first = stream.next(WITHIN).await?.context("a stream closed at once")?;
        anyhow::ensure!(first.event == "state", "the first event was {}", first.event);
        let tx = tx.clone();
        clients.push(tokio::spawn(async move {
            while let Ok(Some(event)) = stream.next(Duration::from_secs(3600)).await {
                let Ok(data) = event.json() else { continue };
                let key = match event.event.as_str() {
                    "log" => data["message"].as_str().map(str::to_owned),
                    "change" => data["attempts"].as_i64().map(|n| format!("attempts={n}")),
                    _ => None,
                };
                if let Some(key) = key {
                    let _ = tx.send((key, event.at));
                }
            }
        }));
    }
    drop(tx);

    let mut latencies_ms = Vec::with_capacity(streams * changes);
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    for i in 0..changes {
        tokio::time::sleep(SPACING).await;
        let (key, started) = if i % 2 == 0 {
            let key = format!("bench line {i}");
            let started = Instant::now();
            events::record(&mut conn, run_id, Level::Info, Some(Stage::Ingest), &key, None).await?;
            (key, started)
        } else {
            let started = Instant::now();
            app.db.exec(&format!("UPDATE runs SET attempts = {i} WHERE id = '{run_id}'")).await?;
            (format!("attempts={i}"), started)
        };
        let mut pending = streams;
        while pending > 0 {
            let (got, at) = tokio::time::timeout(WITHIN, rx.recv())
                .await
                .with_context(|| format!("change {i} did not reach every client within {WITHIN:?}"))?
                .context("the clients stopped")?;
            if got == key {
                latencies_ms.push(at.saturating_duration_since(started).as_secs_f64() * 1000.0);
                pending -= 1;
            }
        }
    }
    for client in clients {
        client.abort();
    }
    latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((latencies_ms.len() as f64 - 1.0) * q).round() as usize;
        latencies_ms.get(index).copied().unwrap_or(f64::NAN)
    };
    figure("deliveries", latencies_ms.len());
    figure("latency_p50_ms", format!("{:.1}", at(0.50)));
    figure("latency_p95_ms", format!("{:.1}", at(0.95)));
    figure("latency_p99_ms", format!("{:.1}", at(0.99)));
    figure("latency_max_ms", format!("{:.1}", at(1.0)));
    figure(
        "under_one_second",
        format!(
            "{:.2}%",
            100.0 * latencies_ms.iter().filter(|l| **l < 1000.0).count() as f64 / latencies_ms.len().max(1) as f64
        ),
    );
    Ok(())
}
