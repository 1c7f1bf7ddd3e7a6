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
    /// Tokens the items that ended used, as OpenAI reported them.
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// Their estimated cost, in millionths of a US dollar (items whose model has no price left out).
    pub cost_micro_usd: u64,
    /// Batch mode: lines of batches' output and error files applied, and the time spent streaming and applying them.
    pub batch_lines_applied: u64,
    pub batch_apply_ms: u64,
    /// The longest wait OpenAI asked for in this invocation (the job's next poll comes no sooner).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// More items were ready to read than this invocation took (pushed or overdue): the job comes back soon.
    #[serde(skip)]
    pub backlog: bool,
}

const METRICS: [&str; 6] = ["jobs_polled", "items_polled", "items_updated", "jobs_resolved", "errors", "items_waiting"];
/// Token metrics, unit `Count`.
const TOKEN_METRICS: [&str; 4] = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"];

impl Stats {
    /// Counts what happened to items in this invocation; an item that could not be advanced is logged (it stays
    /// open for the next poll).
    pub(crate) fn tally(&mut self, steps: impl IntoIterator<Item = Step>) {
        for step in steps {
            match step {
                Step::Ended(usage) => {
                    self.items_updated += 1;
                    if let Some(u) = usage {
                        let n = |v: i32| u64::try_from(v).unwrap_or(0);
                        self.input_tokens += n(u.input_tokens);
                        self.cached_input_tokens += n(u.cached_input_tokens);
                        self.output_tokens += n(u.output_tokens);
                        self.reasoning_tokens += n(u.reasoning_tokens);
                        // Rounded to the micro-dollar: a few tokens of a cheap model cost less than one.
                        self.cost_micro_usd += u.cost_usd.map_or(0, |c| (c * 1e6).round() as u64);
                    }
                }
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
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.cost_micro_usd += other.cost_micro_usd;
        self.batch_lines_applied += other.batch_lines_applied;
        self.batch_apply_ms += other.batch_apply_ms;
        self.retry_after = self.retry_after.max(other.retry_after);
        self.backlog |= other.backlog;
    }

    /// One EMF document: CloudWatch turns these fields into metrics of namespace `boardwatch/poller`.
    pub fn emf(&self, function: &str) -> serde_json::Value {
        serde_json::json!({
            "_aws": {
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": "boardwatch/poller",
                    "Dimensions": [["function"]],
                    "Metrics": METRICS.iter().chain(&TOKEN_METRICS)
                        .map(|n| serde_json::json!({ "Name": n, "Unit": "Count" }))
                        .chain([
                            serde_json::json!({ "Name": "estimated_cost_usd", "Unit": "None" }),
                            serde_json::json!({ "Name": "batch_lines_applied", "Unit": "Count" }),
                            serde_json::json!({ "Name": "batch_apply_ms", "Unit": "Milliseconds" }),
                        ])
                        .collect::<Vec<_>>(),
                }],
            },
            "function": function,
            "jobs_polled": self.jobs_polled,
            "items_polled": self.items_polled,
            "items_updated": self.items_updated,
            "jobs_resolved": self.jobs_resolved,
            "errors": self.errors,
            "items_waiting": self.items_waiting,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "estimated_cost_usd": self.cost_micro_usd as f64 / 1e6,
            "batch_lines_applied": self.batch_lines_applied,
            "batch_apply_ms": self.batch_apply_ms,
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
            input_tokens = self.input_tokens,
            output_tokens = self.output_tokens,
            estimated_cost_usd = self.cost_micro_usd as f64 / 1e6,
            "{function} stats"
        );
        println!("{}", self.emf(function));
    }
}
