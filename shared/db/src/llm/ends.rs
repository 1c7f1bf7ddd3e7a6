//! Ending many items at once (a chunk of a batch's result file): what [`super::end_item`] does for one item, in a
//! handful of statements for the whole chunk. The items, the job's aggregates and its usage sums move together, and
//! each decision lands in `entity_flags` at most once.

use std::collections::{BTreeMap, HashSet};

use diesel::QueryableByName;
use diesel::sql_types::{Array, Float8, Int4, Int8, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::items::{ItemEnd, ItemUsage, add_usage_sums, shift_learnt};
use super::{ItemStatus, Learnt};

#[derive(QueryableByName)]
struct Ended {
    #[diesel(sql_type = Int4)]
    item_id: i32,
    #[diesel(sql_type = Text)]
    old_status: ItemStatus,
    #[diesel(sql_type = Text)]
    entity_kind: String,
    #[diesel(sql_type = Int8)]
    entity_id: i64,
}

/// Ends the open items (pending or submitted) among `ends` as each says, moves the aggregates, adds their usage to
/// the job's sums and applies their decisions once. An item named twice ends as its first end says; one already
/// ended is left alone. Returns the ids of the items that ended. The caller holds a transaction.
pub async fn end_items(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    user_id: &str,
    ends: &[(i32, ItemEnd)],
) -> anyhow::Result<Vec<i32>> {
    let mut seen = HashSet::new();
    let ends: Vec<&(i32, ItemEnd)> = ends.iter().filter(|(id, _)| seen.insert(*id)).collect();
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    let decisions: Vec<Option<serde_json::Value>> = ends
        .iter()
        .map(|(_, e)| e.decision.as_ref().map(serde_json::to_value).transpose())
        .collect::<Result<_, _>>()?;
    let usage =
        |f: fn(&ItemUsage) -> i32| -> Vec<Option<i32>> { ends.iter().map(|(_, e)| e.usage.as_ref().map(f)).collect() };
    let ended: Vec<Ended> = diesel::sql_query(
        "WITH input AS (SELECT * FROM unnest($2::int4[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], \
                                            $8::int4[], $9::int4[], $10::int4[], $11::int4[], $12::float8[]) \
                        AS t(item_id, status, output_text, decision, error, learnt, input_tokens, \
                             cached_input_tokens, output_tokens, reasoning_tokens, cost_usd)), \
              old AS (SELECT i.item_id, i.status FROM llm_job_items i JOIN input USING (item_id) \
                      WHERE i.job_id = $1 AND i.status IN ('pending', 'submitted') FOR UPDATE OF i) \
         UPDATE llm_job_items i SET status = input.status, output_text = input.output_text, \
                decision = input.decision, error = input.error, completed_at = now(), last_polled_at = now(), \
                learnt_by = input.learnt, input_tokens = input.input_tokens, \
                cached_input_tokens = input.cached_input_tokens, output_tokens = input.output_tokens, \
                reasoning_tokens = input.reasoning_tokens, cost_usd = input.cost_usd \
         FROM old JOIN input USING (item_id) \
         WHERE i.job_id = $1 AND i.item_id = old.item_id \
         RETURNING i.item_id, old.status AS old_status, i.entity_kind, i.entity_id",
    )
    .bind::<SqlUuid, _>(job_id)
    .bind::<Array<Int4>, _>(ends.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(ends.iter().map(|(_, e)| e.status.as_str()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(ends.iter().map(|(_, e)| e.output_text.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Jsonb>>, _>(decisions)
    .bind::<Array<Nullable<Text>>, _>(ends.iter().map(|(_, e)| e.error.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(ends.iter().map(|(_, e)| e.learnt.map(Learnt::as_str)).collect::<Vec<_>>())
    .bind::<Array<Nullable<Int4>>, _>(usage(|u| u.input_tokens))
    .bind::<Array<Nullable<Int4>>, _>(usage(|u| u.cached_input_tokens))
    .bind::<Array<Nullable<Int4>>, _>(usage(|u| u.output_tokens))
    .bind::<Array<Nullable<Int4>>, _>(usage(|u| u.reasoning_tokens))
    .bind::<Array<Nullable<Float8>>, _>(ends.iter().map(|(_, e)| e.usage.and_then(|u| u.cost_usd)).collect::<Vec<_>>())
    .load(conn)
    .await?;
    if ended.is_empty() {
        return Ok(Vec::new());
    }
    let end_of: BTreeMap<i32, &ItemEnd> = ends.iter().map(|(id, e)| (*id, e)).collect();
    let mut moves: BTreeMap<(ItemStatus, ItemStatus, Option<Learnt>), i32> = BTreeMap::new();
    let mut usages = Vec::new();
    let mut flags = super::flags::Flags::default();
    for row in &ended {
        let Some(end) = end_of.get(&row.item_id) else { continue };
        *moves.entry((row.old_status, end.status, end.learnt)).or_default() += 1;
        usages.extend(end.usage);
        if let Some(d) = &end.decision {
            flags.kinds.push(row.entity_kind.as_str());
            flags.ids.push(row.entity_id);
            flags.flags.push(d.flag);
            flags.labels.push(d.label.as_str());
            flags.reasons.push(d.reason.as_str());
        }
    }
    for ((from, to, learnt), n) in moves {
        shift_learnt(conn, job_id, (from, to), n, learnt).await?;
    }
    add_usage_sums(conn, job_id, &usages).await?;
    flags.apply(conn, job_id, user_id).await?;
    Ok(ended.iter().map(|r| r.item_id).collect())
}
