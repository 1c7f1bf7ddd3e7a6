//! The safety net for lost messages: an active run that nobody holds and that has not moved for a while gets its
//! message sent again. A duplicate is harmless (the lease and checkpoints make handling idempotent), a lost message
//! is not: it would leave the run active forever. In AWS the poller's scheduled dispatch does this; locally the
//! ingestion process runs it on a timer.

use std::time::Duration;

use bw_db::{PgPool, pool, runs};
use bw_messages::{Database, RunMessage};
use bw_queue::{Outgoing, Queue};
use tokio::sync::watch;

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
                tracing::warn!(error = %format!("{error:#}"), database = database.as_str(), "stale-run sweep failed");
            }
        }
    }
}
