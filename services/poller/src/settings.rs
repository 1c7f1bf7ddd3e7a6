//! Settings of the poller, from the environment.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bw_config::ConfigError;

/// Tunables of the worker and dispatch.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A worker's lease on a job, renewed every third of it while the worker works: how long a job held by a
    /// worker that died waits before it is dispatched again.
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
    /// The caps that give up on an item, so that every job resolves.
    pub caps: Caps,
    /// How often the local dispatch runs (in AWS, the schedule's once a minute).
    pub dispatch_every: Duration,
    /// Which active runs the dispatch sends again.
    pub staleness: bw_maintenance::stale_runs::Staleness,
    /// Connections in the database pool.
    pub pool_size: usize,
    /// How the worker learns that items ended: polling alone, or OpenAI's webhooks with polling as the net.
    pub cadence: crate::delay::Cadence,
    /// What tokens cost, by model, for each item's estimated cost.
    pub prices: bw_openai::PriceTable,
    /// What one batch of a batch-mode job may carry (a job is split into as many as it needs).
    pub batch_limits: crate::batch_file::BatchLimits,
}

/// When the worker gives up on an item and ends it `failed` (see [`crate::caps`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Tries an item may fail (its submission counts as one try too); at least 1.
    pub max_attempts: i32,
    /// How long after its job was created an item may go without an answer (background mode, and batch mode
    /// before the batch is submitted); at least one second.
    pub max_age: Duration,
    /// How long past its batch's completion window (OpenAI's `expires_at`) a batch-mode item may go without an
    /// answer.
    pub batch_grace: Duration,
}

impl Default for Caps {
    fn default() -> Self {
        Self { max_attempts: 10, max_age: Duration::from_secs(24 * 3600), batch_grace: Duration::from_secs(3600) }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease_secs: 30,
            concurrency: 20,
            max_items_per_invocation: 50,
            budget: Duration::from_secs(90),
            max_input_chars: 6_000,
            dispatch_limit: 500,
            caps: Caps::default(),
            dispatch_every: Duration::from_secs(10),
            staleness: bw_maintenance::stale_runs::Staleness::default(),
            pool_size: 8,
            cadence: crate::delay::Cadence::Polling,
            prices: bw_openai::PriceTable::default(),
            batch_limits: crate::batch_file::BatchLimits::OPENAI,
        }
    }
}

impl Settings {
    /// Reads `JOB_LEASE_SECS`, `POLL_CONCURRENCY`, `POLL_MAX_ITEMS`, `POLL_BUDGET_SECS`, `LLM_MAX_INPUT_CHARS`,
    /// `DISPATCH_LIMIT`, `LLM_ITEM_MAX_ATTEMPTS`, `LLM_ITEM_MAX_AGE_SECS`, `LLM_BATCH_GRACE_SECS`,
    /// `DISPATCH_EVERY_SECS`, `DATABASE_POOL_SIZE`, `OPENAI_WEBHOOKS` (`on`: OpenAI's webhooks reach the API, so
    /// polling is the net) with `LLM_WEBHOOK_NET_SECS` (how long an item may go without its event before it is
    /// polled, 60), `LLM_PRICES` and `LLM_BATCH_DISCOUNT` (the price table), `LLM_BATCH_MAX_REQUESTS` and
    /// `LLM_BATCH_MAX_BYTES` (one batch's share of a job, at most OpenAI's limits), and the stale-run settings
    /// (`STALE_RUN_SECS`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            staleness: bw_maintenance::stale_runs::Staleness::from_env()?,
            ..Self::from_lookup(bw_config::optional)?
        })
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (`None` for unset or empty).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let env = Env(&lookup);
        Ok(Self {
            lease_secs: env.parse("JOB_LEASE_SECS", d.lease_secs)?,
            concurrency: env.parse("POLL_CONCURRENCY", d.concurrency)?.max(1),
            max_items_per_invocation: env.parse("POLL_MAX_ITEMS", d.max_items_per_invocation)?.max(1),
            budget: Duration::from_secs(env.parse("POLL_BUDGET_SECS", d.budget.as_secs())?),
            max_input_chars: env.parse("LLM_MAX_INPUT_CHARS", d.max_input_chars)?,
            dispatch_limit: env.parse("DISPATCH_LIMIT", d.dispatch_limit)?,
            caps: Caps::from_env(&env)?,
            dispatch_every: Duration::from_secs(env.parse("DISPATCH_EVERY_SECS", d.dispatch_every.as_secs())?.max(1)),
            staleness: d.staleness,
            pool_size: env.parse("DATABASE_POOL_SIZE", d.pool_size)?.max(1),
            cadence: cadence(&env)?,
            prices: prices(&env)?,
            batch_limits: batch_limits(&env)?,
        })
    }
}

