//! A batch-mode job's OpenAI batches. A job is split into as many as its items need; each carries the items written
//! to its input file (between `first_item` and `last_item`), which record its `seq` as their `batch_seq`. Its output
//! and error files are applied a chunk at a time, each chunk's items ended in one transaction with the count of
//! lines it applied ([`applied_lines`], which refuses a count another worker moved meanwhile), so an invocation that
//! runs out of time leaves the rest to the next, and no line is applied twice (nor would it matter: an item already
//! ended is left alone).

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ItemStatus, LlmJobItem};
use crate::schema::{llm_batches, llm_job_items};

/// One OpenAI batch of a job.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = llm_batches)]
pub struct LlmBatch {
    #[serde(skip)]
    pub job_id: Uuid,
    /// 1, 2, … in the order the job's batches were submitted.
    pub seq: i32,
    /// OpenAI's batch id.
    pub batch_id: String,
    pub input_file_id: String,
    /// The job's items it covers: those from `first_item` to `last_item` that were pending when it was submitted.
    pub first_item: i32,
    pub last_item: i32,
    /// How many items it carries.
    pub items: i32,
    /// The size of its input file.
    pub input_bytes: i64,
    /// When its completion window closes.
    pub expires_at: DateTime<Utc>,
    /// When a webhook event announced its end.
    pub pushed_at: Option<DateTime<Utc>>,
    /// OpenAI's status once it ended (`completed`, `failed`, `expired`, `cancelled`); empty while it runs.
    pub outcome: Option<String>,
    pub output_file_id: Option<String>,
    pub error_file_id: Option<String>,
    /// Why OpenAI failed it, as its errors say.
    pub error: Option<String>,
    /// Lines of its output and error files applied so far.
    pub output_lines_applied: i64,
    pub error_lines_applied: i64,
    /// Result files read to their end, in order: 0 none, 1 the output file, 2 both.
    pub files_applied: i16,
    pub created_at: DateTime<Utc>,
    /// When every item it covers had ended.
    pub done_at: Option<DateTime<Utc>>,
}

/// A batch just created at OpenAI, to record.
#[derive(Clone, Debug)]
pub struct NewBatch<'a> {
    pub batch_id: &'a str,
    pub input_file_id: &'a str,
    /// The items its input file carries, in order.
    pub item_ids: &'a [i32],
    pub input_bytes: i64,
    pub expires_at: DateTime<Utc>,
}

/// Which of a batch's result files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultFile {
    Output,
    Error,
}

impl ResultFile {
    /// The files in the order they are applied.
    pub const ALL: [Self; 2] = [Self::Output, Self::Error];

    /// `files_applied` once this file is read to its end: the output file first, then the error file.
    pub fn applied_mark(self) -> i16 {
        match self {
            Self::Output => 1,
            Self::Error => 2,
        }
    }
}

