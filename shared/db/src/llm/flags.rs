//! Decisions on postings: a decision lands in `entity_flags` at most once per (entity, job), counted on the job.

use diesel::prelude::*;
use diesel::sql_types::{Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
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

/// A flagged posting with the decision that flagged it.
#[derive(Clone, Debug, QueryableByName, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
