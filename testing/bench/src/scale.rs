//! `bench scale`: a run of real size. USERS users each follow COMPANIES boards of the fake ATS (Greenhouse, Lever
//! and Ashby in turn, of varied sizes averaging POSTINGS postings), all their runs started at once and worked by the
//! release `ingestion` binary as a local process of its own (its event-source runner on LocalStack's `runs` queue,
//! several runs at once), twice: a first round that finds everything new, then a second after a tenth of the boards
//! changed (a posting changed, one removed and one added on each). It prints the first round's `postings_per_s`,
//! `run_seconds_p50` / `_p99` over both rounds, the process's `peak_rss_mb_ingestion`, and what the second round
//! wrote: `rows_written_per_changed_posting` (postings and their history rows, over the postings that changed, came or
//! went) and `rows_written_per_unchanged_posting` (posting rows written that had not changed, over those).

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_fake_ats::{FakeAts, Kind};
use bw_messages::{Database, RunMessage};
use bw_queue::definitions::RUNS;
use bw_queue::{Outgoing, Queue as _};
use bw_vocab::BoardKind;

use super::figure;
use bw_tests::db::TestDb;
use bw_tests::sqs::{TestQueue, unique_prefix};

const KINDS: [(Kind, BoardKind); 3] =
    [(Kind::Greenhouse, BoardKind::Greenhouse), (Kind::Lever, BoardKind::Lever), (Kind::Ashby, BoardKind::Ashby)];
/// Board sizes as parts of POSTINGS, averaging one: small and large boards side by side.
const SIZES: [f64; 5] = [0.25, 0.5, 1.0, 1.5, 1.75];
/// How long a round may take before the benchmark gives up.
const ROUND_LIMIT: Duration = Duration::from_secs(1_800);

