//! Entry point: builds the pools and clients once, then serves the Lambda Runtime API when
//! `AWS_LAMBDA_RUNTIME_API` is set, or runs the local event-source runner over the `runs` queue.

use std::sync::Arc;

use bw_config::{optional, required};
use bw_extract::HttpBoards;
use bw_ingestion::{Continuation, Ingestion, Settings};
use bw_maintenance::stale_runs;
use bw_messages::Database;
use bw_queue::backoff::{Backoff, Redelivery};
use bw_queue::definitions::{RUNS, resolve_url};
use bw_queue::runner::{self, RunnerConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init(bw_telemetry::Format::from_env());
    // Boxed: the services' futures are deep, and one more level of nesting overflows the compiler's layout query.
    bw_telemetry::exit_status(Box::pin(run()).await)
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let pool_size = settings.pool_size;
    let primary =
        bw_db::pool::build(&required("DATABASE_URL", "the PostgreSQL URL of the primary database")?, pool_size)?;
    let test = optional("TEST_DATABASE_URL").map(|url| bw_db::pool::build(&url, pool_size)).transpose()?;
    let boards = HttpBoards::from_env(settings.connect_timeout, settings.request_timeout, settings.max_body_bytes)?;
    let concurrency = settings.record_concurrency;
    let mut pools = vec![(Database::Primary, primary.clone())];
    pools.extend(test.clone().map(|pool| (Database::Test, pool)));
    let queue = bw_queue::SqsQueue::from_env().await;
    if bw_queue::in_lambda() {
        // A run nearing the Lambda deadline continues through a new message on RUNS_QUEUE_URL, and failed records
        // are handed back there on the backoff schedule.
        let queue_url = optional("RUNS_QUEUE_URL");
        if queue_url.is_none() {
            tracing::warn!(
                "RUNS_QUEUE_URL is not set: a run nearing the deadline, and a failed record, will wait for \
                SQS to redeliver it when its visibility timeout ends"
            );
        }
        let continuation = queue_url.clone().map(|queue_url| Continuation { queue: queue.clone(), queue_url });
        let redelivery = queue_url.map(|queue_url| Redelivery { queue, queue_url, backoff: Backoff::for_queue(&RUNS) });
        let handler = Arc::new(Ingestion { primary, test, boards, settings, continuation });
        return bw_queue::lambda::run(handler, concurrency, redelivery).await.map_err(|e| anyhow::anyhow!(e));
    }
    let url = resolve_url(&queue, "RUNS_QUEUE_URL", &RUNS).await?;
    let continuation = Some(Continuation { queue: queue.clone(), queue_url: url.clone() });
    let stale = settings.staleness;
    let handler = Arc::new(Ingestion { primary, test, boards, settings, continuation });
    let defaults =
        RunnerConfig { batch_size: 1, concurrency, wait: std::time::Duration::from_secs(5), ..RunnerConfig::default() };
    let config = RunnerConfig::from_env(defaults)?;
    let shutdown = runner::shutdown_signal();
    let sweeper = stale_runs::run(pools, &queue, &url, stale.after_secs, stale.every, shutdown.clone());
    tokio::join!(runner::run(&queue, &url, &*handler, &config, shutdown), sweeper);
    Ok(())
}
