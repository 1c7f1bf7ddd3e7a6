//! Decisions on postings: a decision lands in `entity_flags` at most once per (entity, job), counted on the job.

use diesel::sql_types::{Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

/// A decision to apply to an entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub flag: bool,
    pub label: String,
    pub reason: String,
}

/// Lands a decision on its entity, at most once per (entity, job).
pub(super) async fn apply_flag(
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
