//! The run state machine. Each stage commits its own checkpoint; a redelivered message resumes at the status the
//! run records; an abort request is honoured between stages and between chunks.

use anyhow::Context as _;
use bw_db::events::Level;
use bw_db::models::{Run, stage, status};
use bw_db::runs::{self, Claim, Heartbeat};
use bw_db::{PgPool, counts, pool};
use bw_extract::BoardSource;
use bw_queue::Failure;
use uuid::Uuid;

use crate::config::Settings;
use crate::log::event;

/// How handling a run message ended (an error is a [`Failure`] instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    Aborted,
    /// The run had already ended; the message is acknowledged.
    AlreadyEnded(String),
}

/// Everything a stage needs.
pub struct RunCtx<'a, S> {
    pub pool: &'a PgPool,
    pub boards: &'a S,
    pub settings: &'a Settings,
    pub run_id: Uuid,
    pub user_id: &'a str,
    /// This delivery's lease identity.
    pub owner: Uuid,
}

/// A stage ran to its end, or stopped because an abort was requested.
pub enum Step {
    Done,
    AbortRequested,
}

pub(crate) fn transient(e: anyhow::Error) -> Failure {
    Failure::Transient(e)
}

/// Claims the run and drives it from wherever it stands to its end.
pub async fn execute<S: BoardSource>(ctx: &RunCtx<'_, S>) -> Result<Outcome, Failure> {
    let run = {
        let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
        match runs::claim(&mut conn, ctx.user_id, ctx.run_id, ctx.owner, ctx.settings.lease_secs)
            .await
            .map_err(transient)?
        {
            Claim::Claimed(run) => run,
            Claim::Missing => {
                return Err(Failure::Permanent(anyhow::anyhow!(
                    "run {} of user {:?} does not exist in this database",
                    ctx.run_id,
                    ctx.user_id
                )));
            }
            Claim::Terminal(run) => {
                tracing::info!(status = %run.status, "run has already ended; acknowledging the message");
                return Ok(Outcome::AlreadyEnded(run.status));
            }
            Claim::Busy(run) => {
                return Err(transient(anyhow::anyhow!(
                    "run is being processed by another worker (lease until {:?}); retrying later",
                    run.lease_until
                )));
            }
        }
    };
    let result = drive(ctx, run).await;
    if result.is_err()
        && let Ok(mut conn) = pool::conn(ctx.pool).await
    {
        let _ = runs::release(&mut conn, ctx.run_id, ctx.owner).await;
    }
    result
}

async fn drive<S: BoardSource>(ctx: &RunCtx<'_, S>, run: Run) -> Result<Outcome, Failure> {
    let mut current = run.status.clone();
    if run.abort_requested_at.is_some() {
        return abort(ctx, &current).await;
    }
    if current == status::PENDING {
        let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
        if !runs::transition(&mut conn, ctx.run_id, ctx.owner, status::PENDING, status::INITIALIZING, stage::EXTRACT)
            .await
            .map_err(transient)?
        {
            return Err(transient(anyhow::anyhow!("run left `pending` while starting; retrying")));
        }
        event(&mut conn, ctx.run_id, Level::Info, stage::EXTRACT, "run started", None).await.map_err(transient)?;
        current = status::INITIALIZING.to_owned();
    }
    if current == status::INITIALIZING {
        if let Step::AbortRequested = crate::extract::run_stage(ctx).await? {
            return abort(ctx, &current).await;
        }
        current = status::INGESTING.to_owned();
    }
    if current == status::INGESTING {
        if let Step::AbortRequested = crate::ingest::run_stage(ctx).await? {
            return abort(ctx, &current).await;
        }
        return finish(ctx).await;
    }
    Err(Failure::Permanent(anyhow::anyhow!("run is in unexpected status {current:?}")))
}

/// Extends the lease; says whether to stop for an abort. A lost lease is a transient failure: another worker has the run.
pub async fn checkpoint<S: Sync>(ctx: &RunCtx<'_, S>) -> Result<Step, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    match runs::heartbeat(&mut conn, ctx.run_id, ctx.owner, ctx.settings.lease_secs).await.map_err(transient)? {
        Heartbeat::Continue => Ok(Step::Done),
        Heartbeat::AbortRequested => Ok(Step::AbortRequested),
        Heartbeat::LeaseLost => Err(transient(anyhow::anyhow!("lost the run's lease (it expired or the run ended)"))),
    }
}

async fn snapshot(
    conn: &mut diesel_async::AsyncPgConnection,
    ctx_run: Uuid,
    user_id: &str,
) -> anyhow::Result<serde_json::Value> {
    let run = runs::get(conn, user_id, ctx_run).await?.context("run vanished while ending")?;
    Ok(serde_json::to_value(counts::for_run(conn, &run).await?)?)
}

async fn finish<S: Sync>(ctx: &RunCtx<'_, S>) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let counts = snapshot(&mut conn, ctx.run_id, ctx.user_id).await.map_err(transient)?;
    if !runs::end(&mut conn, ctx.run_id, ctx.owner, status::FINISHED, &counts, None).await.map_err(transient)? {
        return Err(transient(anyhow::anyhow!("run changed under us while finishing")));
    }
    let total = counts.get("total").cloned();
    event(&mut conn, ctx.run_id, Level::Info, stage::SUMMARY, "run finished", total).await.map_err(transient)?;
    Ok(Outcome::Finished)
}

async fn abort<S: Sync>(ctx: &RunCtx<'_, S>, during: &str) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let counts = snapshot(&mut conn, ctx.run_id, ctx.user_id).await.map_err(transient)?;
    runs::end(&mut conn, ctx.run_id, ctx.owner, status::ABORTED, &counts, None).await.map_err(transient)?;
    let message = format!("run aborted on request while {during}; no later stage ran");
    event(&mut conn, ctx.run_id, Level::Warn, stage::SUMMARY, &message, None).await.map_err(transient)?;
    Ok(Outcome::Aborted)
}
