//! The run state machine: claims the run, calls the stages in order and ends the run. Each stage commits its own checkpoint; a redelivered message resumes at the status the
//! run records; an abort request is honoured between stages and between chunks.

use anyhow::Context as _;
use bw_db::events::Level;
use bw_db::models::{Run, RunStatus, Stage};
use bw_db::runs::{self, Claim, Heartbeat};
use bw_db::{counts, pool};
use bw_extract::BoardSource;
use bw_queue::Failure;
use uuid::Uuid;

use crate::log::event;
use crate::run::{LeaseLost, RunCtx, Step, classify, fence, transient};
use crate::stages;

/// How handling a run message ended (an error is a [`Failure`] instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    Aborted,
    /// The run had already ended; the message is acknowledged.
    AlreadyEnded(RunStatus),
    /// The run was delivered more than `MAX_RUN_ATTEMPTS` times without ending: it is marked failed.
    GaveUp,
    /// The invocation's deadline came near: the run stopped at a boundary, its lease released, to continue in a
    /// new invocation.
    Yielded,
    /// Another worker held the run on this message's last delivery: the message is acknowledged rather than sent to
    /// the DLQ, and the run is left to that worker (or, should it die, to the stale-run sweep).
    LeftToHolder,
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
                return Err(Failure::Busy(anyhow::anyhow!(
                    "run is being processed by another worker (lease until {:?}); retrying later",
                    run.lease_until
                )));
            }
        }
    };
    if run.attempts > ctx.settings.max_attempts {
        return give_up(ctx, run.attempts).await;
    }
    // A chunk of slow detail fetches can outlast the lease; aborts are still honoured only at boundaries.
    let (run_id, owner, lease_secs) = (ctx.run_id, ctx.owner, ctx.settings.lease_secs);
    let renewal = bw_db::lease::keep(ctx.pool.clone(), lease_secs, move |mut conn| async move {
        Ok(runs::heartbeat(&mut conn, run_id, owner, lease_secs).await? != Heartbeat::LeaseLost)
    });
    let result = drive(ctx, run).await;
    drop(renewal);
    // A delivery that stops without ending the run gives its lease back, so the next one need not wait it out.
    let continued = matches!(result, Ok(Outcome::Yielded));
    if (continued || result.is_err())
        && let Ok(mut conn) = pool::conn(ctx.pool).await
    {
        let _ = runs::release(&mut conn, ctx.run_id, ctx.owner, continued).await;
    }
    result
}

async fn drive<S: BoardSource>(ctx: &RunCtx<'_, S>, run: Run) -> Result<Outcome, Failure> {
    let mut current = run.status;
    if run.abort_requested_at.is_some() {
        return abort(ctx, current).await;
    }
    if current == RunStatus::Pending {
        let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
        if !runs::transition(
            &mut conn,
            ctx.run_id,
            ctx.owner,
            RunStatus::Pending,
            RunStatus::Initializing,
            Stage::Extract,
        )
        .await
        .map_err(transient)?
        {
            return Err(transient(anyhow::anyhow!("run left `pending` while starting; retrying")));
        }
        event(&mut conn, ctx.run_id, Level::Info, Stage::Extract, "run started", None).await.map_err(transient)?;
        current = RunStatus::Initializing;
    }
    if current == RunStatus::Initializing {
        match stages::extract::run_stage(ctx).await? {
            Step::Done => {}
            Step::AbortRequested => return abort(ctx, current).await,
            Step::Yield => return yielded(ctx, Stage::Extract).await,
        }
        current = RunStatus::Ingesting;
    }
    if current == RunStatus::Ingesting {
        match stages::ingest::run_stage(ctx).await? {
            Step::Done => {}
            Step::AbortRequested => return abort(ctx, current).await,
            Step::Yield => return yielded(ctx, Stage::Ingest).await,
        }
        return finish(ctx).await;
    }
    Err(Failure::Permanent(anyhow::anyhow!("run is in unexpected status {current}")))
}

async fn snapshot(
    conn: &mut diesel_async::AsyncPgConnection,
    ctx_run: Uuid,
    user_id: &str,
) -> anyhow::Result<serde_json::Value> {
    let run = runs::get(conn, user_id, ctx_run).await?.context("run vanished while ending")?;
    Ok(serde_json::to_value(counts::for_run(conn, &run).await?)?)
}