/// Records a batch of the job: those of its items still pending become submitted in it, the aggregates move, the
/// batch is kept (marked pushed if an event about it came first: see [`crate::webhooks`]) and the job runs. The
/// caller holds a transaction. Returns how many items the batch covers.
pub async fn record_batch(conn: &mut AsyncPgConnection, job_id: Uuid, batch: &NewBatch<'_>) -> anyhow::Result<i32> {
    let (Some(first), Some(last)) = (batch.item_ids.first(), batch.item_ids.last()) else {
        anyhow::bail!("batch {} carries no item", batch.batch_id);
    };
    crate::webhooks::lock_object(conn, batch.batch_id).await?;
    let seq: Option<i32> = llm_batches::table
        .filter(llm_batches::job_id.eq(job_id))
        .select(diesel::dsl::max(llm_batches::seq))
        .get_result(conn)
        .await?;
    let seq = seq.unwrap_or(0) + 1;
    let n = diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.eq_any(batch.item_ids))
        .filter(llm_job_items::status.eq(ItemStatus::Pending.as_str()))
        .set((
            llm_job_items::status.eq(ItemStatus::Submitted.as_str()),
            llm_job_items::submitted_at.eq(now),
            llm_job_items::attempts.eq(llm_job_items::attempts + 1),
            llm_job_items::batch_seq.eq(seq),
        ))
        .execute(conn)
        .await?;
    let n = i32::try_from(n)?;
    super::items::shift(conn, job_id, ItemStatus::Pending, ItemStatus::Submitted, n).await?;
    diesel::insert_into(llm_batches::table)
        .values((
            llm_batches::job_id.eq(job_id),
            llm_batches::seq.eq(seq),
            llm_batches::batch_id.eq(batch.batch_id),
            llm_batches::input_file_id.eq(batch.input_file_id),
            llm_batches::first_item.eq(*first),
            llm_batches::last_item.eq(*last),
            llm_batches::items.eq(n),
            llm_batches::input_bytes.eq(batch.input_bytes),
            llm_batches::expires_at.eq(batch.expires_at),
            llm_batches::pushed_at.eq(crate::webhooks::received_about(batch.batch_id.to_owned())),
        ))
        .execute(conn)
        .await?;
    super::jobs::set_running(conn, job_id).await?;
    Ok(n)
}

