//! LLM jobs and their items. Every item transition names the statuses it leaves, and moves the job's aggregates in
//! the same transaction; a decision lands in `entity_flags` at most once per (entity, job), so a result processed
//! twice is applied once.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

pub use bw_vocab::{ItemStatus, JobMode, JobStatus};

use crate::schema::{llm_job_items, llm_jobs};

/// An LLM job with its aggregates.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = llm_jobs)]
pub struct LlmJob {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    pub model: String,
    pub instructions: String,
    pub mode: JobMode,
    pub status: JobStatus,
    pub items_total: i32,
    pub items_pending: i32,
    pub items_submitted: i32,
    pub items_completed: i32,
    pub items_failed: i32,
    pub items_cancelled: i32,
    pub items_expired: i32,
    pub flags_applied: i32,
    pub input_file_id: Option<String>,
    pub batch_id: Option<String>,
    pub next_poll_at: DateTime<Utc>,
    #[serde(skip)]
    pub poll_budget: i32,
    #[serde(skip)]
    pub lease_owner: Option<Uuid>,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Batch mode: when the batch's completion window closes (OpenAI's `expires_at`).
    pub batch_expires_at: Option<DateTime<Utc>>,
}

/// One entity of a job.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = llm_job_items)]
pub struct LlmJobItem {
    #[serde(skip)]
    pub job_id: Uuid,
    pub item_id: i32,
    pub entity_kind: String,
    pub entity_id: i64,
    pub status: ItemStatus,
    pub response_id: Option<String>,
    /// Submissions and failed tries (a submission or a poll that failed after the client's own retries).
    pub attempts: i32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub output_text: Option<String>,
    pub decision: Option<serde_json::Value>,
    pub error: Option<String>,
    /// The last failed try while the item is open (it is retried; `error` is set when it ends).
    pub last_error: Option<String>,
}

/// Most items one job may have: the API refuses more, and a batch-mode job sends them all in one batch file.
pub const MAX_ITEMS: i64 = 50_000;

/// The aggregate column on `llm_jobs` counting items of `status` (a fixed name, safe to put in SQL).
fn column(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Pending => "items_pending",
        ItemStatus::Submitted => "items_submitted",
        ItemStatus::Completed => "items_completed",
        ItemStatus::Failed => "items_failed",
        ItemStatus::Cancelled => "items_cancelled",
        ItemStatus::Expired => "items_expired",
    }
}

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

/// Of `ids`, the postings that belong to `user_id`.
pub async fn owned_postings(conn: &mut AsyncPgConnection, user_id: &str, ids: &[i64]) -> anyhow::Result<Vec<i64>> {
    use crate::schema::postings::dsl as p;
    Ok(p::postings
        .filter(p::user_id.eq(user_id))
        .filter(p::id.eq_any(ids))
        .select(p::id)
        .order(p::id)
        .load(conn)
        .await?)
}

/// The user's `ready` postings last written by run `run_id`.
pub async fn ready_postings_of_run(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    run_id: Uuid,
) -> anyhow::Result<Vec<i64>> {
    use crate::schema::postings::dsl as p;
    Ok(p::postings
        .filter(p::user_id.eq(user_id))
        .filter(p::run_id.eq(run_id))
        .filter(p::status.eq("ready"))
        .select(p::id)
        .order(p::id)
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

/// A page of a job's items after `after_item`, optionally of one status.
pub async fn items(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    status: Option<ItemStatus>,
    after_item: i32,
    limit: i64,
) -> anyhow::Result<Vec<LlmJobItem>> {
    let mut query = llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.gt(after_item))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(llm_job_items::status.eq(status.as_str()));
    }
    Ok(query.order(llm_job_items::item_id).limit(limit).select(LlmJobItem::as_select()).load(conn).await?)
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

/// Up to `limit` of the job's items in `status`, least recently polled first.
pub async fn open_items(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    status: ItemStatus,
    limit: i64,
) -> anyhow::Result<Vec<LlmJobItem>> {
    Ok(llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::status.eq(status.as_str()))
        .order((llm_job_items::last_polled_at.asc().nulls_first(), llm_job_items::item_id))
        .limit(limit)
        .select(LlmJobItem::as_select())
        .load(conn)
        .await?)
}

/// Moves `n` items of the job from one aggregate to another.
pub(crate) async fn shift(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    from: ItemStatus,
    to: ItemStatus,
    n: i32,
) -> anyhow::Result<()> {
    let sql = format!(
        "UPDATE llm_jobs SET {from} = {from} - $2, {to} = {to} + $2, updated_at = now() WHERE id = $1",
        from = column(from),
        to = column(to)
    );
    diesel::sql_query(sql).bind::<SqlUuid, _>(job_id).bind::<Int4, _>(n).execute(conn).await?;
    Ok(())
}