/// The line a run's log ends with, committed with the status that ends it: whoever sees the run ended (a progress
/// stream deciding to close) sees this line too.
struct LastLine<'a> {
    level: Level,
    message: &'a str,
    data: Option<serde_json::Value>,
}

/// Ends the leased run with `to` (and `error`), storing its counts snapshot and its last log line in one transaction;
/// returns the snapshot, or `None` (nothing written) when the run was no longer ours to end.
async fn conclude<'m, S: Sync>(
    ctx: &RunCtx<'_, S>,
    conn: &mut diesel_async::AsyncPgConnection,
    to: RunStatus,
    error: Option<&str>,
    last: impl FnOnce(&serde_json::Value) -> LastLine<'m> + Send,
) -> Result<Option<serde_json::Value>, Failure> {
    use diesel_async::AsyncConnection as _;
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        let counts = snapshot(c, ctx.run_id, ctx.user_id).await?;
        if !runs::end(c, ctx.run_id, ctx.owner, to, &counts, error).await? {
            return Ok(None);
        }
        if to == RunStatus::Finished {
            start_screens(c, ctx.run_id, ctx.user_id).await?;
        }
        let line = last(&counts);
        event(c, ctx.run_id, line.level, Stage::Summary, line.message, line.data).await?;
        Ok(Some(counts))
    })
    .await
    .map_err(transient)
}

/// The user's standing screens' jobs over what the run found new or changed, started in the transaction that
/// finishes it (so once per run), each said in the run's log. The scheduled dispatch sends their first messages.
async fn start_screens(conn: &mut diesel_async::AsyncPgConnection, run_id: Uuid, user_id: &str) -> anyhow::Result<()> {
    for started in bw_db::screens::start_for_run(conn, user_id, run_id).await? {
        let mut message = format!(
            "screen {:?} started job {} over the {} new or changed postings",
            started.screen, started.job_id, started.items
        );
        if started.left_out > 0 {
            message.push_str(&format!(
                " ({} more wait for the next run's job: a job holds at most {})",
                started.left_out, started.items
            ));
        }
        let data = serde_json::json!({ "screen": started.screen, "job_id": started.job_id, "items": started.items });
        event(conn, run_id, Level::Info, Stage::Summary, &message, Some(data)).await?;
    }
    Ok(())
}

async fn finish<S: Sync>(ctx: &RunCtx<'_, S>) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let last = |counts: &serde_json::Value| LastLine {
        level: Level::Info,
        message: "run finished",
        data: counts.get("total").cloned(),
    };
    if conclude(ctx, &mut conn, RunStatus::Finished, None, last).await?.is_none() {
        return Err(transient(anyhow::anyhow!("run changed under us while finishing")));
    }
    Ok(Outcome::Finished)
}

async fn abort<S: Sync>(ctx: &RunCtx<'_, S>, during: RunStatus) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let message = format!("run aborted on request while {during}; no later stage ran");
    let last = |_: &serde_json::Value| LastLine { level: Level::Warn, message: &message, data: None };
    if conclude(ctx, &mut conn, RunStatus::Aborted, None, last).await?.is_none() {
        return Err(Failure::Busy(LeaseLost.into()));
    }
    Ok(Outcome::Aborted)
}

/// Records that the run stopped at a boundary of `stage` before the invocation's deadline.
async fn yielded<S: Sync>(ctx: &RunCtx<'_, S>, stage: Stage) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let message = "invocation deadline near: stopped at a boundary, continuing in a new invocation";
    // Fenced: a worker whose lease was taken over (the run may have ended since) must not add to the run's log.
    use diesel_async::AsyncConnection as _;
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        fence(c, ctx.run_id, ctx.owner).await?;
        event(c, ctx.run_id, Level::Info, stage, message, None).await
    })
    .await
    .map_err(classify)?;
    Ok(Outcome::Yielded)
}

/// Ends a run that was delivered too many times without ending, so it cannot keep its user busy forever.
async fn give_up<S: Sync>(ctx: &RunCtx<'_, S>, attempts: i32) -> Result<Outcome, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    let reason = format!("gave up after {attempts} deliveries without finishing (MAX_RUN_ATTEMPTS)");
    let message = format!("run failed: {reason}");
    let last = |_: &serde_json::Value| LastLine { level: Level::Error, message: &message, data: None };
    conclude(ctx, &mut conn, RunStatus::Failed, Some(&reason), last).await?;
    Ok(Outcome::GaveUp)
}
