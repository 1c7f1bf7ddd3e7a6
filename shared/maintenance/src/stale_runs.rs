//! The safety net for lost messages: an active run that nobody holds and that has not moved for a while gets its
//! message sent again. A duplicate is harmless (the lease and checkpoints make handling idempotent), a lost message
//! is not: it would leave the run active forever. In AWS the poller's scheduled dispatch does this; locally the
//! ingestion process runs it on a timer.

use std::time::Duration;

use bw_db::{PgPool, pool, runs};
use bw_messages::{Database, RunMessage};
use bw_queue::{Outgoing, Queue};
use tokio::sync::watch;

/// When a run counts as stale, and how often a local sweep looks: `STALE_RUN_SECS` (300) and `STALE_SWEEP_SECS`
/// (10), read here for both services that sweep (the local ingestion process and the poller's dispatch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Staleness {
    /// Seconds an active run may go without progress and without a live lease.
    pub after_secs: i64,
    /// How often the local sweep runs.
    pub every: Duration,
}

impl Default for Staleness {
    fn default() -> Self {
        Self { after_secs: 300, every: Duration::from_secs(10) }
    }
}

impl Staleness {
    /// Reads `STALE_RUN_SECS` and `STALE_SWEEP_SECS`; both must be at least 1.
    pub fn from_env() -> Result<Self, bw_config::ConfigError> {
        let d = Self::default();
        let after_secs = bw_config::parse_or("STALE_RUN_SECS", d.after_secs)?;
        let every = bw_config::parse_or("STALE_SWEEP_SECS", d.every.as_secs())?;
        let invalid =
            |name: &str| bw_config::ConfigError::Invalid { name: name.to_owned(), reason: "must be at least 1".into() };
        if after_secs < 1 {
            return Err(invalid("STALE_RUN_SECS"));
        }
        if every < 1 {
            return Err(invalid("STALE_SWEEP_SECS"));
        }
        Ok(Self { after_secs, every: Duration::from_secs(every) })
    }
}

/// Sends the messages of runs that have been active without a live lease for `stale_secs`; returns how many.
pub async fn requeue_stale<Q: Queue>(
    pool: &PgPool,
    queue: &Q,
    queue_url: &str,
    database: Database,
    stale_secs: i64,
) -> anyhow::Result<usize> {
    let mut conn = pool::conn(pool).await?;
    let stale = runs::stale(&mut conn, stale_secs, 100).await?;
    for run in &stale {
        queue.send(queue_url, Outgoing::run(&RunMessage::new(run.id, &run.user_id, database), None)).await?;
        let message = format!("run re-enqueued: no progress for {stale_secs} s and no worker holds it");
        if runs::touch(&mut conn, run.id, run.stage, &message).await? {
            tracing::warn!(run.id = %run.id, status = %run.status, "re-enqueued a stale run");
        }
    }
    Ok(stale.len())
}

/// Runs [`requeue_stale`] every `every` for each database until `shutdown` turns true.
pub async fn run<Q: Queue>(
    pools: Vec<(Database, PgPool)>,
    queue: &Q,
    queue_url: &str,
    stale_secs: i64,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        for (database, pool) in &pools {
            if let Err(error) = requeue_stale(pool, queue, queue_url, *database, stale_secs).await {
                tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), database = database.as_str(), "stale-run sweep failed");
            }
        }
    }
}
