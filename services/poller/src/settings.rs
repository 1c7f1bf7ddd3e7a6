//! Settings of the poller, from the environment.

use std::time::Duration;

use bw_config::{ConfigError, parse_or};

/// Tunables of the worker and dispatch.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A worker's lease on a job.
    pub lease_secs: i64,
    /// OpenAI requests in flight for one job.
    pub concurrency: usize,
    /// Items submitted plus polled per invocation.
    pub max_items_per_invocation: i64,
    /// Time one invocation may spend on OpenAI calls (under the Lambda timeout).
    pub budget: Duration,
    /// Characters of a posting's description sent to the model.
    pub max_input_chars: i32,
    /// Jobs one dispatch sends at most.
    pub dispatch_limit: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease_secs: 180,
            concurrency: 20,
            max_items_per_invocation: 50,
            budget: Duration::from_secs(90),
            max_input_chars: 6_000,
            dispatch_limit: 500,
        }
    }
}

impl Settings {
    /// Reads `JOB_LEASE_SECS`, `POLL_CONCURRENCY`, `POLL_MAX_ITEMS`, `POLL_BUDGET_SECS`, `LLM_MAX_INPUT_CHARS`,
    /// `DISPATCH_LIMIT`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            lease_secs: parse_or("JOB_LEASE_SECS", d.lease_secs)?,
            concurrency: parse_or("POLL_CONCURRENCY", d.concurrency)?.max(1),
            max_items_per_invocation: parse_or("POLL_MAX_ITEMS", d.max_items_per_invocation)?.max(1),
            budget: Duration::from_secs(parse_or("POLL_BUDGET_SECS", d.budget.as_secs())?),
            max_input_chars: parse_or("LLM_MAX_INPUT_CHARS", d.max_input_chars)?,
            dispatch_limit: parse_or("DISPATCH_LIMIT", d.dispatch_limit)?,
        })
    }
}