/// Runs the benchmark.
pub async fn run(users: usize, companies: usize, postings: usize) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let queue = TestQueue::from_def(&format!("{}runs", unique_prefix()), &RUNS).await?;
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    let mut boards = Vec::new();
    let mut total = 0;
    {
        let mut conn = bw_db::pool::conn(&db.pool).await?;
        for u in 0..users {
            let user = format!("user{u}");
            for c in 0..companies {
                let (fake, kind) = KINDS[(u + c) % KINDS.len()];
                let size = ((postings as f64) * SIZES[(u * 7 + c) % SIZES.len()]).round() as usize;
                let token = format!("u{u}c{c}");
                ats.generate_board(fake, &token, size, (u * companies + c) as u64);
                bw_db::companies::create(&mut conn, &user, &token, bw_db::companies::BoardRef::us(kind, &token))
                    .await?;
                boards.push((fake, token));
                total += size;
            }
        }
    }
    figure("users", users);
    figure("companies_per_user", companies);
    figure("postings_total", total);
    // The runner's own defaults: runs worked at once (`RECORD_CONCURRENCY`) and database connections.
    let settings = bw_ingestion::Settings::default();
    figure("runs_at_once", settings.record_concurrency);
    figure("database_pool_size", settings.pool_size);

    let binary = super::delivery::ingestion_binary()?;
    let log = std::env::temp_dir().join("bw-bench-scale-ingestion.log");
    let mut child = tokio::process::Command::new(&binary)
        .env("DATABASE_URL", &db.url)
        .env("RUNS_QUEUE_URL", &queue.url)
        .env("ATS_BASE_URL", &server.base_url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log)?))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let pid = child.id().context("the ingestion process has no pid")?;

    let first = round(&db, &queue, users).await?;
    figure("first_round_s", format!("{:.1}", first.as_secs_f64()));
    figure("postings_per_s", format!("{:.0}", total as f64 / first.as_secs_f64()));

    // A tenth of the boards change: one posting changed, one removed, one added on each.
    let mut moved = 0;
    for (fake, token) in boards.iter().step_by(10) {
        let ids = ats.posting_ids(*fake, token);
        if let (Some(changed), Some(removed)) = (ids.first(), ids.get(1)) {
            ats.change_posting(*fake, token, changed);
            ats.remove_posting(*fake, token, removed);
            ats.add_postings(*fake, token, 1);
            moved += 3;
        }
    }
    let mark = db.scalar("SELECT pg_current_xact_id()::text::int8 % 4294967296").await?;
    let before_second = chrono::Utc::now();
    let second = round(&db, &queue, users).await?;
    figure("second_round_s", format!("{:.1}", second.as_secs_f64()));
    let written =
        |table: &str, extra: &str| format!("SELECT count(*) FROM {table} WHERE xmin::text::int8 > {mark}{extra}");
    let postings_written = db.scalar(&written("postings", "")).await?;
    let history_written = db.scalar(&written("posting_changes", "")).await?;
    let unchanged_written = db
        .scalar(&written(
            "postings",
            &format!(
                " AND status <> 'expired' AND first_seen_at < '{at}' AND content_changed_at < '{at}'",
                at = before_second.to_rfc3339()
            ),
        ))
        .await?;
    let unchanged = total.saturating_sub(moved).max(1);
    figure("postings_moved_second_round", moved);
    figure(
        "rows_written_per_changed_posting",
        format!("{:.2}", (postings_written + history_written) as f64 / moved.max(1) as f64),
    );
    figure("rows_written_per_unchanged_posting", format!("{:.4}", unchanged_written as f64 / unchanged as f64));
    figure(
        "rows_written_per_board_second_round",
        format!(
            "{:.2}",
            (db.scalar(&written("companies", "")).await? + db.scalar(&written("run_companies", "")).await?) as f64
                / boards.len().max(1) as f64
        ),
    );

    let seconds = db
        .rows("SELECT extract(epoch FROM finished_at - started_at)::float8 AS s FROM runs WHERE status = 'finished'")
        .await?;
    let mut seconds: Vec<f64> = seconds.iter().filter_map(|r| r["s"].as_f64()).collect();
    seconds.sort_by(f64::total_cmp);
    let at = |q: f64| seconds.get(((seconds.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    figure("run_seconds_p50", format!("{:.1}", at(0.5)));
    figure("run_seconds_p99", format!("{:.1}", at(0.99)));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read /proc/PID/status")?;
    let peak = super::vm_hwm_kb(&status).context("no VmHWM")?;
    figure("peak_rss_mb_ingestion", format!("{:.1}", peak as f64 / 1024.0));
    let _ = child.kill().await;
    Ok(())
}

/// Starts a run for every user at once (row, then message, as the API does) and waits for all to end; answers the
/// round's wall time. A run that does not finish fails the benchmark.
async fn round(db: &TestDb, queue: &TestQueue, users: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(users);
    {
        let mut conn = bw_db::pool::conn(&db.pool).await?;
        for u in 0..users {
            let user = format!("user{u}");
            let bw_db::runs::Created::Run(run) = bw_db::runs::create(&mut conn, &user).await? else {
                anyhow::bail!("{user} already has an active run");
            };
            let message = RunMessage::new(run.id, &user, Database::Primary);
            queue.sqs.send(&queue.url, Outgoing::run(&message, None)).await?;
            ids.push(run.id);
        }
    }
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    loop {
        let ended = db
            .scalar(&format!(
                "SELECT count(*) FROM runs WHERE id IN ({list}) AND status IN ('finished', 'failed', 'aborted')"
            ))
            .await?;
        if ended == i64::try_from(users)? {
            break;
        }
        anyhow::ensure!(started.elapsed() < ROUND_LIMIT, "{ended} of {users} runs ended within {ROUND_LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unfinished =
        db.scalar(&format!("SELECT count(*) FROM runs WHERE id IN ({list}) AND status <> 'finished'")).await?;
    anyhow::ensure!(
        unfinished == 0,
        "{unfinished} runs did not finish; see the ingestion log in the temporary directory"
    );
    Ok(started.elapsed())
}
