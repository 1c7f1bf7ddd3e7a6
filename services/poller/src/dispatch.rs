//! Dispatch, on a schedule: one `llm-jobs` message per job that is due (its poll time passed, no live lease, not
//! resolved), sent with SendMessageBatch. It is the safety net for a re-enqueue message that was lost.

use bw_db::{PgPool, llm, pool};
use bw_messages::{LlmJobMessage, attributes};
use bw_queue::{Outgoing, Queue};
use serde::Serialize;

/// What one dispatch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DispatchStats {
    pub due: usize,
    pub sent: usize,
    pub failed: usize,
}

/// How long a dispatched job is left alone before dispatch may send it again (the worker sets the real next poll).
pub const REDISPATCH_SECS: i64 = 120;

/// Sends one message per due job, at most `limit`.
pub async fn dispatch<Q: Queue>(
    pool: &PgPool,
    queue: &Q,
    queue_url: &str,
    limit: i64,
) -> anyhow::Result<DispatchStats> {
    let mut conn = pool::conn(pool).await?;
    let due = llm::due(&mut conn, limit).await?;
    if due.is_empty() {
        return Ok(DispatchStats::default());
    }
    // Postponed before sending, so a worker that runs at once sets the next poll time last.
    llm::postpone(&mut conn, &due, REDISPATCH_SECS).await?;
    drop(conn);
    let messages = due
        .iter()
        .map(|id| Outgoing {
            body: LlmJobMessage::new(*id).body(),
            attributes: vec![(attributes::JOB_ID.to_owned(), id.to_string())],
            delay_seconds: None,
        })
        .collect();
    let failed = queue.send_batch(queue_url, messages).await?;
    let stats = DispatchStats { due: due.len(), sent: due.len() - failed, failed };
    tracing::info!(due = stats.due, sent = stats.sent, failed = stats.failed, "dispatch done");
    Ok(stats)
}
