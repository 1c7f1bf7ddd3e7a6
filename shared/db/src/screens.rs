//! Standing screens: a user's screening rules. When a run of the user finishes, each live screen starts one LLM job
//! over the postings that are new or changed for it: ready, stored or changed since the screen was added, and not
//! judged by it since their content last changed. That is what the run stored new or saw change, and also what an
//! earlier run left unjudged (stored by a run that was aborted before ingesting it, or that failed ingestion then).
//! It happens in the transaction that finishes the run: once per run and screen, however often the run's end is
//! delivered (the run ends once, and a unique index stands behind it). A changed posting is so judged again; its
//! earlier decision stays with the earlier job.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int8, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::llm::{self, LlmJob, MAX_ITEMS, NewJob};
use crate::schema::{llm_jobs, screens};
pub use bw_vocab::JobMode;

/// A screening rule of a user's.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = screens)]
pub struct Screen {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: String,
    pub name: String,
    /// What is asked of each posting.
    pub instructions: String,
    pub model: String,
    pub mode: JobMode,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A new screen's fields.
#[derive(Clone, Copy, Debug)]
pub struct NewScreen<'a> {
    pub name: &'a str,
    pub instructions: &'a str,
    pub model: &'a str,
    pub mode: JobMode,
}

/// Adds a screen of `user_id`'s.
pub async fn create(conn: &mut AsyncPgConnection, user_id: &str, new: NewScreen<'_>) -> anyhow::Result<Screen> {
    Ok(diesel::insert_into(screens::table)
        .values((
            screens::id.eq(Uuid::new_v4()),
            screens::user_id.eq(user_id),
            screens::name.eq(new.name),
            screens::instructions.eq(new.instructions),
            screens::model.eq(new.model),
            screens::mode.eq(new.mode),
        ))
        .returning(Screen::as_returning())
        .get_result(conn)
        .await?)
}

/// The user's screens, oldest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: &str) -> anyhow::Result<Vec<Screen>> {
    Ok(screens::table
        .filter(screens::user_id.eq(user_id))
        .filter(screens::deleted_at.is_null())
        .order((screens::created_at.asc(), screens::id.asc()))
        .select(Screen::as_select())
        .load(conn)
        .await?)
}

/// The user's screen `id`.
pub async fn get(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<Option<Screen>> {
    Ok(screens::table
        .filter(screens::id.eq(id))
        .filter(screens::user_id.eq(user_id))
        .filter(screens::deleted_at.is_null())
        .select(Screen::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Removes the user's screen `id` (its jobs stay); false when there is none.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<bool> {
    let removed = diesel::update(screens::table)
        .filter(screens::id.eq(id))
        .filter(screens::user_id.eq(user_id))
        .filter(screens::deleted_at.is_null())
        .set(screens::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(removed == 1)
}

/// The jobs screen `id` started, newest first.
pub async fn jobs(conn: &mut AsyncPgConnection, id: Uuid, limit: i64) -> anyhow::Result<Vec<LlmJob>> {
    Ok(llm_jobs::table
        .filter(llm_jobs::screen_id.eq(id))
        .order((llm_jobs::created_at.desc(), llm_jobs::id.desc()))
        .limit(limit)
        .select(LlmJob::as_select())
        .load(conn)
        .await?)
}

#[derive(QueryableByName)]
struct PostingId {
    #[diesel(sql_type = Int8)]
    id: i64,
}

/// The ready postings of `user_id` new or changed for `screen`: stored or changed since the screen was added, and not
/// judged by it (an item of one of its jobs) since their content last changed; at most `limit`, in id order.
pub async fn to_judge(
    conn: &mut AsyncPgConnection,
    user_id: &str,
    screen: &Screen,
    limit: i64,
) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<PostingId> = diesel::sql_query(
        "SELECT p.id FROM postings p \
         WHERE p.user_id = $1 AND p.status = 'ready' AND p.content_changed_at >= $2 \
           AND NOT EXISTS (SELECT 1 FROM llm_job_items i JOIN llm_jobs j ON j.id = i.job_id \
                           WHERE i.entity_kind = 'posting' AND i.entity_id = p.id AND j.screen_id = $3 \
                             AND j.created_at >= p.content_changed_at) \
         ORDER BY p.id LIMIT $4",
    )
    .bind::<Text, _>(user_id)
    .bind::<diesel::sql_types::Timestamptz, _>(screen.created_at)
    .bind::<SqlUuid, _>(screen.id)
    .bind::<Int8, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// What a run's screens started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub screen: String,
    pub job_id: Uuid,
    pub items: usize,
    /// Postings left out because a job holds at most [`MAX_ITEMS`] (the next run's job takes them).
    pub left_out: usize,
}

/// One job per live screen of `user_id` over what is new or changed for it ([`to_judge`]), each tied to run
/// `run_id`; none for a screen with nothing to judge. Meant for the transaction that finishes the run.
pub async fn start_for_run(conn: &mut AsyncPgConnection, user_id: &str, run_id: Uuid) -> anyhow::Result<Vec<Started>> {
    let mut started = Vec::new();
    for screen in list(conn, user_id).await? {
        let mut ids = to_judge(conn, user_id, &screen, MAX_ITEMS + 1).await?;
        if ids.is_empty() {
            continue;
        }
        let left_out = ids.len().saturating_sub(usize::try_from(MAX_ITEMS)?);
        ids.truncate(usize::try_from(MAX_ITEMS)?);
        let new = NewJob {
            user_id,
            name: &screen.name,
            model: &screen.model,
            instructions: &screen.instructions,
            mode: screen.mode,
        };
        let job = llm::create(conn, new, &ids).await?;
        diesel::update(llm_jobs::table.find(job.id))
            .set((llm_jobs::screen_id.eq(screen.id), llm_jobs::run_id.eq(run_id)))
            .execute(conn)
            .await?;
        started.push(Started { screen: screen.name, job_id: job.id, items: ids.len(), left_out });
    }
    Ok(started)
}
