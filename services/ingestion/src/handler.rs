//! The SQS record handler: parse the body, pick the database, drive the run, and decide retry versus DLQ in one
//! place: every failure is reported (SQS redelivers it on the consumer's backoff, then moves it to the DLQ); on the
//! last delivery a run that keeps failing is marked `failed` with the reason so it does not stay active forever,
//! and a message that finds the run held by another worker is acknowledged, the run left to that worker.

use bw_db::{PgPool, pool, runs};
use bw_extract::BoardSource;
use bw_messages::{Database, RunMessage, parse_run_message};
use bw_queue::batch::receive_count;
use bw_queue::{Failure, Invocation, Outgoing, Queue as _, RecordHandler, SqsMessage, SqsQueue};
use uuid::Uuid;

use crate::config::Settings;
use crate::pipeline::{Outcome, execute};
use crate::run::RunCtx;

/// The ingestion service's handler; built once in `main` and shared by every invocation.
pub struct Ingestion<S> {
    pub primary: PgPool,
    /// The pool for `database: test` messages (`TEST_DATABASE_URL`); absent when not configured.
    pub test: Option<PgPool>,
    pub boards: S,
    pub settings: Settings,
    /// Where a run that yields before its invocation's deadline sends its continuation message (the `runs` queue).
    /// Without it, a yielded run waits for SQS to redeliver its message.
    pub continuation: Option<Continuation>,
}

/// The queue a yielded run continues through.
#[derive(Clone, Debug)]
pub struct Continuation {
    pub queue: SqsQueue,
    pub queue_url: String,
}

impl<S: BoardSource> Ingestion<S> {
    fn pool_for(&self, database: Database) -> Result<&PgPool, Failure> {
        match database {
            Database::Primary => Ok(&self.primary),
            Database::Test => self.test.as_ref().ok_or_else(|| {
                Failure::Permanent(anyhow::anyhow!(
                    "message asks for the test database but TEST_DATABASE_URL is not set"
                ))
            }),
        }
    }

    /// Handles one run message (already parsed), with no deadline.
    pub async fn handle_run(&self, message: &RunMessage, deliveries: u32) -> Result<Outcome, Failure> {
        self.handle_run_until(message, deliveries, None).await
    }

    /// Handles one run message, stopping at a boundary once `yield_at` has passed and continuing through a new
    /// message.
    pub async fn handle_run_until(
        &self,
        message: &RunMessage,
        deliveries: u32,
        yield_at: Option<std::time::Instant>,
    ) -> Result<Outcome, Failure> {
        let pool = self.pool_for(message.database)?;
        let ctx = RunCtx {
            pool,
            boards: &self.boards,
            settings: &self.settings,
            run_id: message.run_id,
            user_id: &message.user_id,
            owner: Uuid::new_v4(),
            yield_at,
        };
        let result = execute(&ctx).await;
        if let Ok(Outcome::Yielded) = result {
            self.continue_run(message).await?;
        }
        let Err(failure) = &result else { return result };
        let last = deliveries >= self.settings.max_receive_count;
        match failure {
            // Busy deliveries come back within seconds; a duplicate must not reach the DLQ while the holder works.
            Failure::Busy(_) if last => {
                tracing::info!(error = %failure, "another worker holds the run on this message's last delivery; \
                    leaving the run to it and acknowledging the message");
                return Ok(Outcome::LeftToHolder);
            }
            Failure::Busy(_) => {}
            // Give the run up when its message will not be delivered again (or can never succeed).
            _ if last || !failure.retryable() => fail_run(pool, &message.user_id, message.run_id, failure).await,
            _ => {}
        }
        result
    }
}

impl<S: BoardSource> Ingestion<S> {
    /// Handles one parsed record in the run's span: every line logged while handling it carries the run, its user,
    /// its database and the trace id the message brought.
    #[tracing::instrument(name = "run", skip_all, fields(run.id = %message.run_id, user.id = %message.user_id,
        database = message.database.as_str(), trace.id = trace_id))]
    async fn handle_record(
        &self,
        message: &RunMessage,
        trace_id: &str,
        deliveries: u32,
        yield_at: Option<std::time::Instant>,
    ) -> Result<(), Failure> {
        let outcome = self.handle_run_until(message, deliveries, yield_at).await?;
        tracing::info!(outcome = ?outcome, "run message handled");
        Ok(())
    }
}

impl<S> Ingestion<S> {
    /// Sends the run's message again so a new invocation continues it from its checkpoints.
    async fn continue_run(&self, message: &RunMessage) -> Result<(), Failure> {
        let Some(continuation) = &self.continuation else {
            return Err(Failure::Transient(anyhow::anyhow!("yielded before the deadline; SQS will redeliver the run")));
        };
        let outgoing = Outgoing::run(message, None);
        continuation.queue.send(&continuation.queue_url, outgoing).await.map_err(Failure::Transient)?;
        tracing::info!("run yielded before the invocation deadline; continuation message sent");
        Ok(())
    }
}

/// Marks the run failed with the reason, best effort (the message is on its way to the DLQ either way).
async fn fail_run(pool: &PgPool, user_id: &str, run_id: Uuid, failure: &Failure) {
    let reason = format!("{failure}");
    match pool::conn(pool).await {
        Ok(mut conn) => match runs::fail_unleased(&mut conn, user_id, run_id, &reason).await {
            Ok(true) => tracing::error!(error = %reason, "run failed; its message goes to the DLQ"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %bw_telemetry::chain(e.as_ref()), "could not mark the run failed"),
        },
        Err(e) => tracing::error!(error = %bw_telemetry::chain(e.as_ref()), "could not mark the run failed"),
    }
}

impl<S: BoardSource> RecordHandler for Ingestion<S> {
    async fn handle(&self, record: &SqsMessage, invocation: &Invocation) -> Result<(), Failure> {
        let body = record.body.as_deref().unwrap_or_default();
        let message = parse_run_message(body).map_err(|e| Failure::Permanent(e.into()))?;
        let trace_id =
            record.message_attributes.get(bw_messages::attributes::TRACE_ID).and_then(|a| a.string_value.as_deref());
        let yield_at = invocation.deadline_less(self.settings.yield_margin);
        self.handle_record(&message, trace_id.unwrap_or(""), receive_count(record), yield_at).await
    }

    async fn on_failure(&self, record: &SqsMessage, failure: &Failure) {
        bw_maintenance::failures::record(&self.primary, record, failure).await;
    }
}
