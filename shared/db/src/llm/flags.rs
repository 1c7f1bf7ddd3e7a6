//! Decisions on postings: a decision lands in `entity_flags` at most once per (entity, job), counted on the job.

use diesel::sql_types::{Array, Bool, Int8, Text, Uuid as SqlUuid};
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

/// Decisions to land, column by column.
#[derive(Default)]
pub(super) struct Flags<'a> {
    pub kinds: Vec<&'a str>,
    pub ids: Vec<i64>,
    pub flags: Vec<bool>,
    pub labels: Vec<&'a str>,
    pub reasons: Vec<&'a str>,
}

impl Flags<'_> {
    /// Lands the decisions, each at most once per (entity, job), and counts those that landed on the job.
    pub(super) async fn apply(self, conn: &mut AsyncPgConnection, job_id: Uuid, user_id: &str) -> anyhow::Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        diesel::sql_query(
            "WITH landed AS (INSERT INTO entity_flags (entity_kind, entity_id, job_id, user_id, flag, label, reason) \
                             SELECT t.kind, t.id, $1, $2, t.flag, t.label, t.reason \
                             FROM unnest($3::text[], $4::int8[], $5::bool[], $6::text[], $7::text[]) \
                                  AS t(kind, id, flag, label, reason) \
                             ON CONFLICT DO NOTHING RETURNING 1) \
             UPDATE llm_jobs SET flags_applied = flags_applied + (SELECT count(*) FROM landed)::int4 WHERE id = $1",
        )
        .bind::<SqlUuid, _>(job_id)
        .bind::<Text, _>(user_id)
        .bind::<Array<Text>, _>(self.kinds)
        .bind::<Array<Int8>, _>(self.ids)
        .bind::<Array<Bool>, _>(self.flags)
        .bind::<Array<Text>, _>(self.labels)
        .bind::<Array<Text>, _>(self.reasons)
        .execute(conn)
        .await?;
        Ok(())
    }
}
