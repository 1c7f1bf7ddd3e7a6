//! A job's items: their pages, their transitions (each moving the job's aggregates in the same transaction), and the
//! postings they are about.

use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Decision, ItemStatus, Learnt, LlmJobItem};
use crate::schema::llm_job_items;

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
    shift_learnt(conn, job_id, (from, to), n, None).await
}

/// [`shift`], counting the `n` ends as learnt by push or poll too when `learnt` says how, in the same statement on
/// the job's row (which every end of the job's items updates: one statement fewer is one lock held for less).
pub(super) async fn shift_learnt(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    (from, to): (ItemStatus, ItemStatus),
    n: i32,
    learnt: Option<Learnt>,
) -> anyhow::Result<()> {
    let learnt = match learnt {
        Some(Learnt::Push) => ", ends_pushed = ends_pushed + $2",
        Some(Learnt::Poll) => ", ends_polled = ends_polled + $2",
        None => "",
    };
    let sql = format!(
        "UPDATE llm_jobs SET {from} = {from} - $2, {to} = {to} + $2{learnt}, updated_at = now() WHERE id = $1",
        from = column(from),
        to = column(to)
    );
    diesel::sql_query(sql).bind::<SqlUuid, _>(job_id).bind::<Int4, _>(n).execute(conn).await?;
    Ok(())
}

/// Records that a pending item was submitted as OpenAI response `response_id`; `false` if it was not pending.
/// An event about the response that came before its id was recorded here counts as pushed (see
/// [`crate::webhooks`]). The caller holds a transaction.
pub async fn mark_submitted(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    item_id: i32,
    response_id: &str,
) -> anyhow::Result<bool> {
    crate::webhooks::lock_object(conn, response_id).await?;
    let n = diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.eq(item_id))
        .filter(llm_job_items::status.eq("pending"))
        .set((
            llm_job_items::status.eq("submitted"),
            llm_job_items::response_id.eq(response_id),
            llm_job_items::submitted_at.eq(now),
            llm_job_items::attempts.eq(llm_job_items::attempts + 1),
            llm_job_items::pushed_at.eq(crate::webhooks::received_about(response_id.to_owned())),
        ))
        .execute(conn)
        .await?;
    if n == 1 {
        shift(conn, job_id, ItemStatus::Pending, ItemStatus::Submitted, 1).await?;
        super::jobs::set_running(conn, job_id).await?;
    }
    Ok(n == 1)
}

