//! Entry point: builds the pool and the real seams (SQS, the boards over HTTP, the operators' SQS and CloudWatch)
//! once, then serves the router: through the Lambda Runtime API (API Gateway HTTP API events, payload v2) when
//! `AWS_LAMBDA_RUNTIME_API` is set, else on `API_LISTEN`.

use std::sync::Arc;

use anyhow::Context as _;
use bw_api::seams::sqs::{SqsEnqueue, SqsOps};
use bw_api::{AppState, router};
use bw_config::required;
use bw_extract::HttpBoards;
use bw_queue::definitions::{LLM_JOBS, RUNS, resolve_url};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init(bw_telemetry::Format::from_env());
    // Boxed: the services' futures are deep, and one more level of nesting overflows the compiler's layout query.
    bw_telemetry::exit_status(Box::pin(run()).await)
}

async fn run() -> anyhow::Result<()> {
    let settings = bw_api::settings::Settings::from_env()?;
    let in_lambda = bw_queue::in_lambda();
    // The port first: a port in use is said at once, before the slower set-up.
    let listener = match in_lambda {
        true => None,
        false => Some(bind(&settings.listen).await?),
    };
    let database_url = required("DATABASE_URL", "the PostgreSQL URL")?;
    let pool = bw_db::pool::build(&database_url, settings.pool_size)?;
    let database = settings.run_database;
    let aws = bw_aws::aws_config().await;
    let secrets = bw_aws::AwsSecrets::from_config(&aws);
    let keys = bw_auth::Keys::from_env(&secrets).await?;
    let webhook_secret = bw_api::settings::webhook_secret(&bw_config::optional, &secrets).await?;
    if webhook_secret.is_none() {
        tracing::info!("OpenAI webhooks are not configured (OPENAI_WEBHOOK_SECRET); /api/webhooks/openai answers 404");
    }
    let queue = bw_queue::SqsQueue::from_config(&aws);
    let runs_url = resolve_url(&queue, "RUNS_QUEUE_URL", &RUNS).await?;
    let llm_jobs_url = resolve_url(&queue, "LLM_JOBS_QUEUE_URL", &LLM_JOBS).await?;
    let boards =
        HttpBoards::from_env(settings.board_connect_timeout, settings.board_timeout, settings.board_max_body_bytes)?;
    // The operators' routes find the queues by name: `{QUEUE_PREFIX}runs` (default prefix `bw-`), as ctl does.
    let ops = bw_ops::Ops::from_config(&aws, bw_queue::definitions::prefix());
    let ops = SqsOps { ops, reasons: bw_ops::peek::Reasons::from_pool(pool.clone()) };
    // In Lambda a response is buffered whole, so progress streams are one shot and need no listener.
    let live = (!in_lambda).then(|| bw_api::live::Hub::start(database_url.clone()));
    let state = AppState {
        pool,
        queue: Arc::new(SqsEnqueue { queue, runs_url, llm_jobs_url }),
        database,
        boards: Arc::new(boards),
        keys,
        ops: Arc::new(ops),
        live: live.clone(),
        webhook_secret,
    };
    let Some(listener) = listener else {
        return lambda_http::run(router(state)).await.map_err(|e| anyhow::anyhow!(e));
    };
    tracing::info!(addr = %settings.listen, "api listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown(live)).await.context("server failed")
}

/// Listens on `addr` (`API_LISTEN`), or says which address is taken and how to move.
async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (API_LISTEN); is another program using it?"))
}

/// Resolves on Ctrl-C, having ended the progress streams (endless while their run is active, they would hold the
/// graceful shutdown up).
async fn shutdown(live: Option<bw_api::live::Hub>) {
    let _ = tokio::signal::ctrl_c().await;
    if let Some(hub) = live {
        hub.close();
    }
}