/// `LLM_BATCH_MAX_REQUESTS` and `LLM_BATCH_MAX_BYTES`: from 1 up to OpenAI's limits, which are the defaults.
fn batch_limits(env: &Env<'_>) -> Result<crate::batch_file::BatchLimits, ConfigError> {
    let openai = crate::batch_file::BatchLimits::OPENAI;
    let max_requests = env.parse("LLM_BATCH_MAX_REQUESTS", openai.max_requests)?;
    let max_bytes = env.parse("LLM_BATCH_MAX_BYTES", openai.max_bytes)?;
    if !(1..=openai.max_requests).contains(&max_requests) {
        let reason = format!("{max_requests}: must be from 1 to {} (OpenAI's limit)", openai.max_requests);
        return Err(invalid("LLM_BATCH_MAX_REQUESTS", reason));
    }
    if !(1..=openai.max_bytes).contains(&max_bytes) {
        let reason = format!("{max_bytes}: must be from 1 to {} (OpenAI's 200 MB)", openai.max_bytes);
        return Err(invalid("LLM_BATCH_MAX_BYTES", reason));
    }
    Ok(crate::batch_file::BatchLimits { max_requests, max_bytes })
}

/// `OPENAI_WEBHOOKS` (`on` or `off`, the default) and `LLM_WEBHOOK_NET_SECS`.
fn cadence(env: &Env<'_>) -> Result<crate::delay::Cadence, ConfigError> {
    let on = match (env.0)("OPENAI_WEBHOOKS").as_deref().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("off" | "false" | "0") => false,
        Some("on" | "true" | "1") => true,
        Some(other) => return Err(invalid("OPENAI_WEBHOOKS", format!("{other:?}: must be on or off"))),
    };
    let net = env.parse("LLM_WEBHOOK_NET_SECS", DEFAULT_WEBHOOK_NET_SECS)?;
    if net < 1 {
        return Err(invalid("LLM_WEBHOOK_NET_SECS", "0: must be at least 1 (second)".to_owned()));
    }
    Ok(if on {
        crate::delay::Cadence::Webhooks { net: Duration::from_secs(net) }
    } else {
        crate::delay::Cadence::Polling
    })
}

/// `LLM_PRICES` (JSON, laid over the defaults) and `LLM_BATCH_DISCOUNT` (0.5).
fn prices(env: &Env<'_>) -> Result<bw_openai::PriceTable, ConfigError> {
    let discount = env.parse("LLM_BATCH_DISCOUNT", bw_openai::prices::BATCH_DISCOUNT)?;
    let json = (env.0)("LLM_PRICES");
    bw_openai::PriceTable::with(json.as_deref(), discount).map_err(|e| {
        let name = if matches!(e, bw_openai::PriceError::Discount(_)) { "LLM_BATCH_DISCOUNT" } else { "LLM_PRICES" };
        invalid(name, e.to_string())
    })
}

/// With webhooks on, how long a submitted item may go without its event before the worker polls it.
pub const DEFAULT_WEBHOOK_NET_SECS: u64 = 60;

impl Caps {
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let max_attempts = env.parse("LLM_ITEM_MAX_ATTEMPTS", d.max_attempts)?;
        if max_attempts < 1 {
            return Err(invalid("LLM_ITEM_MAX_ATTEMPTS", format!("{max_attempts}: must be at least 1")));
        }
        let max_age = env.parse("LLM_ITEM_MAX_AGE_SECS", d.max_age.as_secs())?;
        if max_age < 1 {
            return Err(invalid("LLM_ITEM_MAX_AGE_SECS", "0: must be at least 1 (second)".to_owned()));
        }
        let batch_grace = env.parse("LLM_BATCH_GRACE_SECS", d.batch_grace.as_secs())?;
        // A bound that keeps the arithmetic on timestamps far from overflowing (ten years).
        for (name, secs) in [("LLM_ITEM_MAX_AGE_SECS", max_age), ("LLM_BATCH_GRACE_SECS", batch_grace)] {
            if secs > MAX_CAP_SECS {
                return Err(invalid(name, format!("{secs}: must be at most {MAX_CAP_SECS} (ten years)")));
            }
        }
        Ok(Self { max_attempts, max_age: Duration::from_secs(max_age), batch_grace: Duration::from_secs(batch_grace) })
    }
}

/// The longest age cap or grace accepted: ten years.
const MAX_CAP_SECS: u64 = 10 * 365 * 24 * 3600;

fn invalid(name: &str, reason: String) -> ConfigError {
    ConfigError::Invalid { name: name.to_owned(), reason }
}

