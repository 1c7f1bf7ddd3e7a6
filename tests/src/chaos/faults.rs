//! The chaos phase's faults, one after another on a schedule drawn from the trial's seed, while the workload runs:
//! `kill -9` of a service and its restart after a pause, PostgreSQL connections cut and new ones refused, latency
//! spikes on PostgreSQL. The fake OpenAI's faults (429s, 5xx, resets, stalls) are on for the whole phase.
//!
//! After each fault ends, the time until the work that was in flight moves again is its recovery: every run that
//! was active has a new log line or has ended, every job that was open has been worked again or has resolved.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bw_fake_openai::FakeConfig;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;

use super::procs::{Role, Services};
use super::proxy::RequestFaults;
use super::world::World;

/// What the schedule did.
#[derive(Debug, Default)]
pub struct FaultLog {
    pub kills: usize,
    pub db_outages: usize,
    pub latency_spikes: usize,
    /// (what, seconds from the fault's end until the work in flight moved again).
    pub recoveries: Vec<(String, f64)>,
}

/// How long a recovery is waited for before it is recorded as this long (and the trial fails on it).
const RECOVERY_CAP: Duration = Duration::from_secs(300);

/// The fake OpenAI's share of faults during the chaos phase: 30 % of requests in all.
pub fn openai_faults(world: &World) -> anyhow::Result<()> {
    world
        .openai
        .update_config(|c: &mut FakeConfig| {
            c.rate_limited_rate = 0.10;
            c.rate_limited_retry_after_secs = 1;
            c.server_error_rate = 0.10;
            c.server_error_statuses = vec![500, 503];
        })
        .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
    // Of what passes the fake's own faults, a further 10 % of requests: resets and stalls past the client timeout.
    world.openai_proxy.set_request_faults(RequestFaults {
        reset_rate: 0.05,
        stall_rate: 0.05,
        stall: Duration::from_secs(8),
    });
    Ok(())
}

/// Runs faults until `done` turns true; the first `min_kills` are kills.
pub async fn schedule(
    world: &World,
    services: &mut Services,
    seed: u64,
    short: bool,
    mut done: watch::Receiver<bool>,
) -> anyhow::Result<FaultLog> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
    let mut log = FaultLog::default();
    let min_kills = if short { 1 } else { 3 };
    let mut n = 0;
    loop {
        let gap = Duration::from_millis(if n == 0 { 3_000 } else { rng.random_range(2_000..8_000) });
        tokio::select! {
            () = tokio::time::sleep(gap) => {}
            _ = done.wait_for(|d| *d) => return Ok(log),
        }
        services.check_running()?;
        let pick = if n < min_kills { 0 } else { rng.random_range(0..10) };
        n += 1;
        let before = Probe::take(world).await?;
        let what = match pick {
            0..5 => {
                // The first kills take the ingestion service and the worker, which hold work; then any service.
                let role = match n {
                    1 => Role::Ingestion,
                    2 => Role::Worker,
                    _ => Role::ALL[rng.random_range(0..Role::ALL.len())],
                };
                let pause = Duration::from_millis(rng.random_range(1_000..5_000));
                services.kill(role).await?;
                tokio::time::sleep(pause).await;
                services.restart(role)?;
                log.kills += 1;
                format!("kill -9 {} ({:.1} s down)", role.name(), pause.as_secs_f64())
            }
            5..8 => {
                let secs = if short { rng.random_range(5..=10) } else { rng.random_range(5..=30) };
                world.db_proxy.cut();
                tokio::time::sleep(Duration::from_secs(secs)).await;
                world.db_proxy.restore();
                log.db_outages += 1;
                format!("database cut for {secs} s")
            }
            _ => {
                let ms = rng.random_range(200..1_500);
                let secs = rng.random_range(5..=15);
                world.db_proxy.set_latency(Duration::from_millis(ms));
                tokio::time::sleep(Duration::from_secs(secs)).await;
                world.db_proxy.set_latency(Duration::ZERO);
                log.latency_spikes += 1;
                format!("database latency {ms} ms for {secs} s")
            }
        };
        let ended = Instant::now();
        if let Some(seconds) = recovery(world, &before, ended, &mut done).await? {
            log.recoveries.push((what, seconds));
        }
    }
}

/// Seconds from `ended` until every piece of work open in `before` (and still open at the fault's end) has moved;
/// `None` when nothing was open.
async fn recovery(
    world: &World,
    before: &Probe,
    ended: Instant,
    done: &mut watch::Receiver<bool>,
) -> anyhow::Result<Option<f64>> {
    let at_end = Probe::take(world).await?;
    // Work open before the fault and still open, unmoved or not, at its end: it must move after the end.
    let mut waiting: BTreeMap<String, String> =
        at_end.open.iter().filter(|(k, _)| before.open.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if waiting.is_empty() {
        return Ok(None);
    }
    while ended.elapsed() < RECOVERY_CAP {
        let now = Probe::take(world).await?;
        waiting.retain(|key, state| now.open.get(key) == Some(state));
        if waiting.is_empty() {
            return Ok(Some(ended.elapsed().as_secs_f64()));
        }
        if *done.borrow() {
            return Ok(Some(ended.elapsed().as_secs_f64()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(Some(ended.elapsed().as_secs_f64()))
}

/// The open work and a fingerprint of each piece: a run's status and its log lines (not the sweep's re-enqueue
/// notes, which are the system noticing, not the work moving), a job's status, counts and last update. A job counts
/// as open while a worker holds it or it is due within seconds, not while it waits for its next poll by design (a
/// batch is polled once a minute).
struct Probe {
    open: BTreeMap<String, String>,
}

impl Probe {
    async fn take(world: &World) -> anyhow::Result<Self> {
        let listed = |statuses: &[&str]| statuses.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        let runs = world
            .db
            .rows(&format!(
                "SELECT r.id::text AS id, r.status || ':' || r.counts::text || ':' || \
                 (SELECT count(*) FROM run_events e WHERE e.run_id = r.id AND e.message NOT LIKE 'run re-enqueued%') \
                 AS state FROM runs r WHERE r.status IN ({})",
                listed(&bw_vocab::RunStatus::ACTIVE.map(bw_vocab::RunStatus::as_str))
            ))
            .await?;
        let jobs = world
            .db
            .rows(&format!(
                "SELECT id::text AS id, concat_ws(':', status, items_pending, items_submitted, items_completed, \
                 items_failed, flags_applied, updated_at) AS state FROM llm_jobs WHERE status IN ({}) \
                 AND (lease_until > now() OR next_poll_at <= now() + interval '5 seconds')",
                listed(&bw_vocab::JobStatus::UNRESOLVED.map(bw_vocab::JobStatus::as_str))
            ))
            .await?;
        let open = runs
            .iter()
            .map(|r| ("run", r))
            .chain(jobs.iter().map(|j| ("job", j)))
            .filter_map(|(kind, row)| {
                Some((format!("{kind} {}", row["id"].as_str()?), row["state"].as_str()?.to_owned()))
            })
            .collect();
        Ok(Self { open })
    }
}
