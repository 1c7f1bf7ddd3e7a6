//! `bench lambda`: each function's release binary in Lambda mode against the fake Runtime API, with only the
//! environment Lambda sets plus the function's configuration (LocalStack standing in for AWS). Per function:
//! - the cold start: process spawn to its first `GET /runtime/invocation/next` (the median of ROUNDS fresh
//!   processes; init does all its work before that request);
//! - the peak resident set (`VmHWM`) after a burst of events: 200 SQS events of 10 records for the consumers,
//!   50 scheduled events for the dispatch, 200 HTTP API requests for the API; and for the ingestion also a burst
//!   of one-record events, its event source mapping's batch size in infra/template.yaml (one run at a time).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_db::llm::{self, NewJob};
use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi};
use bw_messages::{Database, LlmJobMessage, RunMessage};
use bw_vocab::{BoardKind, JobMode};
use serde_json::{Value, json};
use tokio::process::Child;
use uuid::Uuid;

use super::figure;
use bw_tests::app::{JWT_SECRET, TestApp, token_for};
use bw_tests::lambda_runtime::events::{http_event, scheduled_event, sqs_event, sqs_record};
use bw_tests::lambda_runtime::{FakeRuntime, Function};

/// SQS events per consumer burst; each carries the function's batch size in records, as its event source mapping
/// delivers them (a heavier ten-record ingestion burst is measured too, labelled as such).
const SQS_EVENTS: usize = 200;
const STRESS_RECORDS_PER_EVENT: usize = 10;
const SCHEDULED_EVENTS: usize = 50;
const HTTP_EVENTS: usize = 200;
/// LLM jobs the worker polls in its burst, and jobs made due for the dispatch.
const WORKER_JOBS: usize = 10;
const DISPATCH_JOBS: usize = 40;