/// Variables read through a lookup.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// `name` parsed as `T`, or `default` when unset ([`bw_config::parse_with`]).
    fn parse<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        bw_config::parse_with(self.0, name, default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    fn error_of(vars: &[(&str, &str)]) -> String {
        with(vars).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn the_caps_default_to_ten_attempts_a_day_and_an_hour_past_a_batch_window() -> Result<(), ConfigError> {
        let caps = with(&[])?.caps;
        assert_eq!(caps.max_attempts, 10);
        assert_eq!(caps.max_age, Duration::from_secs(86_400));
        assert_eq!(caps.batch_grace, Duration::from_secs(3_600));
        Ok(())
    }

    #[test]
    fn the_caps_are_read_from_the_environment() -> Result<(), ConfigError> {
        let caps =
            with(&[("LLM_ITEM_MAX_ATTEMPTS", "3"), ("LLM_ITEM_MAX_AGE_SECS", " 600 "), ("LLM_BATCH_GRACE_SECS", "0")])?
                .caps;
        assert_eq!(caps, Caps { max_attempts: 3, max_age: Duration::from_secs(600), batch_grace: Duration::ZERO });
        Ok(())
    }

    #[test]
    fn webhooks_are_off_unless_turned_on_and_their_net_is_read() -> Result<(), ConfigError> {
        use crate::delay::Cadence;
        assert_eq!(with(&[])?.cadence, Cadence::Polling);
        assert_eq!(with(&[("OPENAI_WEBHOOKS", "off"), ("LLM_WEBHOOK_NET_SECS", "5")])?.cadence, Cadence::Polling);
        assert_eq!(with(&[("OPENAI_WEBHOOKS", " On ")])?.cadence, Cadence::Webhooks { net: Duration::from_secs(60) });
        assert_eq!(
            with(&[("OPENAI_WEBHOOKS", "on"), ("LLM_WEBHOOK_NET_SECS", "15")])?.cadence,
            Cadence::Webhooks { net: Duration::from_secs(15) }
        );
        for (vars, says) in [
            (&[("OPENAI_WEBHOOKS", "yes please")][..], "OPENAI_WEBHOOKS"),
            (&[("OPENAI_WEBHOOKS", "on"), ("LLM_WEBHOOK_NET_SECS", "0")][..], "LLM_WEBHOOK_NET_SECS"),
        ] {
            let text = error_of(vars);
            assert!(text.contains(says), "{vars:?}: {text}");
        }
        Ok(())
    }

    #[test]
    fn prices_are_laid_over_the_defaults_and_bad_ones_named() -> Result<(), ConfigError> {
        let prices = with(&[("LLM_PRICES", r#"{"my-model": {"input": 1, "output": 2}}"#)])?.prices;
        assert!(prices.price("my-model").is_some() && prices.price("gpt-4.1-nano").is_some());
        let free = with(&[("LLM_BATCH_DISCOUNT", "1")])?.prices;
        assert_eq!(free.cost_of("gpt-4.1-nano", true, 1_000, 0, 1_000), Some(0.0));
        assert!(error_of(&[("LLM_PRICES", "{nope")]).contains("LLM_PRICES"));
        assert!(error_of(&[("LLM_BATCH_DISCOUNT", "2")]).contains("LLM_BATCH_DISCOUNT"));
        Ok(())
    }

    #[test]
    fn batch_limits_default_to_openais_and_may_only_be_lower() -> Result<(), ConfigError> {
        use crate::batch_file::BatchLimits;
        assert_eq!(with(&[])?.batch_limits, BatchLimits { max_requests: 50_000, max_bytes: 200_000_000 });
        let low = with(&[("LLM_BATCH_MAX_REQUESTS", "5"), ("LLM_BATCH_MAX_BYTES", "4096")])?.batch_limits;
        assert_eq!(low, BatchLimits { max_requests: 5, max_bytes: 4_096 });
        for (name, value) in [
            ("LLM_BATCH_MAX_REQUESTS", "0"),
            ("LLM_BATCH_MAX_REQUESTS", "50001"),
            ("LLM_BATCH_MAX_BYTES", "0"),
            ("LLM_BATCH_MAX_BYTES", "200000001"),
        ] {
            let text = error_of(&[(name, value)]);
            assert!(text.contains(name) && text.contains("must be from 1"), "{name}={value}: {text}");
        }
        Ok(())
    }

    #[test]
    fn bad_caps_are_refused_naming_the_variable() {
        for (name, value, says) in [
            ("LLM_ITEM_MAX_ATTEMPTS", "0", "at least 1"),
            ("LLM_ITEM_MAX_ATTEMPTS", "-2", "at least 1"),
            ("LLM_ITEM_MAX_ATTEMPTS", "ten", "invalid digit"),
            ("LLM_ITEM_MAX_AGE_SECS", "0", "at least 1"),
            ("LLM_ITEM_MAX_AGE_SECS", "-1", "invalid digit"),
            ("LLM_ITEM_MAX_AGE_SECS", "1e9999", "invalid digit"),
            ("LLM_ITEM_MAX_AGE_SECS", "400000000", "at most"),
            ("LLM_BATCH_GRACE_SECS", "1h", "invalid digit"),
        ] {
            let text = error_of(&[(name, value)]);
            assert!(text.contains(name) && text.contains(says), "{name}={value}: {text}");
        }
    }
}
