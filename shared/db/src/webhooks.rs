//! OpenAI's webhook events, as the API receives them: each delivery recorded once by its `webhook-id` (OpenAI
//! delivers at least once, for up to 72 hours, in any order), the response or batch it names marked pushed, and
//! whether its job's worker needs waking.
//!
//! An event can come before the worker has recorded the response or batch id it names (OpenAI answers the create,
//! and may finish and push, before our write commits): it is kept, and [`received_about`] lets that write count it.
//! The two transactions could each miss the other (each reading before the other commits), so both first take a
//! transaction lock on the id ([`lock_object`]): whichever comes second sees what the first wrote.

use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{llm_batches, llm_job_items, webhook_events};
use bw_vocab::ItemStatus;

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A background response (`response.completed`, `.failed`, `.cancelled`, `.incomplete`).
    Response,
    /// A batch (`batch.completed`, `.failed`, `.expired`, `.cancelled`).
    Batch,
}

/// One verified delivery.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// The `webhook-id` header: the same on each delivery of one event.
    pub webhook_id: &'a str,
    /// The event's `id` (`evt_...`).
    pub event_id: &'a str,
    /// The event's `type`.
    pub event_type: &'a str,
    pub subject: Subject,
    /// `data.id`: the response's or the batch's id.
    pub object_id: &'a str,
}

/// What recording an event came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// This `webhook-id` was recorded before. `waiting`: the job whose item (or batch) the event announced is still
    /// waiting for its worker, so it should be woken again (the first wake may not have been sent).
    Duplicate { waiting: Option<Uuid> },
    /// No job of ours knows the response or batch (yet): kept, in case its id is recorded later.
    Unknown,
    /// The object is the job's. `wake`: its worker should be sent the job now (no other pushed item was waiting for
    /// it, so no message about it is on its way); `false` when the item or batch had ended, or was pushed already.
    Job { job_id: Uuid, wake: bool },
}

/// Records `event` and marks what it names pushed. The caller holds a transaction, and sends the job's message
/// (when `wake`) once it committed, so the worker sees what it marked; were that send to fail, OpenAI's redelivery
/// of the event is a duplicate whose `waiting` says to send it again.
pub async fn record(conn: &mut AsyncPgConnection, event: Event<'_>) -> anyhow::Result<Recorded> {
    lock_object(conn, event.object_id).await?;
    let inserted = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::webhook_id.eq(event.webhook_id),
            webhook_events::event_id.eq(event.event_id),
            webhook_events::event_type.eq(event.event_type),
            webhook_events::object_id.eq(event.object_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        return Ok(Recorded::Duplicate { waiting: still_waiting(conn, event).await? });
    }
    let recorded = match event.subject {
        Subject::Response => response_pushed(conn, event.object_id).await?,
        Subject::Batch => batch_pushed(conn, event.object_id).await?,
    };
    if let Recorded::Job { job_id, .. } = recorded {
        diesel::update(webhook_events::table.find(event.webhook_id))
            .set(webhook_events::job_id.eq(job_id))
            .execute(conn)
            .await?;
    }
    Ok(recorded)
}

/// The job whose item (or batch) `event` names is still waiting for its worker to read it: pushed and not ended.
async fn still_waiting(conn: &mut AsyncPgConnection, event: Event<'_>) -> anyhow::Result<Option<Uuid>> {
    Ok(match event.subject {
        Subject::Response => llm_job_items::table
            .filter(llm_job_items::response_id.eq(event.object_id))
            .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
            .filter(llm_job_items::pushed_at.is_not_null())
            .select(llm_job_items::job_id)
            .first(conn)
            .await
            .optional()?,
        Subject::Batch => llm_batches::table
            .filter(llm_batches::batch_id.eq(event.object_id))
            .filter(llm_batches::done_at.is_null())
            .filter(llm_batches::pushed_at.is_not_null())
            .select(llm_batches::job_id)
            .first(conn)
            .await
            .optional()?,
    })
}

/// Marks the submitted item of response `response_id` pushed. Its job is woken when it is the job's only pushed
/// item waiting: with others waiting, a message is on its way or the worker holding the job reads it (the worker
/// looks for pushed items after giving its lease back). Counted in this transaction, so of two events committed at
/// once at least one sees itself alone.
async fn response_pushed(conn: &mut AsyncPgConnection, response_id: &str) -> anyhow::Result<Recorded> {
    let marked: Option<Uuid> = diesel::update(llm_job_items::table)
        .filter(llm_job_items::response_id.eq(response_id))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .filter(llm_job_items::pushed_at.is_null())
        .set(llm_job_items::pushed_at.eq(now))
        .returning(llm_job_items::job_id)
        .get_result(conn)
        .await
        .optional()?;
    let Some(job_id) = marked else {
        let known: Option<Uuid> = llm_job_items::table
            .filter(llm_job_items::response_id.eq(response_id))
            .select(llm_job_items::job_id)
            .first(conn)
            .await
            .optional()?;
        return Ok(known.map_or(Recorded::Unknown, |job_id| Recorded::Job { job_id, wake: false }));
    };
    let waiting: i64 = llm_job_items::table
        .filter(llm_job_items::job_id.eq(job_id))
        .filter(llm_job_items::status.eq(ItemStatus::Submitted.as_str()))
        .filter(llm_job_items::pushed_at.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    Ok(Recorded::Job { job_id, wake: waiting == 1 })
}

/// Marks batch `batch_id` pushed; its job's worker is woken while the batch has items open. Of a job's batches,
/// each one's event wakes the job: a job reads its pushed batches first.
async fn batch_pushed(conn: &mut AsyncPgConnection, batch_id: &str) -> anyhow::Result<Recorded> {
    let batch: Option<(Uuid, Option<chrono::DateTime<chrono::Utc>>)> = diesel::update(llm_batches::table)
        .filter(llm_batches::batch_id.eq(batch_id))
        .set(llm_batches::pushed_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(pushed_at, now())")))
        .returning((llm_batches::job_id, llm_batches::done_at))
        .get_result(conn)
        .await
        .optional()?;
    Ok(batch.map_or(Recorded::Unknown, |(job_id, done_at)| Recorded::Job { job_id, wake: done_at.is_none() }))
}

/// Takes the transaction lock on a response or batch id that an event and the write recording the id both take
/// (see the module's comment). The caller holds a transaction; the lock ends with it.
pub(crate) async fn lock_object(conn: &mut AsyncPgConnection, object_id: &str) -> anyhow::Result<()> {
    // The first key keeps these locks apart from any other advisory lock.
    diesel::sql_query("SELECT pg_advisory_xact_lock(1464156235, hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(object_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// When the first event about `object_id` came, if one did: the value a write recording that id sets as pushed.
#[diesel::dsl::auto_type(no_type_alias)]
pub(crate) fn received_about(object_id: String) -> _ {
    let first: i64 = 1;
    webhook_events::table
        .filter(webhook_events::object_id.eq(object_id))
        .select(webhook_events::received_at)
        .order(webhook_events::received_at)
        .limit(first)
        .single_value()
}

/// Deletes events received more than `older_than_secs` ago (OpenAI stops redelivering after 72 hours); returns how
/// many.
pub async fn prune(conn: &mut AsyncPgConnection, older_than_secs: i64) -> anyhow::Result<usize> {
    Ok(diesel::delete(webhook_events::table)
        .filter(webhook_events::received_at.lt(crate::db_now_plus::<Timestamptz>(-older_than_secs)))
        .execute(conn)
        .await?)
}

/// How long received events are kept: a week, twice as long as OpenAI redelivers one.
pub const KEEP_SECS: i64 = 7 * 24 * 3600;