/// One function to measure: its binary, configuration, and the burst of events it works.
struct Target {
    function: Function,
    /// Names its figures: the function's name, or that and what differs.
    label: String,
    binary: &'static str,
    env: Vec<(&'static str, String)>,
    burst: Vec<Value>,
}

/// Runs the benchmark: `rounds` cold starts per function; boards of `postings` postings for the ingestion burst.
pub async fn run(rounds: usize, postings: usize) -> anyhow::Result<()> {
    let bin_dir = release_dir()?;
    let app = TestApp::spawn().await?;
    anyhow::ensure!(bw_config::optional("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set (LocalStack)");
    let common = [("DATABASE_URL", app.db.url.clone())];
    figure("cold_start_rounds", rounds);

    let batch = Function::INGESTION.batch_size.unwrap_or(1);
    let ingestion = ingestion_target(&app, ["bench-a", "bench-b"], postings, batch).await?;
    measure(&bin_dir, with_env(ingestion, &common), rounds).await?;
    let mut stress = ingestion_target(&app, ["bench-c", "bench-d"], postings, STRESS_RECORDS_PER_EVENT).await?;
    stress.label.push_str(&format!("_batch_size_{STRESS_RECORDS_PER_EVENT}"));
    measure(&bin_dir, with_env(stress, &common), 0).await?;
    board_sizes(&app, &bin_dir, &common).await?;

    let fake = FakeOpenAi::new(FakeConfig::default());
    let openai = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    // The OpenAI key in Secrets Manager, as the stack keeps it: the worker reads it at start-up.
    let secret = bw_tests::secrets::TestSecret::create("bench-openai", "sk-bench").await?;
    let worker = worker_target(&app, &openai.base_url, &secret.name).await?;
    measure(&bin_dir, with_env(worker, &common), rounds).await?;
    figure("openai_requests_poller_worker", fake.stats().total_requests);

    measure(&bin_dir, with_env(dispatch_target(&app).await?, &common), rounds).await?;
    measure(&bin_dir, with_env(api_target(&app), &common), rounds).await
}

/// Where `bench` itself lives: `cargo build --release --bins` puts the service binaries beside it.
fn release_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the bench binary")?;
    exe.parent().map(Path::to_path_buf).context("the bench binary has no directory")
}

fn with_env(mut target: Target, common: &[(&'static str, String)]) -> Target {
    target.env.extend_from_slice(common);
    target
}

/// A pending run for each of `users`, each over a board of its own of `postings` postings (Greenhouse, Lever);
/// the burst delivers their messages over and over, in events of `per_event` records, as at-least-once delivery
/// may: the first delivery of each works the run, the others find it leased (and fail, to come back) or ended.
async fn ingestion_target(
    app: &TestApp,
    users: [&str; 2],
    postings: usize,
    per_event: usize,
) -> anyhow::Result<Target> {
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    let mut bodies = Vec::new();
    for (user, (fake, kind)) in
        users.into_iter().zip([(Kind::Greenhouse, BoardKind::Greenhouse), (Kind::Lever, BoardKind::Lever)])
    {
        let board = format!("{user}-board");
        app.ats.generate_board(fake, &board, postings, bodies.len() as u64);
        bw_db::companies::create(&mut conn, user, &board, bw_db::companies::BoardRef::us(kind, &board)).await?;
        let bw_db::runs::Created::Run(run) = bw_db::runs::create(&mut conn, user).await? else {
            anyhow::bail!("{user} already has an active run");
        };
        bodies.push(bw_messages::to_body(&RunMessage::new(run.id, user, Database::Primary)));
    }
    figure("postings_per_run_ingestion", postings);
    let burst = sqs_burst("bw-runs", per_event, |i| bodies[i % bodies.len()].clone());
    let env = vec![("RUNS_QUEUE_URL", app.queue.url.clone()), ("ATS_BASE_URL", app.ats_server.base_url.clone())];
    Ok(Target { function: Function::INGESTION, label: "ingestion".to_owned(), binary: "ingestion", env, burst })
}

/// Boards of one company, one run each, in a fresh ingestion process: the process's peak as a board grows.
const BOARD_SIZES: [usize; 4] = [500, 2_000, 5_000, 10_000];

/// `peak_rss_mb_board_N` for each of [`BOARD_SIZES`]: a user with one Greenhouse board of N postings (its listing
/// carries the descriptions, the heaviest of the kinds), its run delivered once to a fresh ingestion process; and
/// the growth from the smallest to the largest, per posting. The body cap is raised so that the board is read.
async fn board_sizes(app: &TestApp, bin_dir: &Path, common: &[(&'static str, String)]) -> anyhow::Result<()> {
    let mut peaks = Vec::new();
    for n in BOARD_SIZES {
        let user = format!("bench-board-{n}");
        let board = format!("{user}-gh");
        app.ats.generate_board(Kind::Greenhouse, &board, n, n as u64);
        let mut conn = bw_db::pool::conn(&app.db.pool).await?;
        bw_db::companies::create(
            &mut conn,
            &user,
            &board,
            bw_db::companies::BoardRef::us(BoardKind::Greenhouse, &board),
        )
        .await?;
        let bw_db::runs::Created::Run(run) = bw_db::runs::create(&mut conn, &user).await? else {
            anyhow::bail!("{user} already has an active run");
        };
        drop(conn);
        let body = bw_messages::to_body(&RunMessage::new(run.id, &user, Database::Primary));
        let env = vec![
            ("RUNS_QUEUE_URL", app.queue.url.clone()),
            ("ATS_BASE_URL", app.ats_server.base_url.clone()),
            ("BOARD_MAX_BODY_BYTES", (1usize << 30).to_string()),
        ];
        let target = Target {
            function: Function::INGESTION,
            label: format!("board_{n}"),
            binary: "ingestion",
            env,
            burst: sqs_burst("bw-runs", 1, |_| body.clone()),
        };
        let peak_kb = burst_peak_kb(bin_dir, with_env(target, common)).await?;
        let finished = format!("SELECT count(*) FROM runs WHERE id = '{}' AND status = 'finished'", run.id);
        anyhow::ensure!(app.db.scalar(&finished).await? == 1, "the run over a board of {n} did not finish");
        figure(&format!("peak_rss_mb_board_{n}"), format!("{:.1}", peak_kb as f64 / 1024.0));
        peaks.push((n, peak_kb));
    }
    if let (Some((n0, p0)), Some((n1, p1))) = (peaks.first(), peaks.last()) {
        let per = (*p1 as f64 - *p0 as f64) / (n1 - n0) as f64;
        figure(&format!("peak_rss_growth_kb_per_posting_{n0}_to_{n1}"), format!("{per:.2}"));
    }
    Ok(())
}

/// Background jobs over a user's postings; the burst's events carry the jobs' messages in turn, so the jobs are
/// polled over and over (submitting, then polling their items).
async fn worker_target(app: &TestApp, openai_url: &str, secret: &str) -> anyhow::Result<Target> {
    let jobs = create_jobs(app, "bench-a", WORKER_JOBS).await?;
    let per_event = Function::POLLER_WORKER.batch_size.unwrap_or(1);
    let burst = sqs_burst("bw-llm-jobs", per_event, |i| LlmJobMessage::new(jobs[i % jobs.len()]).body());
    let env = vec![
        ("POLLER_ROLE", "worker".to_owned()),
        ("LLM_JOBS_QUEUE_URL", app.llm_queue.url.clone()),
        ("OPENAI_API_KEY_SECRET", secret.to_owned()),
        ("OPENAI_BASE_URL", openai_url.to_owned()),
    ];
    Ok(Target { function: Function::POLLER_WORKER, label: "poller_worker".to_owned(), binary: "poller", env, burst })
}

/// More due jobs (over another user's postings); the first scheduled event sends them all, the rest find none due.
async fn dispatch_target(app: &TestApp) -> anyhow::Result<Target> {
    create_jobs(app, "bench-b", DISPATCH_JOBS).await?;
    let burst = (0..SCHEDULED_EVENTS).map(|_| scheduled_event("bw-poller-dispatch")).collect();
    let env = vec![
        ("POLLER_ROLE", "dispatch".to_owned()),
        ("LLM_JOBS_QUEUE_URL", app.llm_queue.url.clone()),
        ("RUNS_QUEUE_URL", app.queue.url.clone()),
    ];
    Ok(Target {
        function: Function::POLLER_DISPATCH,
        label: "poller_dispatch".to_owned(),
        binary: "poller",
        env,
        burst,
    })
}

/// Alice's requests in turn: add a company, list companies, list runs, list LLM jobs.
fn api_target(app: &TestApp) -> Target {
    let token = &token_for("alice", false);
    let burst = (0..HTTP_EVENTS)
        .map(|i| match i % 4 {
            0 => {
                let company =
                    json!({ "name": format!("Co {i}"), "board_kind": "greenhouse", "board_token": format!("co{i}") });
                http_event("POST", "/api/companies", Some(token), Some(&company))
            }
            1 => http_event("GET", "/api/companies", Some(token), None),
            2 => http_event("GET", "/api/ingestion/runs?limit=20", Some(token), None),
            _ => http_event("GET", "/api/llm-jobs?limit=50", Some(token), None),
        })
        .collect();
    let env = vec![
        ("JWT_SECRET", JWT_SECRET.to_owned()),
        ("RUNS_QUEUE_URL", app.queue.url.clone()),
        ("LLM_JOBS_QUEUE_URL", app.llm_queue.url.clone()),
    ];
    Target { function: Function::API, label: "api".to_owned(), binary: "api", env, burst }
}

/// `SQS_EVENTS` events of `per_event` records; record `i` overall carries `body(i)`.
fn sqs_burst(queue: &str, per_event: usize, body: impl Fn(usize) -> String) -> Vec<Value> {
    (0..SQS_EVENTS)
        .map(|e| {
            let records = (0..per_event)
                .map(|r| {
                    let i = e * per_event + r;
                    sqs_record(queue, &format!("m{i}"), &body(i))
                })
                .collect();
            sqs_event(records)
        })
        .collect()
}

/// `count` background jobs of `user`, over the user's ready postings split evenly.
async fn create_jobs(app: &TestApp, user: &str, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let sql = format!(
        "SELECT p.id FROM postings p JOIN companies c ON c.id = p.company_id WHERE c.user_id = '{user}' AND p.status = 'ready' ORDER BY p.id"
    );
    let ids: Vec<i64> = app.db.rows(&sql).await?.iter().filter_map(|r| r["id"].as_i64()).collect();
    anyhow::ensure!(ids.len() >= count, "{user} has {} ready postings, fewer than {count} jobs", ids.len());
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    let mut jobs = Vec::new();
    // Exactly `count` jobs, the postings dealt among them in turn.
    let shares: Vec<Vec<i64>> = (0..count).map(|j| ids.iter().skip(j).step_by(count).copied().collect()).collect();
    for chunk in &shares {
        let job = NewJob {
            user_id: user,
            name: "remote?",
            model: "gpt-4.1-nano",
            instructions: "Is it remote?",
            mode: JobMode::Background,
        };
        jobs.push(llm::create(&mut conn, job, chunk).await?.id);
    }
    Ok(jobs)
}

/// Cold starts, then the burst; prints the function's figures.
async fn measure(bin_dir: &Path, target: Target, rounds: usize) -> anyhow::Result<()> {
    let name = target.label.as_str();
    let log = std::env::temp_dir().join(format!("bw-bench-lambda-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let mut cold = Vec::new();
    for _ in 0..rounds {
        let (runtime, runtime_api) = FakeRuntime::start(target.function).await?;
        let (mut child, spawned) = spawn(bin_dir, &target, &runtime_api, &log)?;
        let first = tokio::select! {
            first = runtime.first_next(Duration::from_secs(30)) => first?,
            status = child.wait() => anyhow::bail!("{name} exited during init ({}); see {}", status?, log.display()),
        };
        cold.push(first.duration_since(spawned));
        child.kill().await?;
    }
    cold.sort();
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    if let (Some(median), Some(max)) = (cold.get(cold.len() / 2), cold.last()) {
        figure(&format!("cold_start_ms_{name}"), ms(*median));
        figure(&format!("cold_start_ms_{name}_max"), ms(*max));
    }

    let burst = run_burst(bin_dir, &target, &log).await?;
    figure(&format!("burst_events_{name}"), burst.events);
    figure(&format!("burst_s_{name}"), format!("{:.2}", burst.took.as_secs_f64()));
    figure(&format!("burst_failures_{name}"), burst.failed);
    figure(&format!("peak_rss_mb_{name}"), format!("{:.1}", burst.peak_kb as f64 / 1024.0));
    Ok(())
}

/// What a fresh process did with a burst of events.
struct Burst {
    events: usize,
    failed: usize,
    took: Duration,
    peak_kb: u64,
}

/// The target's burst through a fresh process, which is then killed.
async fn run_burst(bin_dir: &Path, target: &Target, log: &Path) -> anyhow::Result<Burst> {
    let name = target.label.as_str();
    let (runtime, runtime_api) = FakeRuntime::start(target.function).await?;
    let (mut child, _) = spawn(bin_dir, target, &runtime_api, log)?;
    let pid = child.id().context("the child has no pid")?;
    let started = Instant::now();
    let ids: Vec<String> = target.burst.iter().map(|event| runtime.push_event(event.clone())).collect();
    let mut failed = 0;
    for id in &ids {
        let answer = tokio::select! {
            answer = runtime.wait_response(id, Duration::from_secs(600)) => answer?,
            status = child.wait() => anyhow::bail!("{name} exited during the burst ({}); see {}", status?, log.display()),
        };
        failed += failures(&answer);
    }
    let took = started.elapsed();
    let peak_kb = vm_hwm_kb(pid)?;
    child.kill().await?;
    Ok(Burst { events: ids.len(), failed, took, peak_kb })
}

/// The peak of a fresh process working the target's burst (its log in the temporary directory).
async fn burst_peak_kb(bin_dir: &Path, target: Target) -> anyhow::Result<u64> {
    let log = std::env::temp_dir().join(format!("bw-bench-lambda-{}.log", target.label));
    let _ = std::fs::remove_file(&log);
    let burst = run_burst(bin_dir, &target, &log).await?;
    anyhow::ensure!(burst.failed == 0, "{} failed its event; see {}", target.label, log.display());
    Ok(burst.peak_kb)
}

/// Starts the binary in Lambda mode, its output appended to `log`; returns it and the moment before the spawn.
fn spawn(bin_dir: &Path, target: &Target, runtime_api: &str, log: &Path) -> anyhow::Result<(Child, Instant)> {
    let binary = bin_dir.join(target.binary);
    anyhow::ensure!(binary.is_file(), "{} is missing: run `cargo build --release --bins`", binary.display());
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut command = target.function.command(&binary, runtime_api);
    command.envs(target.env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::from(out.try_clone()?)).stderr(out);
    let spawned = Instant::now();
    let child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
    Ok((child, spawned))
}

/// Failed records of an `SqsBatchResponse`, or 1 for an HTTP response of status 400 or more.
fn failures(answer: &Value) -> usize {
    let records = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
    records + usize::from(answer["statusCode"].as_u64().is_some_and(|s| s >= 400))
}

/// The peak resident set of process `pid` (`VmHWM`), in KiB.
fn vm_hwm_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read /proc/PID/status")?;
    super::vm_hwm_kb(&status).context("no VmHWM in /proc/PID/status")
}
