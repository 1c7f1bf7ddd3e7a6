//! When a failed record is delivered again. Left to SQS, it comes back when the queue's visibility timeout ends
//! (90 minutes on `runs`) and reaches the DLQ on its fifth receive, hours later. Instead the consumer sets each failed
//! record's visibility itself, from why it failed and how often it was delivered:
//!
//! - [`Kind::Permanent`]: at once (visibility 0), so its next receives fail fast too and the queue's own redrive
//!   policy moves it to the DLQ within seconds, keeping its source queue for a later redrive;
//! - [`Kind::Transient`]: after an exponential backoff with jitter (about 10 s, 40 s, 2.7 min, 11 min, …), so a blip
//!   is retried in seconds and a lasting outage does not burn every delivery at once;
//! - [`Kind::Busy`]: after a short delay, by which time the worker holding the work has moved on.
//!
//! No delay is longer than the queue's visibility timeout: backing off never waits longer than SQS would have.

use std::time::Duration;

use crate::batch::Kind;
use crate::client::Queue;
use crate::definitions::QueueDef;

/// A failed record to hand back to SQS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    pub message_id: String,
    pub receipt_handle: String,
    pub kind: Kind,
    /// Its `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
}

/// Where a consumer hands its failed records back, and on what schedule.
#[derive(Clone, Debug)]
pub struct Redelivery<Q> {
    pub queue: Q,
    pub queue_url: String,
    pub backoff: Backoff,
}

impl<Q: Queue> Redelivery<Q> {
    /// [`Backoff::apply`] on this queue.
    pub async fn apply(&self, retries: &[Retry]) {
        self.backoff.apply(&self.queue, &self.queue_url, retries).await;
    }
}

/// The retry schedule of one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first transient retry's delay; each later one is [`FACTOR`] times the one before.
    pub first: Duration,
    /// A busy record's delay.
    pub busy: Duration,
    /// No delay is longer: the queue's visibility timeout.
    pub cap: Duration,
}

/// Growth of the transient delay per delivery.
pub const FACTOR: u32 = 4;
/// Jitter: a delay is drawn uniformly within this fraction either side of its nominal value.
pub const JITTER: f64 = 0.25;

impl Backoff {
    /// The schedule for a queue whose visibility timeout is `visibility`.
    pub fn within(visibility: Duration) -> Self {
        Self {
            first: Duration::from_secs(10).min(visibility),
            busy: Duration::from_secs(20).min(visibility),
            cap: visibility,
        }
    }

    /// The schedule for one of the system's queues.
    pub fn for_queue(def: &QueueDef) -> Self {
        Self::within(Duration::from_secs(u64::from(def.visibility_timeout_secs)))
    }

    /// The nominal delay after the `receive_count`-th delivery failed as `kind` (before jitter).
    pub fn nominal(&self, kind: Kind, receive_count: u32) -> Duration {
        let delay = match kind {
            Kind::Permanent => Duration::ZERO,
            Kind::Busy => self.busy,
            Kind::Transient => {
                let exponent = receive_count.saturating_sub(1).min(16);
                self.first.saturating_mul(FACTOR.saturating_pow(exponent))
            }
        };
        delay.min(self.cap)
    }

    /// The delay to give: the nominal one moved by up to [`JITTER`] either way by `unit` (in 0..=1), capped. Jitter
    /// spreads the retries of records that failed together (a database outage) so they do not return together.
    pub fn delay(&self, kind: Kind, receive_count: u32, unit: f64) -> Duration {
        let nominal = self.nominal(kind, receive_count);
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        nominal.mul_f64(factor).min(self.cap)
    }

    /// Sets each failed record's visibility on `queue_url`. Best effort: a record whose visibility could not be set
    /// comes back when its visibility timeout ends, as without a backoff.
    pub async fn apply<Q: Queue>(&self, queue: &Q, queue_url: &str, retries: &[Retry]) {
        let changes: Vec<(String, i32)> = retries
            .iter()
            .map(|r| {
                let secs = self.delay(r.kind, r.receive_count, rand::random::<f64>()).as_secs();
                tracing::info!(message.id = %r.message_id, kind = ?r.kind, receive_count = r.receive_count,
                    visible_in_secs = secs, "failed record will be delivered again");
                (r.receipt_handle.clone(), i32::try_from(secs).unwrap_or(i32::MAX))
            })
            .collect();
        give_back(queue, queue_url, changes, "failed records").await;
    }
}

/// Sets the visibility of received messages (`what`, for the logs), warning about those it could not set: they
/// return when their visibility timeout ends.
pub(crate) async fn give_back<Q: Queue>(queue: &Q, queue_url: &str, changes: Vec<(String, i32)>, what: &str) {
    if changes.is_empty() {
        return;
    }
    match queue.change_visibility(queue_url, changes).await {
        Ok(refused) if refused.is_empty() => {}
        Ok(refused) => tracing::warn!(
            count = refused.len(),
            "SQS refused to change the visibility of some {what}; \
            they return when their visibility timeout ends"
        ),
        Err(error) => {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not change the visibility of the {what}; \
            they return when their visibility timeout ends")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::{LLM_JOBS, RUNS};

    fn secs(d: Duration) -> u64 {
        d.as_secs()
    }

    #[test]
    fn transient_delays_grow_fourfold_up_to_the_visibility_timeout() {
        let runs = Backoff::for_queue(&RUNS);
        let nominal: Vec<u64> = (1..=6).map(|n| secs(runs.nominal(Kind::Transient, n))).collect();
        assert_eq!(nominal, [10, 40, 160, 640, 2560, u64::from(RUNS.visibility_timeout_secs)]);
        let jobs = Backoff::for_queue(&LLM_JOBS);
        assert_eq!(secs(jobs.nominal(Kind::Transient, 5)), u64::from(LLM_JOBS.visibility_timeout_secs));
        assert_eq!(secs(runs.nominal(Kind::Transient, u32::MAX)), u64::from(RUNS.visibility_timeout_secs));
    }

    #[test]
    fn permanent_is_at_once_and_busy_is_short_whatever_the_count() {
        let runs = Backoff::for_queue(&RUNS);
        for n in [1, 3, 9] {
            assert_eq!(runs.delay(Kind::Permanent, n, 1.0), Duration::ZERO);
            assert!(runs.delay(Kind::Busy, n, 1.0) <= Duration::from_secs(25), "{n}");
        }
    }

    #[test]
    fn jitter_stays_within_a_quarter_and_under_the_cap() {
        let b = Backoff::within(Duration::from_secs(100));
        assert_eq!(b.delay(Kind::Transient, 2, 0.0), Duration::from_secs(30));
        assert_eq!(b.delay(Kind::Transient, 2, 1.0), Duration::from_secs(50));
        assert_eq!(b.delay(Kind::Transient, 2, 0.5), Duration::from_secs(40));
        assert_eq!(b.delay(Kind::Transient, 3, 1.0), Duration::from_secs(100), "capped after jitter");
        assert_eq!(b.delay(Kind::Transient, 1, 7.0), Duration::from_millis(12_500), "unit clamped");
    }

    #[test]
    fn a_short_visibility_timeout_bounds_every_delay() {
        let b = Backoff::within(Duration::from_secs(2));
        assert_eq!((b.first, b.busy, b.cap), (Duration::from_secs(2), Duration::from_secs(2), Duration::from_secs(2)));
    }
}
