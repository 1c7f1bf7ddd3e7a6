//! Per-invocation statistics, logged and emitted as CloudWatch embedded metrics (EMF).

use std::time::Duration;

use serde::Serialize;

use crate::item::Step;

/// What one worker invocation (or one dispatch) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub jobs_polled: u64,
    pub items_polled: u64,
    pub items_updated: u64,
    pub jobs_resolved: u64,
    pub errors: u64,
    /// Items left as they were because of the deadline or a rate limit.
    pub items_waiting: u64,
    /// The longest wait OpenAI asked for in this invocation (the job's next poll comes no sooner).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

const METRICS: [&str; 6] = ["jobs_polled", "items_polled", "items_updated", "jobs_resolved", "errors", "items_waiting"];

impl Stats {
    /// Counts what happened to items in this invocation; an item that could not be advanced is logged (it stays
    /// open for the next poll).
    pub(crate) fn tally(&mut self, steps: impl IntoIterator<Item = Step>) {
        for step in steps {
            match step {
                Step::Ended => self.items_updated += 1,
                Step::Error(reason) => {
                    self.errors += 1;
                    tracing::warn!(error = %reason, "item not advanced; it stays open for the next poll");
                }
                Step::Waiting(asked) => {
                    self.items_waiting += 1;
                    self.retry_after = self.retry_after.max(asked);
                }
                Step::Submitted | Step::Running => {}
            }
        }
    }

    pub fn add(&mut self, other: Stats) {
        self.jobs_polled += other.jobs_polled;
        self.items_polled += other.items_polled;
        self.items_updated += other.items_updated;
        self.jobs_resolved += other.jobs_resolved;
        self.errors += other.errors;
        self.items_waiting += other.items_waiting;
        self.retry_after = self.retry_after.max(other.retry_after);
    }

    /// One EMF document: CloudWatch turns these fields into metrics of namespace `boardwatch/poller`.
    pub fn emf(&self, function: &str) -> serde_json::Value {
        serde_json::json!({
            "_aws": {
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": "boardwatch/poller",
                    "Dimensions": [["function"]],
                    "Metrics": METRICS.iter().map(|n| serde_json::json!({ "Name": n, "Unit": "Count" })).collect::<Vec<_>>(),
                }],
            },
            "function": function,
            "jobs_polled": self.jobs_polled,
            "items_polled": self.items_polled,
            "items_updated": self.items_updated,
            "jobs_resolved": self.jobs_resolved,
            "errors": self.errors,
            "items_waiting": self.items_waiting,
        })
    }

    /// Logs the stats and prints the EMF line on stdout (where Lambda's log agent picks it up).
    pub fn report(&self, function: &str) {
        tracing::info!(
            jobs_polled = self.jobs_polled,
            items_polled = self.items_polled,
            items_updated = self.items_updated,
            jobs_resolved = self.jobs_resolved,
            errors = self.errors,
            items_waiting = self.items_waiting,
            "{function} stats"
        );
        println!("{}", self.emf(function));
    }
}
