//! Failed tries of LLM items, and giving up on them. A failed try (a submission that failed after the OpenAI
//! client's own retries) bumps the item's `attempts` and keeps its error in `last_error` (a failed poll only the
//! latter); giving up ends open
//! items `failed` with the reason, followed by `; last error: …` when the item has one, and moves the job's
//! aggregates in the same transaction. Every statement names the statuses it leaves, so an item that ended
//! meanwhile is left alone.

use diesel::OptionalExtension as _;
use diesel::sql_types::{Array, Int4, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::llm::{ItemStatus, shift};

#[derive(diesel::QueryableByName)]
struct Attempts {
    #[diesel(sql_type = Int4)]
    attempts: i32,
}

/// Records a failed request about one open item: `last_error`, `last_polled_at = now()` (so the next invocation turns
/// to the item's neighbours first) and, when it `counts` as an attempt (a submission), `attempts + 1`. Returns the
/// item's attempts now, or `None` when it is not open.
pub async fn record_failed_try(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    item_id: i32,
    error: &str,
    counts: bool,
) -> anyhow::Result<Option<i32>> {
    let row: Option<Attempts> = diesel::sql_query(
        "UPDATE llm_job_items SET attempts = attempts + $4::int, last_error = $3, last_polled_at = now() \
         WHERE job_id = $1 AND item_id = $2 AND status IN ('pending', 'submitted') RETURNING attempts",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Int4, _>(item_id)
    .bind::<Text, _>(crate::storable(error.to_owned()))
    .bind::<Int4, _>(i32::from(counts))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.attempts))
}

/// The open items of a job one batch-mode request stood for.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Those written to an input file (submitting it failed): the pending ones.
    Items(&'a [i32]),
    /// Those submitted in the job's batch of this `seq` (asking about it failed).
    Batch(i32),
}

impl Scope<'_> {
    fn items(self) -> Option<Vec<i32>> {
        match self {
            Scope::Items(ids) => Some(ids.to_vec()),
            Scope::Batch(_) => None,
        }
    }

    fn batch(self) -> Option<i32> {
        match self {
            Scope::Items(_) => None,
            Scope::Batch(seq) => Some(seq),
        }
    }
}

/// [`record_failed_try`] for every open item in `scope` (batch mode, where one request stands for all of them).
/// Returns the most attempts among them, 0 when there is none.
pub async fn record_failed_tries(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    scope: Scope<'_>,
    error: &str,
    counts: bool,
) -> anyhow::Result<i32> {
    let row: Attempts = diesel::sql_query(
        "WITH tried AS (UPDATE llm_job_items SET attempts = attempts + $4::int, last_error = $3, \
                        last_polled_at = now() \
                        WHERE job_id = $1 AND status IN ('pending', 'submitted') \
                          AND ($2::int4[] IS NULL OR item_id = ANY($2)) AND ($5::int4 IS NULL OR batch_seq = $5) \
                        RETURNING attempts) \
         SELECT coalesce(max(attempts), 0) AS attempts FROM tried",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Nullable<Array<Int4>>, _>(scope.items())
    .bind::<Text, _>(crate::storable(error.to_owned()))
    .bind::<Int4, _>(i32::from(counts))
    .bind::<Nullable<Int4>, _>(scope.batch())
    .get_result(conn)
    .await?;
    Ok(row.attempts)
}

/// Ends the open items in `scope` `failed` with `reason` (a batch OpenAI refused, or whose items had their
/// attempts). Returns how many ended. The caller holds a transaction.
pub async fn give_up_scope(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    scope: Scope<'_>,
    reason: &str,
) -> anyhow::Result<i32> {
    end_open(conn, job_id, (scope.items().as_deref(), scope.batch()), ItemStatus::Failed, Some(reason)).await
}

/// Ends the open items `item_ids` of the job `failed` with `reason`. Returns how many ended. The caller holds a
/// transaction.
pub async fn give_up_items(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    item_ids: &[i32],
    reason: &str,
) -> anyhow::Result<i32> {
    end_open(conn, job_id, (Some(item_ids), None), ItemStatus::Failed, Some(reason)).await
}

/// Ends every open item of the job `failed` with `reason`, and notes the reason as the job's error. Returns how many
/// items ended. The caller holds a transaction.
pub async fn give_up_job(conn: &mut AsyncPgConnection, job_id: Uuid, reason: &str) -> anyhow::Result<i32> {
    let ended = end_open(conn, job_id, (None, None), ItemStatus::Failed, Some(reason)).await?;
    diesel::sql_query("UPDATE llm_jobs SET error = $2, updated_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(job_id)
        .bind::<Text, _>(crate::storable(reason.to_owned()))
        .execute(conn)
        .await?;
    Ok(ended)
}

#[derive(diesel::QueryableByName)]
struct Ended {
    #[diesel(sql_type = Int4)]
    pending: i32,
    #[diesel(sql_type = Int4)]
    submitted: i32,
}

/// Ends every open item of the job `cancelled` at once (a batch-mode job's cancel: its batches were cancelled at
/// OpenAI). Returns how many ended. The caller holds a transaction.
pub async fn cancel_open(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<i32> {
    end_open(conn, job_id, (None, None), ItemStatus::Cancelled, None).await
}

/// Ends open items (all of the job's, or those of `item_ids`, or of its batch `batch_seq`) as `to`, with `reason` as
/// their error when given, and moves the aggregates by how many left each status.
async fn end_open(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    (item_ids, batch_seq): (Option<&[i32]>, Option<i32>),
    to: ItemStatus,
    reason: Option<&str>,
) -> anyhow::Result<i32> {
    let ended: Ended = diesel::sql_query(
        "WITH old AS (SELECT item_id, status FROM llm_job_items \
                      WHERE job_id = $1 AND status IN ('pending', 'submitted') \
                        AND ($3::int4[] IS NULL OR item_id = ANY($3)) \
                        AND ($5::int4 IS NULL OR batch_seq = $5) FOR UPDATE), \
              ended AS (UPDATE llm_job_items i \
                        SET status = $4, error = $2 || coalesce('; last error: ' || i.last_error, ''), \
                            completed_at = now(), last_polled_at = now() \
                        FROM old WHERE i.job_id = $1 AND i.item_id = old.item_id \
                          AND i.status IN ('pending', 'submitted') \
                        RETURNING old.status) \
         SELECT count(*) FILTER (WHERE status = 'pending')::int4 AS pending, \
                count(*) FILTER (WHERE status = 'submitted')::int4 AS submitted FROM ended",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Nullable<Text>, _>(reason.map(|r| crate::storable(r.to_owned())))
    .bind::<Nullable<Array<Int4>>, _>(item_ids)
    .bind::<Text, _>(to.as_str())
    .bind::<Nullable<Int4>, _>(batch_seq)
    .get_result(conn)
    .await?;
    for (from, n) in [(ItemStatus::Pending, ended.pending), (ItemStatus::Submitted, ended.submitted)] {
        if n > 0 {
            shift(conn, job_id, from, to, n).await?;
        }
    }
    Ok(ended.pending + ended.submitted)
}
