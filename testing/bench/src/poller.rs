//! `bench poller`: J jobs x I items against the fake OpenAI (50 ms latency, items finishing uniformly over 60 s,
//! a per-minute rate limit), worked two ways on the same workload:
//! - the new strategy: the real worker, each job re-enqueued with the delay its progress chose (an in-process queue
//!   stands in for SQS `DelaySeconds`, so the figures measure the strategy, not LocalStack);
//! - the old strategy: every 30 s, jobs one after another, 20 items in parallel, at most 50 items per job per tick.
//!
//! For each: the time from the last item finishing at OpenAI to the last job resolved, and OpenAI requests per item.
//! Then the new strategy with webhooks on, twice (every event delivered; a fifth of them lost): see [`webhooks`]; the
//! batch strategy on the same workload; and one batch job of 200,000 items worked by the release binary: see
//! [`large_batch`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use bw_db::llm::{self, NewJob};
use bw_db::postings::{self, Listing, NewPosting};
use bw_fake_openai::{FakeConfig, FakeOpenAi, Timing};
use bw_openai::{OpenAi, OpenAiConfig};
use bw_poller::delay::Cadence;
use bw_poller::{Settings, Worker};
use bw_queue::Outgoing;
use bw_test_support::ChannelQueue;
use bw_vocab::{BoardKind, JobMode};
use tokio::sync::{Semaphore, mpsc};
use uuid::Uuid;

use super::figure;
use bw_tests::db::TestDb;

mod large_batch;
mod webhooks;

/// What one strategy did.
struct Outcome {
    lag: Duration,
    /// Background mode: per item, from its end at OpenAI to its decision applied (ms, sorted).
    completion_to_resolved_ms: Vec<i64>,
    requests_per_item: f64,
    rate_limited: u64,
    wall: Duration,
}

/// Runs the benchmark and prints its figures: `parts` is `all`, or a comma-separated list of `polling` (the new
/// strategy), `old`, `webhook` (both webhook runs), `batch` and `large` (one batch job of 200,000 items: see
/// [`large_batch`]).
pub async fn run(jobs: usize, items: usize, rpm: u32, parts: &str) -> anyhow::Result<()> {
    let wanted = |part: &str| parts == "all" || parts.split(',').any(|p| p.trim() == part);
    figure("jobs", jobs);
    figure("items_per_job", items);
    figure("rate_limit_per_minute", rpm);
    let new = match wanted("polling") {
        true => Some(strategy(jobs, items, rpm, JobMode::Background, false).await?),
        false => None,
    };
    if let Some(new) = &new {
        print("new_strategy", new);
        figure("requests_per_item_background", format!("{:.2}", new.requests_per_item));
        figure("rate_limited_requests", new.rate_limited);
    }
    if wanted("old") {
        let old = strategy(jobs, items, rpm, JobMode::Background, true).await?;
        print("old_strategy", &old);
        if let Some(new) = &new {
            let speedup = old.lag.as_secs_f64() / new.lag.as_secs_f64().max(0.001);
            figure("speedup_vs_old_strategy", format!("{speedup:.1}"));
        }
    }
    if wanted("webhook") {
        for (name, loss) in [("webhook", 0.0), ("webhook_lost20", 0.2)] {
            let pushed = webhooks::strategy(jobs, items, rpm, loss).await?;
            pushed.print(name);
        }
    }
    if wanted("batch") {
        let batch = strategy(jobs, items, rpm, JobMode::Batch, false).await?;
        figure("requests_per_item_batch", format!("{:.3}", batch.requests_per_item));
        figure("batch_wall_s", format!("{:.1}", batch.wall.as_secs_f64()));
    }
    if wanted("large") {
        large_batch::run().await?;
    }
    Ok(())
}