/// Records that a pending item was submitted as OpenAI response `response_id`; `false` if it was not pending.
/// The caller holds a transaction.
pub async fn mark_submitted(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    item_id: i32,
    response_id: &str,
) -> anyhow::Result<bool> {
    let n = diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.eq(item_id))
        .filter(llm_job_items::status.eq("pending"))
        .set((
            llm_job_items::status.eq("submitted"),
            llm_job_items::response_id.eq(response_id),
            llm_job_items::submitted_at.eq(now),
            llm_job_items::attempts.eq(llm_job_items::attempts + 1),
        ))
        .execute(conn)
        .await?;
    if n == 1 {
        shift(conn, job_id, ItemStatus::Pending, ItemStatus::Submitted, 1).await?;
        set_running(conn, job_id).await?;
    }
    Ok(n == 1)
}

/// A job whose items went out is `running` (from `queued` or `submitting`; never back from a resolved status).
async fn set_running(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<()> {
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(job_id))
        .filter(llm_jobs::status.eq_any([JobStatus::Queued, JobStatus::Submitting]))
        .set((llm_jobs::status.eq(JobStatus::Running), llm_jobs::updated_at.eq(now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes that a submitted item was polled and is still running.
pub async fn touch_polled(conn: &mut AsyncPgConnection, job_id: Uuid, item_ids: &[i32]) -> anyhow::Result<()> {
    diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.eq_any(item_ids))
        .set(llm_job_items::last_polled_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// How an item ended.
#[derive(Clone, Debug)]
pub struct ItemEnd {
    pub status: ItemStatus,
    pub output_text: Option<String>,
    /// The decision `{flag, label, reason}` when the item completed.
    pub decision: Option<Decision>,
    pub error: Option<String>,
}

/// A decision to apply to an entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub flag: bool,
    pub label: String,
    pub reason: String,
}

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = Text)]
    status: ItemStatus,
    #[diesel(sql_type = Text)]
    entity_kind: String,
    #[diesel(sql_type = Int8)]
    entity_id: i64,
}

/// Ends an open item (pending or submitted) with `end`, moves the aggregates, and applies its decision to the
/// entity once. Returns whether anything changed: an item already ended is left alone. The caller holds a
/// transaction.
pub async fn end_item(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    user_id: &str,
    item_id: i32,
    end: &ItemEnd,
) -> anyhow::Result<bool> {
    let decision_json = end.decision.as_ref().map(serde_json::to_value).transpose()?;
    let previous: Option<Previous> = diesel::sql_query(
        "WITH old AS (SELECT status FROM llm_job_items WHERE job_id = $1 AND item_id = $2 FOR UPDATE) \
         UPDATE llm_job_items i SET status = $3, output_text = $4, decision = $5, error = $6, completed_at = now(), \
                last_polled_at = now() \
         FROM old WHERE i.job_id = $1 AND i.item_id = $2 AND old.status IN ('pending', 'submitted') \
         RETURNING old.status, i.entity_kind, i.entity_id",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Int4, _>(item_id)
    .bind::<Text, _>(end.status.as_str())
    .bind::<diesel::sql_types::Nullable<Text>, _>(end.output_text.as_deref())
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>, _>(decision_json)
    .bind::<diesel::sql_types::Nullable<Text>, _>(end.error.as_deref())
    .get_result(conn)
    .await
    .optional()?;
    let Some(previous) = previous else { return Ok(false) };
    shift(conn, job_id, previous.status, end.status, 1).await?;
    if let Some(decision) = &end.decision {
        apply_flag(conn, job_id, user_id, &previous.entity_kind, previous.entity_id, decision).await?;
    }
    Ok(true)
}

/// Lands a decision on its entity, at most once per (entity, job).
async fn apply_flag(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    user_id: &str,
    entity_kind: &str,
    entity_id: i64,
    decision: &Decision,
) -> anyhow::Result<()> {
    let inserted = diesel::sql_query(
        "INSERT INTO entity_flags (entity_kind, entity_id, job_id, user_id, flag, label, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(entity_kind)
    .bind::<Int8, _>(entity_id)
    .bind::<SqlUuid, _>(job_id)
    .bind::<Text, _>(user_id)
    .bind::<diesel::sql_types::Bool, _>(decision.flag)
    .bind::<Text, _>(&decision.label)
    .bind::<Text, _>(&decision.reason)
    .execute(conn)
    .await?;
    if inserted == 1 {
        diesel::sql_query("UPDATE llm_jobs SET flags_applied = flags_applied + 1 WHERE id = $1")
            .bind::<SqlUuid, _>(job_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Resolves the job when no item is open: `cancelled` if a cancel was requested, `failed` if nothing completed,
/// else `completed`. Returns the new status, or `None` while items are open (or it was resolved already).
pub async fn resolve_if_done(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<Option<String>> {
    Ok(diesel::sql_query(
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
    .map(|r| r.status))
}

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = Text)]
    status: String,
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

#[derive(QueryableByName)]
struct PostingText {
    #[diesel(sql_type = Int8)]
    id: i64,
    #[diesel(sql_type = Text)]
    text: String,
}

/// The text an LLM is asked about for each posting: its normalised fields and description (at most `max_chars`).
pub async fn posting_texts(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    max_chars: i32,
) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    let rows: Vec<PostingText> = diesel::sql_query(
        "SELECT p.id, concat_ws(E'\\n', 'Title: ' || p.title, 'Company: ' || c.name, 'Location: ' || p.location, \
                'Remote: ' || p.remote::text, 'Department: ' || p.department, 'Employment type: ' || p.employment_type, \
                'Compensation: ' || p.compensation, '', left(p.description, $2)) AS text \
         FROM postings p JOIN companies c ON c.id = p.company_id WHERE p.id = ANY($1)",
    )
    .bind::<Array<Int8>, _>(ids)
    .bind::<Int4, _>(max_chars)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
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

/// The user's postings in `status`, optionally of one company, in id order (at most `limit`).
pub async fn postings_matching(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    status: &str,
    company_id: Option<Uuid>,
    limit: i64,
) -> anyhow::Result<Vec<i64>> {
    use crate::schema::postings::dsl as p;
    let mut query = p::postings.filter(p::user_id.eq(user_id)).filter(p::status.eq(status.to_owned())).into_boxed();
    if let Some(company) = company_id {
        query = query.filter(p::company_id.eq(company));
    }
    Ok(query.select(p::id).order(p::id).limit(limit).load(conn).await?)
}

/// A flagged posting with the decision that flagged it.
#[derive(Clone, Debug, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct FlaggedPosting {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub url: Option<String>,
    #[diesel(sql_type = Text)]
    pub company: String,
    #[diesel(sql_type = SqlUuid)]
    pub job_id: Uuid,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = Text)]
    pub reason: String,
}

/// The user's postings flagged (`flag = true`) with `label` (any label when `None`), by job `job_id` (any when
/// `None`), newest flag first.
pub async fn flagged_postings(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    label: Option<&str>,
    job_id: Option<Uuid>,
    limit: i64,
) -> anyhow::Result<Vec<FlaggedPosting>> {
    Ok(diesel::sql_query(
        "SELECT p.id, p.title, p.url, c.name AS company, f.job_id, f.label, f.reason \
         FROM entity_flags f JOIN postings p ON p.id = f.entity_id AND f.entity_kind = 'posting' \
         JOIN companies c ON c.id = p.company_id \
         WHERE f.user_id = $1 AND p.user_id = $1 AND f.flag AND ($2::text IS NULL OR f.label = $2) \
           AND ($4::uuid IS NULL OR f.job_id = $4) \
         ORDER BY f.created_at DESC, p.id LIMIT $3",
    )
    .bind::<Text, _>(user_id)
    .bind::<diesel::sql_types::Nullable<Text>, _>(label)
    .bind::<Int8, _>(limit)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(job_id)
    .load(conn)
    .await?)
}

/// Records a job's OpenAI batch, whose completion window closes at `expires_at`: every pending item becomes
/// submitted (the batch carries them all), the aggregates move, and the job runs. The caller holds a transaction.
/// Returns how many items the batch covers.
pub async fn record_batch(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    input_file_id: &str,
    batch_id: &str,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<i32> {
    let n = diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::status.eq("pending"))
        .set((
            llm_job_items::status.eq("submitted"),
            llm_job_items::submitted_at.eq(now),
            llm_job_items::attempts.eq(llm_job_items::attempts + 1),
        ))
        .execute(conn)
        .await?;
    let n = i32::try_from(n)?;
    shift(conn, job_id, ItemStatus::Pending, ItemStatus::Submitted, n).await?;
    diesel::update(llm_jobs::table)
        .filter(llm_jobs::id.eq(job_id))
        .set((
            llm_jobs::input_file_id.eq(input_file_id),
            llm_jobs::batch_id.eq(batch_id),
            llm_jobs::batch_expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    set_running(conn, job_id).await?;
    Ok(n)
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
