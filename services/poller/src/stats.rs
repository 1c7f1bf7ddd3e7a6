//! Per-invocation statistics, logged and emitted as CloudWatch embedded metrics (EMF).

use serde::Serialize;

use crate::worker::Step;

/// What one worker invocation (or one dispatch) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub jobs_polled: u64,
    pub items_polled: u64,
    pub items_updated: u64,
    pub jobs_resolved: u64,
    pub errors: u64,
}

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
    }

    /// One EMF document: CloudWatch turns these fields into metrics of namespace `boardwatch/poller`.
    pub fn emf(&self, function: &str) -> serde_json::Value {
        let names = ["jobs_polled", "items_polled", "items_updated", "jobs_resolved", "errors"];
        serde_json::json!({
            "_aws": {
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": "boardwatch/poller",
                    "Dimensions": [["function"]],
                    "Metrics": names.iter().map(|n| serde_json::json!({ "Name": n, "Unit": "Count" })).collect::<Vec<_>>(),
                }],
            },
            "function": function,
            "jobs_polled": self.jobs_polled,
            "items_polled": self.items_polled,
            "items_updated": self.items_updated,
            "jobs_resolved": self.jobs_resolved,
            "errors": self.errors,
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
            "{function} stats"
        );
        println!("{}", self.emf(function));
    }
}