fn print(name: &str, o: &Outcome) {
    figure(&format!("{name}_resolve_lag_s"), format!("{:.1}", o.lag.as_secs_f64()));
    figure(&format!("{name}_requests_per_item"), format!("{:.2}", o.requests_per_item));
    figure(&format!("{name}_rate_limited_requests"), o.rate_limited);
    figure(&format!("{name}_wall_s"), format!("{:.1}", o.wall.as_secs_f64()));
    let lat = &o.completion_to_resolved_ms;
    figure(&format!("{name}_completion_to_resolved_ms_p50"), percentile(lat, 0.5));
    figure(&format!("{name}_completion_to_resolved_ms_max"), lat.last().copied().unwrap_or(0));
}

/// The `q` quantile of sorted values (0 when there are none).
pub(crate) fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Per item, milliseconds from its end at OpenAI (the fake's clock) to its decision applied (`completed_at`, the
/// database's clock; both this machine's), sorted.
pub(crate) async fn completion_latencies(db: &TestDb, fake: &FakeOpenAi) -> anyhow::Result<Vec<i64>> {
    let ended = fake.responses_ended_ms();
    let rows = db
        .rows(
            "SELECT response_id, (extract(epoch FROM completed_at) * 1000)::bigint AS ms FROM llm_job_items \
             WHERE response_id IS NOT NULL AND completed_at IS NOT NULL",
        )
        .await?;
    let mut lat: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            let done = *ended.get(r["response_id"].as_str()?)?;
            Some(r["ms"].as_i64()? - i64::try_from(done).ok()?)
        })
        .collect();
    lat.sort_unstable();
    Ok(lat)
}

async fn strategy(jobs: usize, items: usize, rpm: u32, mode: JobMode, old: bool) -> anyhow::Result<Outcome> {
    let db = TestDb::new().await?;
    let pool = bw_db::pool::build(&db.url, 40)?;
    let ids = seed(&pool, jobs, items, mode).await?;
    let fake = FakeOpenAi::new(workload(rpm));
    let server = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    let (queue, rx) = ChannelQueue::new();
    let worker = Arc::new(worker(&pool, &server.base_url, queue.clone(), Cadence::Polling)?);
    let started = Instant::now();
    let driver = if old {
        tokio::spawn(old_ticks(Arc::clone(&worker), ids.clone()))
    } else {
        tokio::spawn(new_loop(Arc::clone(&worker), ids.clone(), queue, rx))
    };
    let resolved_ms = wait_resolved(&pool, &fake).await?;
    driver.abort();
    let wall = started.elapsed();
    let last_done = fake.last_response_done_ms().unwrap_or(resolved_ms);
    let stats = fake.stats();
    let total_items = (jobs * items) as f64;
    Ok(Outcome {
        lag: Duration::from_millis(resolved_ms.saturating_sub(last_done)),
        completion_to_resolved_ms: completion_latencies(&db, &fake).await?,
        requests_per_item: stats.total_requests as f64 / total_items,
        rate_limited: stats.rate_limited,
        wall,
    })
}

/// The fake OpenAI of every strategy: 50 ms latency, responses ending uniformly over a minute, `rpm` requests a
/// minute.
pub(crate) fn workload(rpm: u32) -> FakeConfig {
    FakeConfig {
        latency_ms: 50,
        in_progress_after_ms: Timing::ms(0),
        complete_after_ms: Timing::Range { min_ms: 0, max_ms: 60_000 },
        rate_limit_per_minute: Some(rpm),
        ..FakeConfig::default()
    }
}

/// The real worker over `pool`, talking to the fake at `base_url`, re-enqueueing on `queue`, learning ends at
/// `cadence`, with a two-minute budget per invocation.
pub(crate) fn worker(
    pool: &bw_db::PgPool,
    base_url: &str,
    queue: ChannelQueue,
    cadence: Cadence,
) -> anyhow::Result<Worker<ChannelQueue>> {
    let mut openai = OpenAiConfig::new(bw_config::Secret::new("sk-bench"));
    openai.base_url = base_url.to_owned();
    openai.max_retries = 10;
    Ok(Worker {
        pool: pool.clone(),
        openai: OpenAi::new(openai)?,
        queue,
        queue_url: String::new(),
        settings: Settings { budget: Duration::from_secs(120), cadence, ..Settings::default() },
    })
}

