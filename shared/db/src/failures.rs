//! Why queue messages failed, by SQS message id. SQS keeps a message's id when its redrive policy moves it to the
//! DLQ, so an operator peeking at a dead-lettered message can read the reason its consumer recorded.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::message_failures::dsl as f;

/// A reason is cut to this many characters: enough for an error chain, bounded for a poison message's echo.
pub const MAX_REASON_CHARS: usize = 2_000;

/// One recorded failure.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::message_failures)]
pub struct MessageFailure {
    pub message_id: String,
    pub queue: String,
    pub receive_count: i32,
    pub retryable: bool,
    pub reason: String,
    pub first_failed_at: chrono::DateTime<chrono::Utc>,
    pub last_failed_at: chrono::DateTime<chrono::Utc>,
}

/// What a consumer knows when a record fails.
#[derive(Clone, Copy, Debug)]
pub struct NewFailure<'a> {
    pub message_id: &'a str,
    pub queue: &'a str,
    pub receive_count: u32,
    pub retryable: bool,
    pub reason: &'a str,
}

/// Records (or, for a message that failed before, updates) why a message failed.
pub async fn record(conn: &mut AsyncPgConnection, failure: &NewFailure<'_>) -> anyhow::Result<()> {
    let reason = clean_reason(failure.reason);
    let receive_count = i32::try_from(failure.receive_count).unwrap_or(i32::MAX);
    diesel::insert_into(f::message_failures)
        .values((
            f::message_id.eq(failure.message_id),
            f::queue.eq(failure.queue),
            f::receive_count.eq(receive_count),
            f::retryable.eq(failure.retryable),
            f::reason.eq(&reason),
        ))
        .on_conflict(f::message_id)
        .do_update()
        .set((
            f::queue.eq(failure.queue),
            f::receive_count.eq(receive_count),
            f::retryable.eq(failure.retryable),
            f::reason.eq(&reason),
            f::last_failed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The recorded failures of these messages, by message id; messages with none are absent.
pub async fn lookup(conn: &mut AsyncPgConnection, ids: &[String]) -> anyhow::Result<HashMap<String, MessageFailure>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MessageFailure> =
        f::message_failures.filter(f::message_id.eq_any(ids)).select(MessageFailure::as_select()).load(conn).await?;
    Ok(rows.into_iter().map(|r| (r.message_id.clone(), r)).collect())
}

/// Deletes failures last seen more than `retention_secs` ago (as long as a DLQ keeps messages); returns how many.
pub async fn prune(conn: &mut AsyncPgConnection, retention_secs: i64) -> anyhow::Result<usize> {
    let cutoff = crate::db_now_plus::<diesel::sql_types::Timestamptz>(-retention_secs);
    Ok(diesel::delete(f::message_failures.filter(f::last_failed_at.lt(cutoff))).execute(conn).await?)
}

/// The reason as stored: no NUL (PostgreSQL text cannot hold it), at most [`MAX_REASON_CHARS`] characters.
fn clean_reason(reason: &str) -> String {
    let storable = crate::storable(reason.to_owned());
    let mut clean: String = storable.chars().take(MAX_REASON_CHARS).collect();
    if storable.chars().nth(MAX_REASON_CHARS).is_some() {
        clean.push('…');
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_loses_nul_and_is_cut_to_the_bound() {
        assert_eq!(clean_reason("bad\0 body"), "bad body");
        let long = "x".repeat(MAX_REASON_CHARS + 5);
        let cut = clean_reason(&long);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(clean_reason(&"y".repeat(MAX_REASON_CHARS)), "y".repeat(MAX_REASON_CHARS));
    }
}
