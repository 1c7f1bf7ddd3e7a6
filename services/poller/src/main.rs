//! Entry point: `poller worker` consumes `llm-jobs`; `poller dispatch` sends the due jobs (in Lambda on each
//! scheduled event, locally every `DISPATCH_EVERY_SECS`).

use std::sync::Arc;

use anyhow::Context as _;
use bw_config::required;
use bw_poller::{Settings, Worker, dispatch};
use bw_queue::backoff::{Backoff, Redelivery};
use bw_queue::definitions::{LLM_JOBS, RUNS, resolve_url};
use bw_queue::runner::{self, RunnerConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init(bw_telemetry::Format::from_env());
    // Boxed: the services' futures are deep, and one more level of nesting overflows the compiler's layout query.
    bw_telemetry::exit_status(Box::pin(run()).await)
}

async fn run() -> anyhow::Result<()> {
    let role = std::env::args().nth(1).or_else(|| bw_config::optional("POLLER_ROLE")).unwrap_or_default();
    let settings = Settings::from_env()?;
    let pool = bw_db::pool::build(&required("DATABASE_URL", "the PostgreSQL URL")?, settings.pool_size)?;
    // One AWS configuration for every client of the process.
    let aws = bw_aws::aws_config().await;
    let queue = bw_queue::SqsQueue::from_config(&aws);
    let url = resolve_url(&queue, "LLM_JOBS_QUEUE_URL", &LLM_JOBS).await?;
    match role.as_str() {
        "worker" => {
            let secrets = bw_aws::AwsSecrets::from_config(&aws);
            let config = bw_openai::OpenAiConfig::from_env(&secrets).await?;
            let openai = bw_openai::OpenAi::new(config).context("failed to build the OpenAI client")?;
            let worker = Arc::new(Worker { pool, openai, queue: queue.clone(), queue_url: url.clone(), settings });
            if bw_queue::in_lambda() {
                let redelivery = Redelivery { queue, queue_url: url, backoff: Backoff::for_queue(&LLM_JOBS) };
                return bw_queue::lambda::run(worker, 4, Some(redelivery)).await.map_err(|e| anyhow::anyhow!(e));
            }
            let config = RunnerConfig::from_env(RunnerConfig { batch_size: 1, ..RunnerConfig::default() })?;
            runner::run(&queue, &url, &*worker, &config, runner::shutdown_signal()).await;
            Ok(())
        }
        "dispatch" => {
            let targets = dispatch::Targets {
                llm_jobs_url: url,
                runs_url: resolve_url(&queue, "RUNS_QUEUE_URL", &RUNS).await?,
                limit: settings.dispatch_limit,
                stale_run_secs: settings.staleness.after_secs,
            };
            run_dispatch(pool, queue, targets, settings.dispatch_every).await
        }
        other => anyhow::bail!("unknown role {other:?}: run `poller worker` or `poller dispatch` (or set POLLER_ROLE)"),
    }
}

async fn run_dispatch(
    pool: bw_db::PgPool,
    queue: bw_queue::SqsQueue,
    targets: dispatch::Targets,
    every: std::time::Duration,
) -> anyhow::Result<()> {
    if bw_queue::in_lambda() {
        let handler = lambda_runtime::service_fn(|_: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let (pool, queue, targets) = (pool.clone(), queue.clone(), targets.clone());
            async move {
                let report = dispatch::dispatch_all(&pool, &queue, &targets).await?;
                Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
            }
        });
        return lambda_runtime::run(handler).await.map_err(|e| anyhow::anyhow!(e));
    }
    let mut shutdown = runner::shutdown_signal();
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = dispatch::dispatch_all(&pool, &queue, &targets).await {
                    tracing::warn!(error = %bw_telemetry::chain(e.as_ref()), "dispatch failed; trying again next tick");
                }
            }
            _ = shutdown.changed() => return Ok(()),
        }
    }
}
