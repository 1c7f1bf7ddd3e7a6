//! Runs: creation, the lease a worker holds while it works, guarded status transitions, and abort.
//!
//! Every transition names the status it expects (`WHERE status = …`) and, for a worker, the lease it holds, so a
//! duplicate delivery or a concurrent abort can never move a run backwards or twice.

use chrono::{DateTime, Utc};
use diesel::dsl::{now, sql};
use diesel::prelude::*;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::events;
use crate::models::{Run, RunStart, RunStatus, Stage};
use crate::schema::runs::dsl as r;
use crate::schema::schedule_skips;

/// What creating a run came to.
pub enum Created {
    Run(Run),
    /// The user already has a run under way; at most one runs per user at a time.
    ActiveExists(Run),
}

/// Writes a new `pending` run for `user_id` (started by the user), unless one is already active. The run's log
/// starts with the scheduled runs that were not started because the user's last run was still active.
pub async fn create(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<Created> {
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        // The active run that refused the insert may end before it is read: then the insert is tried again.
        for _ in 0..TRIES {
            if let Some(run) = insert(c, user_id, RunStart::Manual, None).await? {
                log_skips(c, &run).await?;
                return Ok(Created::Run(run));
            }
            if let Some(active) = active(c, user_id).await? {
                return Ok(Created::ActiveExists(active));
            }
        }
        anyhow::bail!("the user's runs kept changing while a run was started; try again")
    })
    .await
}

/// Tries at starting a run while the user's active run comes and goes under it.
const TRIES: usize = 3;

/// What starting a scheduled run came to.
pub enum Scheduled {
    Run(Run),
    /// A run for this due time exists already (another dispatch started it).
    AlreadyStarted,
    /// The user's run is still under way: this due time is skipped (and the user's next run says so).
    ActiveExists(Run),
}

