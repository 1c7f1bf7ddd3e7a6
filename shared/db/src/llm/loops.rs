//! One message loop per job (see migration `000009_job_loops`): the token of the job's live loop message, passed on
//! by the invocation that message started, restarted by dispatch when the loop was lost.

use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::llm_job_loops;

/// Whether `token` is the job's live loop.
pub async fn holds_loop(conn: &mut AsyncPgConnection, job_id: Uuid, token: Uuid) -> anyhow::Result<bool> {
    let n: i64 = llm_job_loops::table
        .filter(llm_job_loops::job_id.eq(job_id))
        .filter(llm_job_loops::token.eq(token))
        .count()
        .get_result(conn)
        .await?;
    Ok(n == 1)
}

/// The loop passed on: the next loop message's token, and how many loop invocations in a row (this one included)
/// saw no item end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Passed {
    pub token: Uuid,
    pub idle_polls: i32,
}

/// Passes the job's loop on from an invocation started by a message carrying `held` (`None`: a wake, or a message
/// of an older worker) in which items did or did not end (`ended`): the next loop message's token when that
/// invocation holds the loop (its token is the live one, or the job has no loop yet), else `None` (a loop message
/// is already on its way).
pub async fn pass_loop(
    conn: &mut AsyncPgConnection,
    job_id: Uuid,
    held: Option<Uuid>,
    ended: bool,
) -> anyhow::Result<Option<Passed>> {
    let next = Uuid::new_v4();
    let idle = if ended { 0 } else { 1 };
    if let Some(held) = held {
        let passed: Option<i32> = diesel::update(llm_job_loops::table)
            .filter(llm_job_loops::job_id.eq(job_id))
            .filter(llm_job_loops::token.eq(held))
            .set((
                llm_job_loops::token.eq(next),
                llm_job_loops::idle_polls.eq(if ended {
                    diesel::dsl::sql::<diesel::sql_types::Int4>("0")
                } else {
                    diesel::dsl::sql("idle_polls + 1")
                }),
            ))
            .returning(llm_job_loops::idle_polls)
            .get_result(conn)
            .await
            .optional()?;
        if let Some(idle_polls) = passed {
            return Ok(Some(Passed { token: next, idle_polls }));
        }
    }
    let adopted = diesel::insert_into(llm_job_loops::table)
        .values((llm_job_loops::job_id.eq(job_id), llm_job_loops::token.eq(next), llm_job_loops::idle_polls.eq(idle)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok((adopted == 1).then_some(Passed { token: next, idle_polls: idle }))
}

/// Starts a new loop for each of `jobs` (their old loop messages, if any are still on their way, end when they
/// come); returns each job's new token.
pub async fn restart_loops(conn: &mut AsyncPgConnection, jobs: &[Uuid]) -> anyhow::Result<Vec<(Uuid, Uuid)>> {
    let tokens: Vec<Uuid> = jobs.iter().map(|_| Uuid::new_v4()).collect();
    diesel::sql_query(
        "INSERT INTO llm_job_loops (job_id, token) SELECT * FROM unnest($1::uuid[], $2::uuid[]) \
         ON CONFLICT (job_id) DO UPDATE SET token = EXCLUDED.token, idle_polls = 0",
    )
    .bind::<Array<SqlUuid>, _>(jobs)
    .bind::<Array<SqlUuid>, _>(&tokens)
    .execute(conn)
    .await?;
    Ok(jobs.iter().copied().zip(tokens).collect())
}