/// Notes that a submitted item was polled and is still running. An event that announced its end came early (or
/// was about another try of it): the item goes back to waiting for its end, polled when overdue.
pub async fn touch_polled(conn: &mut AsyncPgConnection, job_id: Uuid, item_ids: &[i32]) -> anyhow::Result<()> {
    diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.eq_any(item_ids))
        .set((
            llm_job_items::last_polled_at.eq(now),
            llm_job_items::pushed_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The job's submitted items an event announced the end of, which the worker reads first (at most `limit`), least
/// recently polled first (so items whose read failed do not keep others waiting).
pub async fn pushed_items(conn: &mut AsyncPgConnection, job_id: Uuid, limit: i64) -> anyhow::Result<Vec<LlmJobItem>> {
    Ok(llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .filter(llm_job_items::pushed_at.is_not_null())
        .order((llm_job_items::last_polled_at.asc().nulls_first(), llm_job_items::item_id))
        .limit(limit)
        .select(LlmJobItem::as_select())
        .load(conn)
        .await?)
}

/// The job's submitted items no event has announced, neither polled nor submitted in the last `quiet_secs`: their
/// event is overdue, and polling is the net. Least recently polled first, at most `limit`.
pub async fn overdue_items(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    quiet_secs: i64,
    limit: i64,
) -> anyhow::Result<Vec<LlmJobItem>> {
    let since = crate::db_now_plus::<diesel::sql_types::Timestamptz>(-quiet_secs);
    Ok(llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .filter(llm_job_items::pushed_at.is_null())
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("coalesce(last_polled_at, submitted_at) < ").bind(since))
        .order((llm_job_items::last_polled_at.asc().nulls_first(), llm_job_items::item_id))
        .limit(limit)
        .select(LlmJobItem::as_select())
        .load(conn)
        .await?)
}

/// A job's work that is ready for its worker now.
#[derive(Clone, Copy, Debug, QueryableByName)]
pub struct ReadyWork {
    /// Items not submitted yet.
    #[diesel(sql_type = Int8)]
    pub pending: i64,
    /// Submitted items an event announced the end of.
    #[diesel(sql_type = Int8)]
    pub pushed: i64,
    /// Batch mode: batches an event announced the end of, not applied yet.
    #[diesel(sql_type = Int8)]
    pub batches_pushed: i64,
}

/// The job's [`ReadyWork`]: its pending items from the job's aggregate, the pushed ones counted on their indexes.
pub async fn ready_work(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<ReadyWork> {
    Ok(diesel::sql_query(
        "SELECT j.items_pending::bigint AS pending, \
                (SELECT count(*) FROM llm_batches \
                 WHERE job_id = j.id AND done_at IS NULL AND pushed_at IS NOT NULL) AS batches_pushed, \
                (SELECT count(*) FROM llm_job_items \
                 WHERE job_id = j.id AND status = 'submitted' AND pushed_at IS NOT NULL) AS pushed \
         FROM llm_jobs j WHERE j.id = $1",
    )
    .bind::<SqlUuid, _>(job_id)
    .get_result(conn)
    .await?)
}

/// How an item ended.
#[derive(Clone, Debug)]
pub struct ItemEnd {
    pub status: ItemStatus,
    pub output_text: Option<String>,
    /// The decision `{flag, label, reason}` when the item completed.
    pub decision: Option<Decision>,
    pub error: Option<String>,
    /// How its end at OpenAI was learnt; `None` for an end decided here (a cancel, an item given up).
    pub learnt: Option<Learnt>,
    /// The tokens OpenAI reported, and their estimated cost.
    pub usage: Option<ItemUsage>,
}

/// An item's token usage as OpenAI reported it, and its estimated cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ItemUsage {
    pub input_tokens: i32,
    /// Among the input.
    pub cached_input_tokens: i32,
    pub output_tokens: i32,
    /// Among the output.
    pub reasoning_tokens: i32,
    /// US dollars; `None` when the model has no price.
    pub cost_usd: Option<f64>,
}

impl ItemEnd {
    /// An end with its status alone: no output, decision, error, way learnt or usage (a cancel, say); the other
    /// fields are set with struct update syntax.
    pub fn bare(status: ItemStatus) -> Self {
        Self { status, output_text: None, decision: None, error: None, learnt: None, usage: None }
    }

    /// The same end, learnt as `learnt` says.
    #[must_use]
    pub fn learnt(self, learnt: Learnt) -> Self {
        Self { learnt: Some(learnt), ..self }
    }
}

/// Ends an open item (pending or submitted) with `end`, moves the aggregates, and applies its decision to the
/// entity once: [`super::end_items`] for one item. Returns whether anything changed: an item already ended is left
/// alone. The caller holds a transaction.
pub async fn end_item(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    user_id: &str,
    item_id: i32,
    end: &ItemEnd,
) -> anyhow::Result<bool> {
    Ok(!super::end_items(conn, job_id, user_id, &[(item_id, end.clone())]).await?.is_empty())
}

/// Adds ended items' usage to their job's sums (nothing for none).
pub(super) async fn add_usage_sums(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    usages: &[ItemUsage],
) -> anyhow::Result<()> {
    if usages.is_empty() {
        return Ok(());
    }
    let sum = |f: fn(&ItemUsage) -> i32| usages.iter().map(|u| i64::from(f(u))).sum::<i64>();
    let cost: f64 = usages.iter().filter_map(|u| u.cost_usd).sum();
    let unpriced = i32::try_from(usages.iter().filter(|u| u.cost_usd.is_none()).count())?;
    diesel::sql_query(
        "INSERT INTO llm_job_usage AS u (job_id, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, \
                                        cost_usd, items_unpriced) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (job_id) DO UPDATE SET input_tokens = u.input_tokens + $2, \
             cached_input_tokens = u.cached_input_tokens + $3, output_tokens = u.output_tokens + $4, \
             reasoning_tokens = u.reasoning_tokens + $5, cost_usd = u.cost_usd + $6, \
             items_unpriced = u.items_unpriced + $7",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Int8, _>(sum(|u| u.input_tokens))
    .bind::<Int8, _>(sum(|u| u.cached_input_tokens))
    .bind::<Int8, _>(sum(|u| u.output_tokens))
    .bind::<Int8, _>(sum(|u| u.reasoning_tokens))
    .bind::<diesel::sql_types::Float8, _>(cost)
    .bind::<Int4, _>(unpriced)
    .execute(conn)
    .await?;
    Ok(())
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