/// Writes the `pending` run of `user_id`'s schedule for the due time `due_at`: once per due time, whatever runs at
/// once; not while the user has a run under way, in which case the skip is recorded for the user's next run's log.
pub async fn create_scheduled(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    due_at: DateTime<Utc>,
) -> anyhow::Result<Scheduled> {
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        for _ in 0..TRIES {
            if let Some(run) = insert(c, user_id, RunStart::Schedule, Some(due_at)).await? {
                log_skips(c, &run).await?;
                return Ok(Scheduled::Run(run));
            }
            let started: Option<Uuid> = r::runs
                .filter(r::user_id.eq(user_id))
                .filter(r::started_by.eq(RunStart::Schedule))
                .filter(r::due_at.eq(due_at))
                .select(r::id)
                .first(c)
                .await
                .optional()?;
            if started.is_some() {
                return Ok(Scheduled::AlreadyStarted);
            }
            let Some(active) = active(c, user_id).await? else { continue };
            diesel::insert_into(schedule_skips::table)
                .values((
                    schedule_skips::user_id.eq(user_id),
                    schedule_skips::due_at.eq(due_at),
                    schedule_skips::active_run_id.eq(active.id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            return Ok(Scheduled::ActiveExists(active));
        }
        anyhow::bail!("the user's runs kept changing while the scheduled run was started")
    })
    .await
}

/// Inserts a pending run; `None` when a unique index refused it (an active run, or this due time's run).
async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    start: RunStart,
    due_at: Option<DateTime<Utc>>,
) -> anyhow::Result<Option<Run>> {
    Ok(diesel::insert_into(r::runs)
        .values((r::id.eq(Uuid::new_v4()), r::user_id.eq(user_id), r::started_by.eq(start), r::due_at.eq(due_at)))
        .on_conflict_do_nothing()
        .returning(Run::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// The user's run under way, if any.
async fn active(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<Option<Run>> {
    Ok(r::runs
        .filter(r::user_id.eq(user_id))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .select(Run::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Moves the user's recorded skips into `run`'s log (and out of the table).
async fn log_skips(conn: &mut AsyncPgConnection, run: &Run) -> anyhow::Result<()> {
    let skips: Vec<(DateTime<Utc>, Uuid)> = diesel::delete(schedule_skips::table)
        .filter(schedule_skips::user_id.eq(&run.user_id))
        .returning((schedule_skips::due_at, schedule_skips::active_run_id))
        .get_results(conn)
        .await?;
    for (due_at, active) in skips {
        let message = format!(
            "the scheduled run due {} was not started: run {active} was still under way",
            due_at.format("%Y-%m-%d %H:%M UTC")
        );
        let data = serde_json::json!({ "skipped_due_at": due_at, "active_run_id": active });
        events::record(conn, run.id, events::Level::Warn, None, &message, Some(data)).await?;
    }
    Ok(())
}

/// The run `id`, when it belongs to `user_id`.
pub async fn get(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Option<Run>> {
    Ok(r::runs
        .filter(r::id.eq(id))
        .filter(r::user_id.eq(user_id))
        .select(Run::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The user's most recent runs, newest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: &str, limit: i64) -> anyhow::Result<Vec<Run>> {
    Ok(r::runs
        .filter(r::user_id.eq(user_id))
        .order((r::created_at.desc(), r::id.desc()))
        .limit(limit)
        .select(Run::as_select())
        .load(conn)
        .await?)
}

/// What a worker found when it tried to take a run's lease.
pub enum Claim {
    /// The lease is ours until it expires or we release it.
    Claimed(Run),
    /// No run with this id and user.
    Missing,
    /// The run has ended; nothing to do.
    Terminal(Run),
    /// Another worker holds a live lease.
    Busy(Run),
}

/// Takes the lease on an active run for `lease_secs`, unless another worker holds a live one.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    id: Uuid,
    owner: Uuid,
    lease_secs: i64,
) -> anyhow::Result<Claim> {
    let claimed: Option<Run> = conn
        .transaction::<_, anyhow::Error, _>(async |c| {
            lock_for_takeover(c, id, owner).await?;
            Ok(diesel::update(r::runs)
                .filter(r::id.eq(id))
                .filter(r::user_id.eq(user_id))
                .filter(r::status.eq_any(RunStatus::ACTIVE))
                .filter(r::lease_until.is_null().or(r::lease_until.lt(now)).or(r::lease_owner.eq(owner)))
                .set((
                    r::lease_owner.eq(owner),
                    r::lease_until.eq(crate::db_now_plus(lease_secs)),
                    r::attempts.eq(r::attempts + 1),
                    r::updated_at.eq(now),
                ))
                .returning(Run::as_returning())
                .get_result(c)
                .await
                .optional()?)
        })
        .await?;
    if let Some(run) = claimed {
        return Ok(Claim::Claimed(run));
    }
    Ok(match get(conn, user_id, id).await? {
        None => Claim::Missing,
        Some(run) if run.is_terminal() => Claim::Terminal(run),
        Some(run) => Claim::Busy(run),
    })
}

/// How long a takeover waits for the last holder's write transactions.
pub const TAKEOVER_LOCK_TIMEOUT_SECS: u32 = 20;

/// Before taking a run over from a holder whose lease ran out (or none), or ending it: locks the run's row `FOR
/// UPDATE` when it is active and no live lease but `owner`'s is on it, which waits for the fenced write
/// transactions of its last holder (see [`lease_held`]) to end. A run under another's live lease is not locked, so
/// its worker's transactions never make this wait; the update that follows finds the lease live and does nothing.
async fn lock_for_takeover(conn: &mut AsyncPgConnection, id: Uuid, owner: Uuid) -> anyhow::Result<()> {
    // A holder's transactions are short; a lock held longer belongs to a connection stuck in its transaction. The
    // takeover then fails (and is tried again later) rather than wait on it for good.
    diesel::sql_query(format!("SET LOCAL lock_timeout = '{}s'", TAKEOVER_LOCK_TIMEOUT_SECS)).execute(conn).await?;
    let _: Vec<Uuid> = r::runs
        .filter(r::id.eq(id))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .filter(r::lease_until.is_null().or(r::lease_until.lt(now)).or(r::lease_owner.eq(owner)))
        .select(r::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(())
}

/// What a heartbeat learned.
#[derive(Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// Lease extended; carry on.
    Continue,
    /// An abort was requested: stop at this boundary.
    AbortRequested,
    /// The lease is no longer ours (it expired and another worker took the run, or the run ended).
    LeaseLost,
}

/// Extends the lease and reports whether an abort was requested. Called between stages and chunks.
pub async fn heartbeat(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    lease_secs: i64,
) -> anyhow::Result<Heartbeat> {
    let abort: Option<Option<DateTime<Utc>>> = diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::lease_owner.eq(owner))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .set(r::lease_until.eq(crate::db_now_plus(lease_secs)))
        .returning(r::abort_requested_at)
        .get_result(conn)
        .await
        .optional()?;
    Ok(match abort {
        None => Heartbeat::LeaseLost,
        Some(Some(_)) => Heartbeat::AbortRequested,
        Some(None) => Heartbeat::Continue,
    })
}

/// Whether the run is still leased by `owner` and active, and whether an abort was asked for, without extending the
/// lease (its holder's renewal task does that). With `share`, the run's row is locked `FOR KEY SHARE` until the
/// transaction ends: the fence of a write transaction. Several of one worker's write transactions then proceed
/// together, and neither the lease's renewals nor an abort request (updates of other columns) wait for them; a
/// takeover or an ending by anyone else locks the row `FOR UPDATE` first ([`lock_for_takeover`]), so it waits for
/// them, and fails the ones after it.
pub async fn lease_held(conn: &mut AsyncPgConnection, id: Uuid, owner: Uuid, share: bool) -> anyhow::Result<Heartbeat> {
    let query = r::runs
        .filter(r::id.eq(id))
        .filter(r::lease_owner.eq(owner))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .select(r::abort_requested_at);
    let abort: Option<Option<DateTime<Utc>>> = if share {
        query.for_key_share().get_result(conn).await.optional()?
    } else {
        query.get_result(conn).await.optional()?
    };
    Ok(match abort {
        None => Heartbeat::LeaseLost,
        Some(Some(_)) => Heartbeat::AbortRequested,
        Some(None) => Heartbeat::Continue,
    })
}

/// Moves a leased run from `from` to `to` at `stage`; `false` when the run was not in `from` under our lease.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    from: RunStatus,
    to: RunStatus,
    stage: Stage,
) -> anyhow::Result<bool> {
    let n = diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::lease_owner.eq(owner))
        .filter(r::status.eq(from))
        .filter(r::abort_requested_at.is_null())
        .set((
            r::status.eq(to),
            r::stage.eq(stage),
            r::updated_at.eq(now),
            r::started_at
                .eq(sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>("coalesce(started_at, now())")),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Ends a leased, active run with `to` (finished, failed or aborted), its counts, and an optional error.
pub async fn end(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    to: RunStatus,
    counts: &serde_json::Value,
    error: Option<&str>,
) -> anyhow::Result<bool> {
    let n = diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::lease_owner.eq(owner))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .set((
            r::status.eq(to),
            r::stage.eq(Stage::Summary),
            r::counts.eq(counts),
            r::error.eq(error),
            r::finished_at.eq(now),
            r::updated_at.eq(now),
            r::lease_owner.eq(None::<Uuid>),
            r::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Fails the user's active run when no worker holds a live lease on it: used on the last delivery of a message that
/// keeps failing, and when the run's enqueue failed. The run's log ends with `run failed: {error}`, committed with
/// the status. `false` (nothing written) when the run had ended or a worker is working on it.
pub async fn fail_unleased(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid, error: &str) -> anyhow::Result<bool> {
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        lock_for_takeover(c, id, Uuid::nil()).await?;
        let n = diesel::update(r::runs)
            .filter(r::id.eq(id))
            .filter(r::user_id.eq(user_id))
            .filter(r::status.eq_any(RunStatus::ACTIVE))
            .filter(r::lease_until.is_null().or(r::lease_until.lt(now)))
            .set((
                r::status.eq(RunStatus::Failed),
                r::error.eq(error),
                r::finished_at.eq(now),
                r::updated_at.eq(now),
                r::lease_owner.eq(None::<Uuid>),
                r::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(c)
            .await?;
        if n == 1 {
            events::record(c, id, events::Level::Error, None, &format!("run failed: {error}"), None).await?;
        }
        Ok(n == 1)
    })
    .await
}

/// Gives the lease back early so a redelivery need not wait for it to expire.
///
/// A delivery that stopped on purpose to continue in a new one (`continued`) gives its attempt back: a long run
/// continued over many invocations is not a run that keeps failing (`MAX_RUN_ATTEMPTS`).
pub async fn release(conn: &mut AsyncPgConnection, id: Uuid, owner: Uuid, continued: bool) -> anyhow::Result<()> {
    diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::lease_owner.eq(owner))
        .set((
            r::lease_owner.eq(None::<Uuid>),
            r::lease_until.eq(None::<DateTime<Utc>>),
            r::attempts.eq(r::attempts - i32::from(continued)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What an abort request came to.
pub enum Abort {
    /// No worker held the run (not started, or its worker died): it is aborted now.
    AbortedNow(Run),
    /// The worker will stop at its next boundary.
    Requested(Run),
    /// The run had already ended.
    AlreadyEnded(Run),
    Missing,
}

/// Requests an abort of the user's run. A run no worker holds is aborted at once; one being worked stops at its
/// worker's next boundary.
pub async fn request_abort(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Abort> {
    conn.transaction::<_, anyhow::Error, _>(async |c| abort_in(c, user_id, id).await).await
}

async fn abort_in(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Abort> {
    // A run no worker holds (not started yet, or its worker died) is aborted at once, its log's last line with it.
    lock_for_takeover(conn, id, Uuid::nil()).await?;
    let pending_aborted: Option<Run> = diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::user_id.eq(user_id))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .filter(r::lease_owner.is_null().or(r::lease_until.lt(now)))
        .set((
            r::status.eq(RunStatus::Aborted),
            r::abort_requested_at.eq(now),
            r::finished_at.eq(now),
            r::updated_at.eq(now),
            r::lease_owner.eq(None::<Uuid>),
            r::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .returning(Run::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(run) = pending_aborted {
        let message = "run aborted on request; no worker was holding it";
        events::record(conn, id, events::Level::Warn, None, message, None).await?;
        return Ok(Abort::AbortedNow(run));
    }
    let requested: Option<Run> = diesel::update(r::runs)
        .filter(r::id.eq(id))
        .filter(r::user_id.eq(user_id))
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .set((
            r::abort_requested_at.eq(sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(
                "coalesce(abort_requested_at, now())",
            )),
            r::updated_at.eq(now),
        ))
        .returning(Run::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(run) = requested {
        return Ok(Abort::Requested(run));
    }
    Ok(match get(conn, user_id, id).await? {
        Some(run) => Abort::AlreadyEnded(run),
        None => Abort::Missing,
    })
}

/// Active runs whose message was probably lost, oldest first:
/// - runs holding no live lease and not updated for `stale_secs` (a message lost before any worker took it);
/// - runs whose holder died: a lease that ran out without being given back, and nothing written to the run since
///   it was last renewed. These are due at once: the dead worker's message stays hidden for the queue's whole
///   visibility timeout. Re-enqueueing one updates it ([`touch`]), so it then waits `stale_secs` like the others.
pub async fn stale(conn: &mut AsyncPgConnection, stale_secs: i64, limit: i64) -> anyhow::Result<Vec<Run>> {
    let quiet = r::updated_at.lt(crate::db_now_plus::<diesel::sql_types::Timestamptz>(-stale_secs));
    let holder_died = r::lease_owner.is_not_null().and(r::updated_at.nullable().lt(r::lease_until));
    Ok(r::runs
        .filter(r::status.eq_any(RunStatus::ACTIVE))
        .filter(r::lease_until.is_null().or(r::lease_until.lt(now)))
        .filter(quiet.or(holder_died))
        .order(r::updated_at.asc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)
        .await?)
}

/// Merges `figures` into the run's working counts (`companies_total`, removed-company expiries) under our lease.
pub async fn merge_counts(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    figures: &serde_json::Value,
) -> anyhow::Result<()> {
    use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
    diesel::sql_query("UPDATE runs SET counts = counts || $3, updated_at = now() WHERE id = $1 AND lease_owner = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(owner)
        .bind::<Jsonb, _>(figures)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks an active run as just re-enqueued, so the stale-run sweep leaves it alone for another period.
///
/// The run's log gets `note` (a warning, at `stage`) in the same transaction, and only if the run was still active:
/// a run's last line stays the one that ended it.
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, stage: Option<Stage>, note: &str) -> anyhow::Result<bool> {
    conn.transaction::<_, anyhow::Error, _>(async |c| {
        let n = diesel::update(r::runs)
            .filter(r::id.eq(id))
            .filter(r::status.eq_any(RunStatus::ACTIVE))
            .set(r::updated_at.eq(now))
            .execute(c)
            .await?;
        if n == 1 {
            events::record(c, id, events::Level::Warn, stage, note, None).await?;
        }
        Ok(n == 1)
    })
    .await
}
