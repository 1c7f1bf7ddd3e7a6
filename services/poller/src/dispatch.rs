//! Dispatch, on a schedule: one `llm-jobs` message per job that is due (its poll time passed, no live lease, not
//! resolved), sent with SendMessageBatch. It is the safety net for a re-enqueue message that was lost.

use bw_db::{PgPool, llm, pool};
use bw_queue::{Outgoing, Queue};
use serde::Serialize;

/// What one dispatch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DispatchStats {
    pub due: usize,
    pub sent: usize,
    pub failed: usize,
}

/// How long a dispatched job is left alone before dispatch may send it again (the worker sets the real next poll).
pub const REDISPATCH_SECS: i64 = 120;

/// Sends one message per due job, at most `limit`.
pub async fn dispatch<Q: Queue>(
    pool: &PgPool,
    queue: &Q,
    queue_url: &str,
    limit: i64,
) -> anyhow::Result<DispatchStats> {
    let mut conn = pool::conn(pool).await?;
    let due = llm::due(&mut conn, limit).await?;
    if due.is_empty() {
        return Ok(DispatchStats::default());
    }
    // Postponed before sending, so a worker that runs at once sets the next poll time last. A due job's loop was
    // lost (or never started): each gets a new one, which ends any late message of the old.
    llm::postpone(&mut conn, &due, REDISPATCH_SECS).await?;
    let loops = llm::restart_loops(&mut conn, &due).await?;
    drop(conn);
    let messages = loops
        .iter()
        .map(|(job, token)| Outgoing::llm_job_message(&bw_messages::LlmJobMessage::looping(*job, *token), None))
        .collect();
    let failed = queue.send_batch(queue_url, messages).await?;
    let stats = DispatchStats { due: due.len(), sent: due.len() - failed, failed };
    tracing::info!(due = stats.due, sent = stats.sent, failed = stats.failed, "dispatch done");
    Ok(stats)
}

/// What one scheduled dispatch did: the runs of users' schedules it started, the due LLM jobs it sent, and the stale
/// ingestion runs it re-enqueued.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub scheduled_runs: bw_maintenance::scheduled_runs::Report,
    pub jobs: DispatchStats,
    pub stale_runs_requeued: usize,
}

/// Where and how one scheduled dispatch works.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The `llm-jobs` queue.
    pub llm_jobs_url: String,
    /// The `runs` queue, for stale runs.
    pub runs_url: String,
    /// Jobs sent per dispatch at most.
    pub limit: i64,
    /// An active run idle this long, with no live lease, gets its message sent again.
    pub stale_run_secs: i64,
}

/// One scheduled dispatch: the runs of the users' schedules that are due, the due LLM jobs, then the ingestion runs
/// whose message was lost, then the pruning of message failure reasons older than a DLQ keeps messages and of
/// webhook events older than a week.
pub async fn dispatch_all<Q: Queue>(pool: &PgPool, queue: &Q, targets: &Targets) -> anyhow::Result<Report> {
    let now = chrono::Utc::now();
    let database = bw_messages::Database::Primary;
    // A failure here must not hold up the jobs and the stale runs: it is logged, and the next dispatch looks again.
    let scheduled_runs =
        match bw_maintenance::scheduled_runs::start_due(pool, queue, &targets.runs_url, database, now).await {
            Ok(report) => report,
            Err(error) => {
                tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not start the due scheduled runs");
                bw_maintenance::scheduled_runs::Report::default()
            }
        };
    let jobs = dispatch(pool, queue, &targets.llm_jobs_url, targets.limit).await?;
    let stale_runs_requeued = bw_maintenance::stale_runs::requeue_stale(
        pool,
        queue,
        &targets.runs_url,
        bw_messages::Database::Primary,
        targets.stale_run_secs,
    )
    .await?;
    // Failure reasons are kept as long as a DLQ keeps messages; a failed prune only delays it to the next dispatch.
    match bw_maintenance::failures::prune(pool).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "pruned old message failure reasons"),
        Err(error) => {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not prune old message failure reasons")
        }
    }
    // Webhook events are kept past OpenAI's 72 hours of redelivery, then dropped.
    match prune_webhook_events(pool).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "pruned old webhook events"),
        Err(error) => {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not prune old webhook events")
        }
    }
    Ok(Report { scheduled_runs, jobs, stale_runs_requeued })
}

async fn prune_webhook_events(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool::conn(pool).await?;
    bw_db::webhooks::prune(&mut conn, bw_db::webhooks::KEEP_SECS).await
}
