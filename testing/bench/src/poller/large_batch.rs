//! `bench poller … large`: one batch-mode job of `BENCH_LARGE_BATCH_ITEMS` items (200,000) over postings of
//! realistic length (a description of about 5,800 characters, near the 6,000 the worker sends), worked by the
//! poller's release binary in Lambda mode against the fake Runtime API (one invocation after another, each with the
//! function's timeout and the worker's budget), with the fake OpenAI in this process: so the binary's peak resident
//! set (`VmHWM`) is the worker's alone.
//!
//! Prints the batches the job was split into and their input sizes, the invocations it took, the worker's peak, and
//! how fast batch output was applied: the lines the worker reports applied over the time it reports spending on them
//! (streaming the files and ending their items, from its EMF lines), and the wall time from the job's creation.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_fake_openai::{FakeConfig, FakeOpenAi, Timing};
use bw_messages::LlmJobMessage;
use bw_tests::app::TestApp;
use bw_tests::lambda_runtime::events::{sqs_event, sqs_record};
use bw_tests::lambda_runtime::{FakeRuntime, Function};
use bw_vocab::JobMode;

use crate::figure;

/// Items of the job unless `BENCH_LARGE_BATCH_ITEMS` says otherwise.
const ITEMS: usize = 200_000;
/// At most this many invocations before the benchmark gives up.
const MAX_INVOCATIONS: usize = 400;

/// Runs the large-batch part and prints its figures.
pub async fn run() -> anyhow::Result<()> {
    let items = match std::env::var("BENCH_LARGE_BATCH_ITEMS") {
        Ok(v) => v.parse().context("BENCH_LARGE_BATCH_ITEMS")?,
        Err(_) => ITEMS,
    };
    let binary = std::env::current_exe()?.parent().context("no directory")?.join("poller");
    anyhow::ensure!(binary.is_file(), "{} is missing: run `cargo build --release -p bw-poller`", binary.display());
    let app = TestApp::spawn().await?;
    let seeded = Instant::now();
    let job = seed(&app, items).await?;
    figure("large_batch_items", items);
    figure("large_batch_seed_s", format!("{:.1}", seeded.elapsed().as_secs_f64()));

    // Batches that validate and run within seconds: the figures are the worker's, not OpenAI's queue.
    let fake = FakeOpenAi::new(FakeConfig {
        batch_validating_ms: Timing::ms(100),
        batch_in_progress_ms: Timing::ms(3_000),
        batch_finalizing_ms: Timing::ms(100),
        ..FakeConfig::default()
    });
    let openai = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    let secret = bw_tests::secrets::TestSecret::create("bench-openai", "sk-bench").await?;
    let (runtime, runtime_api) = FakeRuntime::start(Function::POLLER_WORKER).await?;
    let log = std::env::temp_dir().join("bw-bench-large-batch.log");
    let _ = std::fs::remove_file(&log);
    let env = [
        ("POLLER_ROLE", "worker".to_owned()),
        ("LLM_JOBS_QUEUE_URL", app.llm_queue.url.clone()),
        ("OPENAI_API_KEY_SECRET", secret.name.clone()),
        ("OPENAI_BASE_URL", openai.base_url.clone()),
        ("DATABASE_URL", app.db.url.clone()),
    ];
    let mut child = spawn(&binary, &runtime_api, &env, &log)?;
    let pid = child.id().context("the worker has no pid")?;

    let started = Instant::now();
    let body = LlmJobMessage::new(job).body();
    let mut invocations = 0;
    loop {
        let open =
            app.db.scalar(&format!("SELECT count(*) FROM llm_jobs WHERE id = '{job}' AND resolved_at IS NULL")).await?;
        if open == 0 {
            break;
        }
        anyhow::ensure!(invocations < MAX_INVOCATIONS, "the job is not resolved after {invocations} invocations");
        let event = sqs_event(vec![sqs_record("bw-llm-jobs", &format!("m{invocations}"), &body)]);
        let id = runtime.push_event(event);
        let before = Instant::now();
        tokio::select! {
            answer = runtime.wait_response(&id, Function::POLLER_WORKER.timeout * 2) => { answer?; }
            status = child.wait() => anyhow::bail!("the worker exited ({}); see {}", status?, log.display()),
        }
        invocations += 1;
        if before.elapsed() < Duration::from_secs(1) {
            // Nothing to do yet (batches still running at the fake): as the job's message would, come back later.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let wall = started.elapsed();
    let peak_kb = crate::vm_hwm_kb(&std::fs::read_to_string(format!("/proc/{pid}/status"))?).context("no VmHWM")?;
    child.kill().await?;

    let status = app.db.rows(&format!("SELECT status, items_completed FROM llm_jobs WHERE id = '{job}'")).await?;
    figure("large_batch_status", status[0]["status"].as_str().unwrap_or("?"));
    figure("large_batch_items_completed", status[0]["items_completed"].as_i64().unwrap_or(0));
    let sizes =
        app.db.rows(&format!("SELECT items, input_bytes FROM llm_batches WHERE job_id = '{job}' ORDER BY seq")).await?;
    let mb = |b: i64| b as f64 / 1e6;
    let bytes: Vec<i64> = sizes.iter().filter_map(|r| r["input_bytes"].as_i64()).collect();
    figure("batches_per_job", sizes.len());
    figure("batch_items_max", sizes.iter().filter_map(|r| r["items"].as_i64()).max().unwrap_or(0));
    figure("batch_input_mb_max", format!("{:.1}", mb(bytes.iter().copied().max().unwrap_or(0))));
    figure("batch_input_mb_total", format!("{:.1}", mb(bytes.iter().sum())));
    figure("worker_invocations", invocations);
    figure("peak_rss_mb_worker", format!("{:.1}", peak_kb as f64 / 1024.0));
    let (lines, ms) = applied(&log)?;
    figure("batch_output_lines_applied", lines);
    figure("batch_output_apply_s", format!("{:.1}", ms as f64 / 1e3));
    figure("batch_output_apply_items_per_s", format!("{:.0}", lines as f64 / (ms.max(1) as f64 / 1e3)));
    figure("large_batch_wall_s", format!("{:.1}", wall.as_secs_f64()));
    Ok(())
}

/// `items` postings of one company with descriptions of realistic length, and a batch job over all of them.
async fn seed(app: &TestApp, items: usize) -> anyhow::Result<uuid::Uuid> {
    let ids = super::seed(&app.db.pool, 1, items, JobMode::Batch).await?;
    // About 5,800 characters each, different for every posting.
    app.db.exec("UPDATE postings SET description = repeat(md5(id::text) || ' ' || md5(title) || ' ', 88)").await?;
    ids.first().copied().context("no job was created")
}

/// Starts the poller binary in Lambda mode, its output appended to `log`.
fn spawn(
    binary: &Path,
    runtime_api: &str,
    env: &[(&str, String)],
    log: &Path,
) -> anyhow::Result<tokio::process::Child> {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut command = Function::POLLER_WORKER.command(binary, runtime_api);
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::from(out.try_clone()?)).stderr(out);
    command.spawn().with_context(|| format!("cannot start {}", binary.display()))
}

/// The batch lines the worker reported applied, and the milliseconds it reported spending on them, summed over its
/// EMF lines in `log`.
fn applied(log: &Path) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(log)?;
    let mut sums = (0, 0);
    for line in text.lines().filter(|l| l.starts_with('{') && l.contains("\"batch_apply_ms\"")) {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        sums.0 += doc["batch_lines_applied"].as_u64().unwrap_or(0);
        sums.1 += doc["batch_apply_ms"].as_u64().unwrap_or(0);
    }
    Ok(sums)
}
