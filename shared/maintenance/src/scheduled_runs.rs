//! The scheduled runs: each schedule that is due starts its user's run by the same path as the API (the run's row,
//! then its message; a message that cannot be sent fails the run), once per due time however many dispatches look
//! at once (a row lock they skip, and a unique index on the user's due time), not while the user's run is still
//! under way (the skip goes into the user's next run's log), and one run for a stretch of due times nobody looked at
//! (the next due time is always the first after now).

use bw_db::runs::{self, Scheduled};
use bw_db::schedules::{self, ScheduleRow};
use bw_db::{PgPool, pool};
use bw_messages::{Database, RunMessage};
use bw_queue::{Outgoing, Queue};
use bw_schedule::Schedule;
use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection as _;
use serde::Serialize;
use uuid::Uuid;

/// Schedules one dispatch looks at, at most (the rest wait for the next).
const BATCH: i64 = 200;

/// What one look at the schedules did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Runs started (their messages sent).
    pub started: Vec<Uuid>,
    /// Due times skipped: the user's run was still under way.
    pub skipped: usize,
    /// Due times another dispatch had already started.
    pub already_started: usize,
    /// Runs whose message could not be sent: marked failed.
    pub not_queued: usize,
    /// Schedules whose run could not be written: left due for the next look.
    pub failed: usize,
}

/// Starts the runs of the schedules due at `now`, sending their messages to `runs_url`.
pub async fn start_due<Q: Queue>(
    pool: &PgPool,
    queue: &Q,
    runs_url: &str,
    database: Database,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let mut conn = pool::conn(pool).await?;
    let mut report = Report::default();
    let created = conn
        .transaction::<_, anyhow::Error, _>(async |c| {
            let mut created = Vec::new();
            for schedule in schedules::lock_due(c, now, BATCH).await? {
                // Each schedule in a savepoint of its own: one that fails is left due for the next look, and the
                // others go on.
                match runs::create_scheduled(c, &schedule.user_id, schedule.next_due_at).await {
                    Ok(Scheduled::Run(run)) => created.push(run),
                    Ok(Scheduled::AlreadyStarted) => report.already_started += 1,
                    Ok(Scheduled::ActiveExists(active)) => {
                        report.skipped += 1;
                        tracing::info!(user.id = %schedule.user_id, run.id = %active.id, due_at = %schedule.next_due_at,
                            "scheduled run skipped: the user's run is still under way");
                    }
                    Err(error) => {
                        report.failed += 1;
                        tracing::warn!(user.id = %schedule.user_id, error = %bw_telemetry::chain(error.as_ref()),
                            "could not start a scheduled run; it stays due");
                        continue;
                    }
                }
                schedules::advance(c, &schedule.user_id, next_due(&schedule, now)).await?;
            }
            Ok(created)
        })
        .await?;
    for run in created {
        let message = RunMessage::new(run.id, &run.user_id, database);
        let trace = Uuid::new_v4().simple().to_string();
        match queue.send(runs_url, Outgoing::run(&message, Some(&trace))).await {
            Ok(_) => {
                tracing::info!(run.id = %run.id, user.id = %run.user_id, "scheduled run queued");
                report.started.push(run.id);
            }
            Err(error) => {
                tracing::error!(run.id = %run.id, error = %bw_telemetry::chain(error.as_ref()),
                    "could not enqueue a scheduled run; marking it failed");
                let reason = "the scheduled run could not be queued; the schedule's next due time starts another";
                // Not failed either: it stays pending, and the stale-run sweep sends its message later.
                if let Err(error) = runs::fail_unleased(&mut conn, &run.user_id, run.id, reason).await {
                    tracing::warn!(run.id = %run.id, error = %bw_telemetry::chain(error.as_ref()),
                        "could not mark the unqueued scheduled run failed; the stale-run sweep will send it");
                }
                report.not_queued += 1;
            }
        }
    }
    Ok(report)
}

/// The schedule's next due time after `now`. A stored schedule that no longer reads (or a cron expression that
/// never comes due again) is looked at again in a day, and said so.
fn next_due(row: &ScheduleRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let schedule = Schedule::from_parts(row.every_hours.map(i64::from), row.cron.as_deref(), Some(&row.time_zone));
    match schedule.map(|s| s.next_after(row.next_due_at, now)) {
        Ok(Some(next)) => next,
        Ok(None) => {
            tracing::warn!(user.id = %row.user_id, "the schedule never comes due again; looking again in a day");
            now + Duration::days(1)
        }
        Err(error) => {
            tracing::warn!(user.id = %row.user_id, error = %bw_telemetry::chain(&error),
                "the stored schedule does not read; looking again in a day");
            now + Duration::days(1)
        }
    }
}