/// The job's batches, in the order they were submitted.
pub async fn batches(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<Vec<LlmBatch>> {
    Ok(llm_batches::table
        .filter(llm_batches::job_id.eq(job_id))
        .order(llm_batches::seq)
        .select(LlmBatch::as_select())
        .load(conn)
        .await?)
}

/// The batches of `job_ids`, by job, each job's in the order they were submitted.
pub async fn batches_of(
    conn: &mut AsyncPgConnection,
    job_ids: &[Uuid],
) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<LlmBatch>>> {
    let rows: Vec<LlmBatch> = llm_batches::table
        .filter(llm_batches::job_id.eq_any(job_ids))
        .order((llm_batches::job_id, llm_batches::seq))
        .select(LlmBatch::as_select())
        .load(conn)
        .await?;
    let mut by_job = std::collections::HashMap::<Uuid, Vec<LlmBatch>>::new();
    for batch in rows {
        by_job.entry(batch.job_id).or_default().push(batch);
    }
    Ok(by_job)
}

/// The job's batches with items still open: those an event announced first, then in the order submitted.
pub async fn open_batches(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<Vec<LlmBatch>> {
    Ok(llm_batches::table
        .filter(llm_batches::job_id.eq(job_id))
        .filter(llm_batches::done_at.is_null())
        .order((llm_batches::pushed_at.is_null(), llm_batches::seq))
        .select(LlmBatch::as_select())
        .load(conn)
        .await?)
}

/// How a batch ended at OpenAI.
#[derive(Clone, Debug)]
pub struct BatchEnded<'a> {
    /// OpenAI's terminal status.
    pub outcome: &'a str,
    pub output_file_id: Option<&'a str>,
    pub error_file_id: Option<&'a str>,
    /// Why it failed, when it did.
    pub error: Option<&'a str>,
}

/// Records how the batch ended at OpenAI and its result files (once: a later call changes nothing).
pub async fn record_outcome(
    conn: &mut AsyncPgConnection,
    batch: &LlmBatch,
    ended: &BatchEnded<'_>,
) -> anyhow::Result<()> {
    diesel::update(llm_batches::table.find((batch.job_id, batch.seq)))
        .filter(llm_batches::outcome.is_null())
        .set((
            llm_batches::outcome.eq(ended.outcome),
            llm_batches::output_file_id.eq(ended.output_file_id),
            llm_batches::error_file_id.eq(ended.error_file_id),
            llm_batches::error.eq(ended.error.map(|e| crate::storable(e.to_owned()))),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts the lines of one of the batch's result files applied as `to`, from `from`: an error when the count is
/// no longer `from` (another worker applied lines meanwhile, its lease lost), which rolls back the caller's
/// transaction, the one that ended their items.
pub async fn applied_lines(
    conn: &mut AsyncPgConnection,
    batch: &LlmBatch,
    file: ResultFile,
    (from, to): (i64, i64),
) -> anyhow::Result<()> {
    let target = llm_batches::table.find((batch.job_id, batch.seq));
    let n = match file {
        ResultFile::Output => {
            diesel::update(target.filter(llm_batches::output_lines_applied.eq(from)))
                .set(llm_batches::output_lines_applied.eq(to))
                .execute(conn)
                .await?
        }
        ResultFile::Error => {
            diesel::update(target.filter(llm_batches::error_lines_applied.eq(from)))
                .set(llm_batches::error_lines_applied.eq(to))
                .execute(conn)
                .await?
        }
    };
    anyhow::ensure!(n == 1, "batch {}: its lines applied moved from {from} under this worker", batch.batch_id);
    Ok(())
}

/// Puts the batch's items still submitted back to pending (OpenAI failed it for a reason of its own queue, such as
/// the organisation's enqueued-token limit: they go out again in a later batch), and marks it done. The caller holds
/// a transaction. Returns how many went back.
pub async fn requeue_batch(conn: &mut AsyncPgConnection, batch: &LlmBatch) -> anyhow::Result<i32> {
    let n = diesel::update(llm_job_items::table)
        .filter(llm_job_items::job_id.eq(batch.job_id))
        .filter(llm_job_items::batch_seq.eq(batch.seq))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .set((llm_job_items::status.eq(ItemStatus::Pending.as_str()), llm_job_items::batch_seq.eq(None::<i32>)))
        .execute(conn)
        .await?;
    let n = i32::try_from(n)?;
    super::items::shift(conn, batch.job_id, ItemStatus::Submitted, ItemStatus::Pending, n).await?;
    finish_batch(conn, batch).await?;
    Ok(n)
}

/// Records that one of the batch's result files was read to its end (the output file first, then the error file).
pub async fn file_applied(conn: &mut AsyncPgConnection, batch: &LlmBatch, file: ResultFile) -> anyhow::Result<()> {
    let done = file.applied_mark();
    diesel::update(llm_batches::table.find((batch.job_id, batch.seq)))
        .filter(llm_batches::files_applied.lt(done))
        .set(llm_batches::files_applied.eq(done))
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` of the batch's items still submitted, in item order.
pub async fn open_items_of(
    conn: &mut AsyncPgConnection,
    batch: &LlmBatch,
    limit: i64,
) -> anyhow::Result<Vec<LlmJobItem>> {
    Ok(llm_job_items::table
        .filter(llm_job_items::job_id.eq(batch.job_id))
        .filter(llm_job_items::batch_seq.eq(batch.seq))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .order(llm_job_items::item_id)
        .limit(limit)
        .select(LlmJobItem::as_select())
        .load(conn)
        .await?)
}

/// Marks the batch done: every item it covers has ended.
pub async fn finish_batch(conn: &mut AsyncPgConnection, batch: &LlmBatch) -> anyhow::Result<()> {
    diesel::update(llm_batches::table.find((batch.job_id, batch.seq)))
        .filter(llm_batches::done_at.is_null())
        .set(llm_batches::done_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every batch of the job done (its items were all ended here: a cancel, or the job given up).
pub async fn finish_open_batches(conn: &mut AsyncPgConnection, job_id: Uuid) -> anyhow::Result<()> {
    diesel::update(llm_batches::table)
        .filter(llm_batches::job_id.eq(job_id))
        .filter(llm_batches::done_at.is_null())
        .set(llm_batches::done_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` of the job's pending items after `after`, in item order (the next batch's).
pub async fn pending_after(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    after: i32,
    limit: i64,
) -> anyhow::Result<Vec<LlmJobItem>> {
    Ok(llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::item_id.gt(after))
        .filter(llm_job_items::status.eq(ItemStatus::Pending.as_str()))
        .order(llm_job_items::item_id)
        .limit(limit)
        .select(LlmJobItem::as_select())
        .load(conn)
        .await?)
}