/// `items` postings of one company, and `jobs` jobs over all of them.
pub(crate) async fn seed(pool: &bw_db::PgPool, jobs: usize, items: usize, mode: JobMode) -> anyhow::Result<Vec<Uuid>> {
    let mut conn = bw_db::pool::conn(pool).await?;
    let company = match bw_db::companies::create(
        &mut conn,
        "bench",
        "Bench",
        bw_db::companies::BoardRef::us(BoardKind::Lever, "bench"),
    )
    .await?
    {
        bw_db::companies::Created::Company(c) | bw_db::companies::Created::Duplicate(c) => c,
    };
    let rows: Vec<NewPosting> = (0..items)
        .map(|i| NewPosting {
            external_id: i.to_string(),
            content_hash: vec![0; 32],
            title: format!("Engineer {i}"),
            url: None,
            raw: serde_json::json!({}),
            normalized: None,
        })
        .collect();
    let listing = Listing {
        run_id: Uuid::new_v4(),
        user_id: "bench",
        company_id: company.id,
        seen_at: chrono::Utc::now(),
        rewrite: false,
    };
    postings::upsert(&mut conn, listing, &rows).await?;
    let posting_ids: Vec<i64> = llm::postings_matching(&mut conn, "bench", "pending", None, 1_000_000).await?;
    let mut ids = Vec::with_capacity(jobs);
    for j in 0..jobs {
        let name = format!("job {j}");
        let job = NewJob { user_id: "bench", name: &name, model: "gpt-4.1-nano", instructions: "Is it remote?", mode };
        ids.push(llm::create(&mut conn, job, &posting_ids).await?.id);
    }
    Ok(ids)
}

/// The new strategy: every job polled when its message comes back (after its `DelaySeconds`), at most 64
/// invocations at once; each job's first message is a wake, as the API's is.
pub(crate) async fn new_loop(
    worker: Arc<Worker<ChannelQueue>>,
    ids: Vec<Uuid>,
    queue: ChannelQueue,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    for id in ids {
        let _ = bw_queue::Queue::send(&queue, "", Outgoing::llm_job(id, None)).await;
    }
    let slots = Arc::new(Semaphore::new(64));
    while let Some(message) = rx.recv().await {
        let Ok(parsed) = bw_messages::parse_llm_job_message(&message.body) else { continue };
        let delay = Duration::from_secs(u64::try_from(message.delay_seconds.unwrap_or(0)).unwrap_or(0));
        let (worker, slots) = (Arc::clone(&worker), Arc::clone(&slots));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Ok(_permit) = slots.acquire().await else { return };
            let _ = worker.poll_job_from(parsed.job_id, parsed.loop_token, None).await;
        });
    }
}

/// The old strategy: every 30 s, jobs one after another (each: up to 50 items, 20 in parallel).
async fn old_ticks(worker: Arc<Worker<ChannelQueue>>, ids: Vec<Uuid>) {
    loop {
        let tick = Instant::now();
        for id in &ids {
            let _ = worker.poll_job(*id, None).await;
        }
        tokio::time::sleep(Duration::from_secs(30).saturating_sub(tick.elapsed())).await;
    }
}

/// Waits until every job resolved; returns that moment on the fake's clock.
pub(crate) async fn wait_resolved(pool: &bw_db::PgPool, fake: &FakeOpenAi) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(1_800);
    loop {
        let mut conn = bw_db::pool::conn(pool).await?;
        let open = llm::unresolved_count(&mut conn).await?;
        if open == 0 {
            return Ok(fake.clock().now_ms());
        }
        anyhow::ensure!(Instant::now() < deadline, "jobs still unresolved after 30 minutes: {open}");
        drop(conn);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
