//! `bench poller`, webhook mode: the same workload with the fake OpenAI pushing each completion, signed, to the real
//! API's `/api/webhooks/openai` (in-process, over a socket), which wakes the job on the in-memory queue the worker
//! reads; the worker polls an item only when its event is overdue (`LLM_WEBHOOK_NET_SECS`, its default).
//!
//! Figures: OpenAI requests per item (every request: the create, the read an event asks for, polls and retries),
//! and per item the time from its end at OpenAI (the fake's clock) to its decision applied (`completed_at`, the
//! database's clock; the two are this machine's clock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bw_fake_openai::{FakeConfig, FakeOpenAi};
use bw_poller::delay::Cadence;
use bw_poller::settings::DEFAULT_WEBHOOK_NET_SECS;
use bw_test_support::ChannelQueue;
use bw_tests::db::TestDb;
use bw_vocab::JobMode;

use super::{completion_latencies, figure, new_loop, percentile, seed, wait_resolved, worker, workload};

/// What one webhook run did.
pub(super) struct Pushed {
    requests_per_item: f64,
    /// Requests that were neither an item's create nor the one read its event asked for: polls and retries.
    extra_requests_per_item: f64,
    completion_to_resolved_ms: Vec<i64>,
    ends_pushed: i64,
    ends_polled: i64,
    lost: u64,
    resolve_lag: Duration,
    wall: Duration,
}

impl Pushed {
    pub(super) fn print(&self, name: &str) {
        figure(&format!("requests_per_item_{name}"), format!("{:.2}", self.requests_per_item));
        figure(&format!("extra_requests_per_item_{name}"), format!("{:.3}", self.extra_requests_per_item));
        let lat = &self.completion_to_resolved_ms;
        figure(&format!("completion_to_resolved_ms_p50_{name}"), percentile(lat, 0.5));
        figure(&format!("completion_to_resolved_ms_p99_{name}"), percentile(lat, 0.99));
        figure(&format!("completion_to_resolved_ms_max_{name}"), lat.last().copied().unwrap_or(0));
        figure(&format!("ends_pushed_{name}"), self.ends_pushed);
        figure(&format!("ends_polled_{name}"), self.ends_polled);
        figure(&format!("events_lost_{name}"), self.lost);
        figure(&format!("resolve_lag_s_{name}"), format!("{:.1}", self.resolve_lag.as_secs_f64()));
        figure(&format!("wall_s_{name}"), format!("{:.1}", self.wall.as_secs_f64()));
    }
}

/// Runs the workload with webhooks on, `loss` of the events never sent.
pub(super) async fn strategy(jobs: usize, items: usize, rpm: u32, loss: f64) -> anyhow::Result<Pushed> {
    let db = TestDb::new().await?;
    let pool = bw_db::pool::build(&db.url, 40)?;
    let ids = seed(&pool, jobs, items, JobMode::Background).await?;
    // The API wakes jobs on the queue the worker reads.
    let (queue, rx) = ChannelQueue::new();
    let state = bw_api::AppState {
        pool: bw_db::pool::build(&db.url, 16)?,
        queue: Arc::new(queue.clone()),
        database: bw_messages::Database::Primary,
        boards: Arc::new(bw_test_support::MemoryBoards::default()),
        keys: bw_tests::app::test_keys(),
        ops: Arc::new(bw_test_support::MemoryOps::new("bw-")),
        live: None,
        webhook_secret: Some(bw_tests::webhook_secret()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/api/webhooks/openai", listener.local_addr()?);
    let api = tokio::spawn(async move { axum::serve(listener, bw_api::router(state)).await });
    let config = FakeConfig {
        webhook_url: Some(hook_url),
        webhook_secret: Some(bw_tests::webhook_secret().to_whsec()),
        webhook_loss_rate: loss,
        ..workload(rpm)
    };
    let fake = FakeOpenAi::new(config);
    let server = fake.serve(([127, 0, 0, 1], 0).into()).await?;
    let net = Cadence::Webhooks { net: Duration::from_secs(DEFAULT_WEBHOOK_NET_SECS) };
    let worker = Arc::new(worker(&pool, &server.base_url, queue.clone(), net)?);
    let started = Instant::now();
    let driver = tokio::spawn(new_loop(worker, ids, queue, rx));
    let resolved_ms = wait_resolved(&pool, &fake).await?;
    driver.abort();
    api.abort();
    let wall = started.elapsed();
    let stats = fake.stats();
    let lat = completion_latencies(&db, &fake).await?;
    let ends =
        db.rows("SELECT sum(ends_pushed)::bigint AS pushed, sum(ends_polled)::bigint AS polled FROM llm_jobs").await?;
    let (ends_pushed, ends_polled) = (ends[0]["pushed"].as_i64().unwrap_or(0), ends[0]["polled"].as_i64().unwrap_or(0));
    let total_items = (jobs * items) as f64;
    let extra = stats.total_requests as f64 - stats.responses_created as f64 - ends_pushed as f64;
    let last_done = fake.last_response_done_ms().unwrap_or(resolved_ms);
    Ok(Pushed {
        requests_per_item: stats.total_requests as f64 / total_items,
        extra_requests_per_item: extra / total_items,
        completion_to_resolved_ms: lat,
        ends_pushed,
        ends_polled,
        lost: stats.webhooks_lost,
        resolve_lag: Duration::from_millis(resolved_ms.saturating_sub(last_done)),
        wall,
    })
}
