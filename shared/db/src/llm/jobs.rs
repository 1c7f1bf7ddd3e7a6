//! A job's life: creation with its items, the worker's lease on it, its resolution and a cancel request.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{JobMode, JobStatus, LlmJob};
use crate::schema::llm_jobs;

/// What a new job asks.
#[derive(Clone, Debug)]
pub struct NewJob<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub model: &'a str,
    pub instructions: &'a str,
    pub mode: JobMode,
}

/// Creates a `queued` job with one `pending` item per posting id, in one transaction the caller holds.
pub async fn create(conn: &mut AsyncPgConnection, job: NewJob<'_>, posting_ids: &[i64]) -> anyhow::Result<LlmJob> {
    let n = i32::try_from(posting_ids.len())?;
    let id = Uuid::new_v4();
    let created: LlmJob = diesel::insert_into(llm_jobs::table)
        .values((
            llm_jobs::id.eq(id),
            llm_jobs::user_id.eq(job.user_id),
            llm_jobs::name.eq(job.name),
            llm_jobs::model.eq(job.model),
            llm_jobs::instructions.eq(job.instructions),
            llm_jobs::mode.eq(job.mode),
            llm_jobs::items_total.eq(n),
            llm_jobs::items_pending.eq(n),
        ))
        .returning(LlmJob::as_returning())
        .get_result(conn)
        .await?;
    const CHUNK: usize = 10_000;
    for (i, chunk) in posting_ids.chunks(CHUNK).enumerate() {
        let offset = i32::try_from(i * CHUNK)?;
        diesel::sql_query(
            "INSERT INTO llm_job_items (job_id, item_id, entity_kind, entity_id) \
             SELECT $1, $2 + t.n::int4, 'posting', t.id FROM UNNEST($3::int8[]) WITH ORDINALITY AS t(id, n)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Int4, _>(offset)
        .bind::<Array<Int8>, _>(chunk)
        .execute(conn)
        .await?;
    }
    Ok(created)
}

/// The jobs the end of run `run_id` started (its standing screens'), oldest first.
pub async fn of_run(conn: &mut AsyncPgConnection, run_id: Uuid) -> anyhow::Result<Vec<LlmJob>> {
    Ok(llm_jobs::table
        .filter(llm_jobs::run_id.eq(run_id))
        .order((llm_jobs::created_at.asc(), llm_jobs::id.asc()))
        .select(LlmJob::as_select())
        .load(conn)
        .await?)
}

/// The user's job `id`.
pub async fn get(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Option<LlmJob>> {
    Ok(llm_jobs::table
        .filter(llm_jobs::id.eq(id))
        .filter(llm_jobs::user_id.eq(user_id))
        .select(LlmJob::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The job `id` whoever owns it (for the worker).
pub async fn load(conn: &mut AsyncPgConnection, id: Uuid) -> anyhow::Result<Option<LlmJob>> {
    Ok(llm_jobs::table.filter(llm_jobs::id.eq(id)).select(LlmJob::as_select()).first(conn).await.optional()?)
}

/// The user's jobs, newest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: &str, limit: i64) -> anyhow::Result<Vec<LlmJob>> {
    Ok(llm_jobs::table
        .filter(llm_jobs::user_id.eq(user_id))
        .order((llm_jobs::created_at.desc(), llm_jobs::id.desc()))
        .limit(limit)
        .select(LlmJob::as_select())
        .load(conn)
        .await?)
}

/// Unresolved jobs whose poll time has come and that no worker holds, oldest due first.
pub async fn due(conn: &mut AsyncPgConnection, limit: i64) -> anyhow::Result<Vec<Uuid>> {
    Ok(llm_jobs::table
        .filter(llm_jobs::status.eq_any(JobStatus::UNRESOLVED))
        .filter(llm_jobs::next_poll_at.le(now))
        .filter(llm_jobs::lease_until.is_null().or(llm_jobs::lease_until.lt(now)))
        .order(llm_jobs::next_poll_at)
        .limit(limit)
        .select(llm_jobs::id)
        .load(conn)
        .await?)
}

/// Takes the job's lease unless another worker holds a live one; `None` when busy or resolved.
///
/// The job is due again when the lease runs out, so a worker that dies holding it (killed, out of memory, past its
/// timeout) has its job dispatched again as soon as the lease ends, not at its old poll time.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    lease_secs: i64,
) -> anyhow::Result<Option<LlmJob>> {
    let until = crate::db_now_plus::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(lease_secs);
    let due = crate::db_now_plus::<diesel::sql_types::Timestamptz>(lease_secs);
    Ok(diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(id))
        .filter(llm_jobs::status.eq_any(JobStatus::UNRESOLVED))
        .filter(llm_jobs::lease_until.is_null().or(llm_jobs::lease_until.lt(now)).or(llm_jobs::lease_owner.eq(owner)))
        .set((
            llm_jobs::lease_owner.eq(owner),
            llm_jobs::lease_until.eq(until),
            llm_jobs::next_poll_at.eq(due),
            llm_jobs::updated_at.eq(now),
        ))
        .returning(LlmJob::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Extends our lease on the job (and its due time with it) by `lease_secs` from now; `false` when the lease is no
/// longer ours or the job resolved.
pub async fn renew(conn: &mut AsyncPgConnection, id: Uuid, owner: Uuid, lease_secs: i64) -> anyhow::Result<bool> {
    let until = crate::db_now_plus::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(lease_secs);
    let due = crate::db_now_plus::<diesel::sql_types::Timestamptz>(lease_secs);
    let n = diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(id))
        .filter(llm_jobs::lease_owner.eq(owner))
        .filter(llm_jobs::status.eq_any(JobStatus::UNRESOLVED))
        .set((llm_jobs::lease_until.eq(until), llm_jobs::next_poll_at.eq(due)))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Gives the lease back and sets the job due again in `next_poll_secs`.
pub async fn release(conn: &mut AsyncPgConnection, id: Uuid, owner: Uuid, next_poll_secs: i64) -> anyhow::Result<()> {
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(id))
        .filter(llm_jobs::lease_owner.eq(owner))
        .set((
            llm_jobs::lease_owner.eq(None::<Uuid>),
            llm_jobs::lease_until.eq(None::<DateTime<Utc>>),
            llm_jobs::next_poll_at.eq(crate::db_now_plus::<diesel::sql_types::Timestamptz>(next_poll_secs)),
            llm_jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A job whose items went out is `running` (from `queued` or `submitting`; never back from a resolved status).
pub(super) async fn set_running(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<()> {
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(job_id))
        .filter(llm_jobs::status.eq_any([JobStatus::Queued, JobStatus::Submitting]))
        .set((llm_jobs::status.eq(JobStatus::Running), llm_jobs::updated_at.eq(now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolves the job when no item is open: `cancelled` if a cancel was requested, `failed` if nothing completed,
/// else `completed`. Returns the new status, or `None` while items are open (or it was resolved already).
pub async fn resolve_if_done(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<Option<JobStatus>> {
    let resolved = diesel::sql_query(
        "UPDATE llm_jobs SET status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' \
                                            WHEN items_completed = 0 AND items_total > 0 THEN 'failed' \
                                            ELSE 'completed' END, \
                             resolved_at = now(), updated_at = now() \
         WHERE id = $1 AND items_pending = 0 AND items_submitted = 0 AND status IN ('queued', 'submitting', 'running') \
         RETURNING status",
    )
    .bind::<SqlUuid, _>(job_id)
    .get_result::<StatusRow>(conn)
    .await
    .optional()?
    .map(|r| r.status);
    if resolved.is_some() {
        // Its batches have nothing left to apply (a file's last lines may have ended no item).
        super::finish_open_batches(conn, job_id).await?;
    }
    Ok(resolved)
}

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = Text)]
    status: JobStatus,
}

/// Records a cancel request on the user's unresolved job; `None` when there is no such job, `Some(false)` when it
/// is already resolved.
pub async fn request_cancel(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Option<bool>> {
    let n = diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(id))
        .filter(llm_jobs::user_id.eq(user_id))
        .filter(llm_jobs::status.eq_any(JobStatus::UNRESOLVED))
        .set((
            llm_jobs::cancel_requested_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(cancel_requested_at, now())")),
            llm_jobs::next_poll_at.eq(now),
            llm_jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if n == 1 {
        return Ok(Some(true));
    }
    Ok(get(conn, user_id, id).await?.map(|_| false))
}

/// Postpones jobs' next poll (dispatch sent their messages; the worker sets the real next time).
pub async fn postpone(conn: &mut AsyncPgConnection, ids: &[Uuid], secs: i64) -> anyhow::Result<()> {
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq_any(ids))
        .set(llm_jobs::next_poll_at.eq(crate::db_now_plus::<diesel::sql_types::Timestamptz>(secs)))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many jobs are not resolved yet (for benchmarks and operators).
pub async fn unresolved_count(conn: &mut AsyncPgConnection) -> anyhow::Result<i64> {
    Ok(llm_jobs::table.filter(llm_jobs::status.eq_any(JobStatus::UNRESOLVED)).count().get_result(conn).await?)
}

/// Sets how many submitted items the job's next poll asks about.
pub async fn set_poll_budget(conn: &mut AsyncPgConnection, job_id: Uuid, budget: i32) -> anyhow::Result<()> {
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(job_id))
        .set(llm_jobs::poll_budget.eq(budget))
        .execute(conn)
        .await?;
    Ok(())
}

/// The usage sums of `ids` (jobs none of whose items reported a usage have no entry).
pub async fn usage_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> anyhow::Result<std::collections::HashMap<Uuid, super::JobUsage>> {
    use crate::schema::llm_job_usage;
    let rows: Vec<super::JobUsage> = llm_job_usage::table
        .filter(llm_job_usage::job_id.eq_any(ids))
        .select(super::JobUsage::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|u| (u.job_id, u)).collect())
}
