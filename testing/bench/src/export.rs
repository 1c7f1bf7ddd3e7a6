//! `bench export [POSTINGS=1000000]`: the API's release binary as a process, exporting a user's postings through
//! `GET /api/postings/export`: a tenth of them (title filter), then all, as CSV, then all as JSON lines. Prints the
//! rows and bytes read, the rate, and the API process's peak resident set (`VmHWM`) before and after each export:
//! memory that does not grow with the export is a peak that stays where the first, smaller one left it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use uuid::Uuid;

use super::{figure, vm_hwm_kb};
use bw_tests::app::{JWT_SECRET, TestApp, token_for};

/// Runs the benchmark over `postings` postings.
pub async fn run(postings: usize) -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    seed(&app, postings).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let binary = std::env::current_exe()?.parent().context("the bench binary has no directory")?.join("api");
    let mut api = tokio::process::Command::new(&binary)
        .env("DATABASE_URL", &app.db.url)
        .env("API_LISTEN", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUNS_QUEUE_URL", &app.queue.url)
        .env("LLM_JOBS_QUEUE_URL", &app.llm_queue.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let pid = api.id().context("the api has no pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await?;
    figure("postings", postings);
    figure("peak_rss_mb_api_before", mb(peak_kb(pid)?));
    for (label, query) in
        [("tenth_csv", "format=csv&title=7-"), ("all_csv", "format=csv"), ("all_jsonl", "format=jsonl")]
    {
        let (rows, bytes, seconds) = export(&http, &base, query).await?;
        figure(&format!("export_{label}_rows"), rows);
        figure(&format!("export_{label}_mb"), format!("{:.1}", bytes as f64 / 1_048_576.0));
        figure(&format!("export_{label}_rows_per_s"), format!("{:.0}", rows as f64 / seconds));
        figure(&format!("peak_rss_mb_api_after_{label}"), mb(peak_kb(pid)?));
    }
    api.kill().await.ok();
    Ok(())
}

/// `postings` postings of alice's, a tenth with a `7` in the title, each with a description of about 1 KB.
async fn seed(app: &TestApp, postings: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let company =
        bw_tests::postings::company(&app.db, "alice", "Acme", bw_vocab::BoardKind::Greenhouse, "acme").await?;
    let run = Uuid::new_v4();
    app.db
        .exec(&format!(
            "INSERT INTO postings (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title, \
             raw, location, remote, description, first_seen_at, last_seen_at, content_changed_at) \
             SELECT 'alice', '{company}', 'e' || n, '{run}', '{run}', 'ready', '\\x00', \
                    CASE WHEN n % 10 = 0 THEN 'Engineer 7-' || n ELSE 'Engineer ' || n END, '{{}}', 'Berlin, DE', n % 3 = 0, \
                    repeat('We build software that works, and we hire people who like to. ', 16) || n, \
                    now() - n * interval '1 second', now(), now() \
             FROM generate_series(1, {postings}) AS n"
        ))
        .await?;
    app.db.exec("ANALYZE postings").await?;
    figure("seed_seconds", format!("{:.1}", started.elapsed().as_secs_f64()));
    Ok(())
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the api did not answer at {base}")
}

/// Streams one export to its end; answers its lines (less the CSV header), bytes and seconds.
async fn export(http: &reqwest::Client, base: &str, query: &str) -> anyhow::Result<(u64, u64, f64)> {
    let started = Instant::now();
    let response = http
        .get(format!("{base}/api/postings/export?{query}"))
        .bearer_auth(token_for("alice", false))
        .send()
        .await?
        .error_for_status()?;
    let mut body = response.bytes_stream();
    let (mut lines, mut bytes) = (0_u64, 0_u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let rows = if query.contains("csv") { lines.saturating_sub(1) } else { lines };
    Ok((rows, bytes, started.elapsed().as_secs_f64()))
}

fn peak_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    vm_hwm_kb(&status).context("no VmHWM in /proc/PID/status")
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}
