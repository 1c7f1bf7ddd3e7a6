//! What every stage of a run shares: the run's context, how a stage says it stopped, and the lease that fences its
//! writes. The state machine ([`crate::pipeline`]) and the stages ([`crate::stages`]) both build on this module;
//! it calls neither.

use bw_db::PgPool;
use bw_db::pool;
use bw_db::runs::{self, Heartbeat};
use bw_queue::Failure;
use uuid::Uuid;

use crate::config::Settings;

/// Everything a stage needs.
pub struct RunCtx<'a, S> {
    pub pool: &'a PgPool,
    pub boards: &'a S,
    pub settings: &'a Settings,
    pub run_id: Uuid,
    pub user_id: &'a str,
    /// This delivery's lease identity.
    pub owner: Uuid,
    /// Stop at the next boundary after this instant (the invocation's deadline less a margin).
    pub yield_at: Option<std::time::Instant>,
}

/// A stage ran to its end, or stopped because an abort was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Done,
    AbortRequested,
    /// The invocation's deadline is near: stop here and continue in a new invocation.
    Yield,
}

/// A write found the run's lease held by another worker (ours expired): that worker owns the run now.
#[derive(Debug, thiserror::Error)]
#[error("lost the run's lease: another worker has taken the run over")]
pub struct LeaseLost;

/// Maps a stage's error to a failure: a lost lease means another worker owns the run.
pub fn classify(e: anyhow::Error) -> Failure {
    if e.downcast_ref::<LeaseLost>().is_some() { Failure::Busy(e) } else { Failure::Transient(e) }
}

/// Any other error of a stage: worth another delivery.
pub fn transient(e: anyhow::Error) -> Failure {
    Failure::Transient(e)
}

/// First statement of every write transaction: fails the transaction when the lease is no longer ours, and holds
/// the run's row (for share) until it ends, so a worker whose lease expired can never write over the one that took
/// the run over. The worker's own transactions do not wait for one another (three companies are stored at once); the
/// lease is extended by its renewal task (see `pipeline::execute`).
pub async fn fence(conn: &mut diesel_async::AsyncPgConnection, run_id: Uuid, owner: Uuid) -> anyhow::Result<()> {
    match runs::lease_held(conn, run_id, owner, true).await? {
        Heartbeat::LeaseLost => Err(LeaseLost.into()),
        Heartbeat::Continue | Heartbeat::AbortRequested => Ok(()),
    }
}

/// Says whether to go on: not when an abort was asked for or the invocation's deadline is near. A lost lease is a
/// transient failure: another worker has the run. Reads the run without locking it (the lease is kept by the
/// renewal task), so it does not wait for the worker's write transactions in flight.
pub async fn checkpoint<S: Sync>(ctx: &RunCtx<'_, S>) -> Result<Step, Failure> {
    let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
    match runs::lease_held(&mut conn, ctx.run_id, ctx.owner, false).await.map_err(transient)? {
        Heartbeat::Continue if ctx.yield_at.is_some_and(|at| std::time::Instant::now() >= at) => Ok(Step::Yield),
        Heartbeat::Continue => Ok(Step::Done),
        Heartbeat::AbortRequested => Ok(Step::AbortRequested),
        Heartbeat::LeaseLost => Err(Failure::Busy(LeaseLost.into())),
    }
}
