//! What the fake does: timings, outcome rates, faults and limits. Plain data, serialisable both ways, so the same
//! struct drives the library API, `POST /_fake/config` and the binary's flags.

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The longest latency the fake will add to a request.
const MAX_LATENCY_MS: u64 = 600_000;

/// A duration in milliseconds: either fixed (`200`) or drawn uniformly per object from a range
/// (`{"min_ms": 100, "max_ms": 900}`) with the fake's seeded RNG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Timing {
    Fixed(u64),
    Range { min_ms: u64, max_ms: u64 },
}

impl Timing {
    /// A fixed duration.
    pub const fn ms(ms: u64) -> Self {
        Timing::Fixed(ms)
    }

    /// Draws one duration in milliseconds.
    pub fn draw(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            Timing::Fixed(ms) => ms,
            Timing::Range { min_ms, max_ms } if min_ms < max_ms => rng.random_range(min_ms..=max_ms),
            Timing::Range { min_ms, .. } => min_ms,
        }
    }

    fn check(&self, field: &str) -> Result<(), ConfigError> {
        match *self {
            Timing::Range { min_ms, max_ms } if min_ms > max_ms => {
                Err(ConfigError::new(field, format!("min_ms ({min_ms}) is greater than max_ms ({max_ms})")))
            }
            _ => Ok(()),
        }
    }
}

/// How the default decider turns an input into `{"flag", "label", "reason"}`; deterministic for a given input.
///
/// `flag` is true when the input text contains one of `keywords` (case-insensitive; the label is then the keyword),
/// otherwise when the SHA-256 of the text falls in the lowest `hash_flag_rate` of the hash space (label
/// `hash_flag_label`). Unflagged inputs get `clear_label`. A custom rule can be set with
/// [`crate::FakeOpenAi::set_decider`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionRule {
    pub keywords: Vec<String>,
    pub hash_flag_rate: f64,
    pub hash_flag_label: String,
    pub clear_label: String,
}

impl Default for DecisionRule {
    fn default() -> Self {
        Self {
            keywords: Vec::new(),
            hash_flag_rate: 0.25,
            hash_flag_label: "match".to_owned(),
            clear_label: "no_match".to_owned(),
        }
    }
}

/// Everything the fake can be told. `Default` is a well-behaved OpenAI: responses queue, run at once and complete
/// after 200 ms, batches take a few hundred milliseconds, no faults, no rate limit, any bearer token accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FakeConfig {
    /// The only bearer token accepted; `None` accepts any non-empty token.
    pub api_key: Option<String>,
    /// Seeds every random choice (ids, timings, outcomes, shuffles, faults). Changing it reseeds.
    pub seed: u64,
    /// Time from creation until a background response shows `in_progress`.
    pub in_progress_after_ms: Timing,
    /// Time from creation until a background response reaches its terminal status (at least the above).
    pub complete_after_ms: Timing,
    /// Fraction of responses that end `failed` with `error: {code: "server_error", ...}`.
    pub failed_rate: f64,
    /// Fraction that end `incomplete` (`max_output_tokens`), their message cut short.
    pub incomplete_rate: f64,
    /// Fraction that complete with output text that is not the decision JSON (prose, missing fields, wrong types).
    pub malformed_rate: f64,
    /// Put a `reasoning` item before the message (also done when the request asks for a reasoning effort).
    pub reasoning_items: bool,
    /// The default decision rule.
    pub decision: DecisionRule,
    /// Batch: time spent `validating`.
    pub batch_validating_ms: Timing,
    /// Batch: time spent `in_progress`.
    pub batch_in_progress_ms: Timing,
    /// Batch: time spent `finalizing`.
    pub batch_finalizing_ms: Timing,
    /// Batch: time from `cancelling` to `cancelled`.
    pub batch_cancelling_ms: Timing,
    /// Fraction of batch lines never run: `batch_expired` in the error file; the batch then ends `expired`.
    pub batch_expired_rate: f64,
    /// Fraction of batch lines that fail at HTTP level (`status_code` 400) in the error file.
    pub batch_http_error_rate: f64,
    /// Most requests one batch's input file may hold (OpenAI's 50,000); a file with more fails the batch's
    /// validation.
    pub batch_max_requests: usize,
    /// Largest batch input file, in bytes (OpenAI's 200 MB); a larger one fails the batch's validation.
    pub batch_max_bytes: u64,
    /// The organisation's enqueued-token limit: a batch whose input tokens (estimated as the fake estimates usage)
    /// would take those of the batches still running past it fails validation with `token_limit_exceeded`, as
    /// OpenAI's do; `None` has no limit.
    pub batch_enqueued_token_limit: Option<u64>,
    /// Requests per minute before 429 `rate_limit_exceeded`; `None` never limits (headers report 30000).
    pub rate_limit_per_minute: Option<u32>,
    /// Most requests allowed at once (the bucket's size); the per-minute limit when unset. A small burst makes a
    /// 429 storm that clears within seconds.
    pub rate_limit_burst: Option<u32>,
    /// Tokens per minute reported in the `x-ratelimit-*-tokens` headers (reported, never enforced).
    pub tokens_per_minute: u64,
    /// Answer every API request with 429 `insufficient_quota`.
    pub quota_exhausted: bool,
    /// Fraction of API requests answered with a 5xx before reaching their handler.
    pub server_error_rate: f64,
    /// Fraction of API requests answered with 429 `rate_limit_exceeded` (with `Retry-After`) before reaching their
    /// handler, whatever the rate limit: a storm of 429s a client must wait out.
    pub rate_limited_rate: f64,
    /// The `Retry-After` of those 429s, in seconds.
    pub rate_limited_retry_after_secs: u64,
    /// The statuses injected 5xx answers use, picked uniformly.
    pub server_error_statuses: Vec<u16>,
    /// Added before every API request is handled.
    pub latency_ms: u64,
    /// Where webhook events are POSTed when a background response or a batch ends (a loopback URL: the fake sends
    /// nothing elsewhere); `None` sends none.
    pub webhook_url: Option<String>,
    /// The `whsec_` secret events are signed with (required with `webhook_url`).
    pub webhook_secret: Option<String>,
    /// Fraction of events never sent.
    pub webhook_loss_rate: f64,
    /// Fraction of events sent twice (the same `webhook-id`, as a redelivery).
    pub webhook_duplicate_rate: f64,
    /// Wait before each delivery, drawn per delivery: a range reorders events.
    pub webhook_delay_ms: Timing,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            seed: 1,
            in_progress_after_ms: Timing::ms(0),
            complete_after_ms: Timing::ms(200),
            failed_rate: 0.0,
            incomplete_rate: 0.0,
            malformed_rate: 0.0,
            reasoning_items: false,
            decision: DecisionRule::default(),
            batch_validating_ms: Timing::ms(50),
            batch_in_progress_ms: Timing::ms(200),
            batch_finalizing_ms: Timing::ms(50),
            batch_cancelling_ms: Timing::ms(100),
            batch_expired_rate: 0.0,
            batch_http_error_rate: 0.0,
            batch_max_requests: 50_000,
            batch_max_bytes: 200_000_000,
            batch_enqueued_token_limit: None,
            rate_limit_per_minute: None,
            rate_limit_burst: None,
            tokens_per_minute: 150_000_000,
            quota_exhausted: false,
            server_error_rate: 0.0,
            rate_limited_rate: 0.0,
            rate_limited_retry_after_secs: 1,
            server_error_statuses: vec![500, 502, 503],
            latency_ms: 0,
            webhook_url: None,
            webhook_secret: None,
            webhook_loss_rate: 0.0,
            webhook_duplicate_rate: 0.0,
            webhook_delay_ms: Timing::ms(0),
        }
    }
}

/// A setting the fake refuses, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid '{}': {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl FakeConfig {
    /// Checks ranges and consistency; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rates = [
            ("failed_rate", self.failed_rate),
            ("incomplete_rate", self.incomplete_rate),
            ("malformed_rate", self.malformed_rate),
            ("batch_expired_rate", self.batch_expired_rate),
            ("batch_http_error_rate", self.batch_http_error_rate),
            ("server_error_rate", self.server_error_rate),
            ("rate_limited_rate", self.rate_limited_rate),
            ("decision.hash_flag_rate", self.decision.hash_flag_rate),
            ("webhook_loss_rate", self.webhook_loss_rate),
            ("webhook_duplicate_rate", self.webhook_duplicate_rate),
        ];
        for (field, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::new(field, format!("must be between 0 and 1, got {rate}")));
            }
        }
        if self.failed_rate + self.incomplete_rate + self.malformed_rate > 1.0 {
            return Err(ConfigError::new("malformed_rate", "failed_rate + incomplete_rate + malformed_rate exceed 1"));
        }
        if self.batch_expired_rate + self.batch_http_error_rate > 1.0 {
            return Err(ConfigError::new(
                "batch_http_error_rate",
                "batch_expired_rate + batch_http_error_rate exceed 1",
            ));
        }
        self.in_progress_after_ms.check("in_progress_after_ms")?;
        self.complete_after_ms.check("complete_after_ms")?;
        self.batch_validating_ms.check("batch_validating_ms")?;
        self.batch_in_progress_ms.check("batch_in_progress_ms")?;
        self.batch_finalizing_ms.check("batch_finalizing_ms")?;
        self.batch_cancelling_ms.check("batch_cancelling_ms")?;
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(ConfigError::new("latency_ms", format!("must be at most {MAX_LATENCY_MS} (10 minutes)")));
        }
        if self.rate_limit_per_minute == Some(0) {
            return Err(ConfigError::new("rate_limit_per_minute", "must be at least 1 (use null to turn it off)"));
        }
        if self.tokens_per_minute == 0 {
            return Err(ConfigError::new("tokens_per_minute", "must be at least 1"));
        }
        if self.server_error_statuses.is_empty() {
            return Err(ConfigError::new("server_error_statuses", "must list at least one status"));
        }
        if let Some(bad) = self.server_error_statuses.iter().find(|s| !(500..=599).contains(*s)) {
            return Err(ConfigError::new("server_error_statuses", format!("{bad} is not a 5xx status")));
        }
        self.webhook_delay_ms.check("webhook_delay_ms")?;
        if let Some(url) = &self.webhook_url {
            let host = url::Url::parse(url)
                .map_err(|e| ConfigError::new("webhook_url", format!("{url:?} is not a URL: {e}")))?
                .host_str()
                .map(str::to_owned)
                .unwrap_or_default();
            if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
                return Err(ConfigError::new("webhook_url", format!("{url:?}: only loopback addresses are sent to")));
            }
            let Some(secret) = &self.webhook_secret else {
                return Err(ConfigError::new("webhook_secret", "is required with webhook_url"));
            };
            bw_webhooks::Secret::parse(secret).map_err(|e| ConfigError::new("webhook_secret", e.to_string()))?;
        }
        if self.api_key.as_deref() == Some("") {
            return Err(ConfigError::new("api_key", "must not be empty (use null to accept any token)"));
        }
        Ok(())
    }

    /// Where and with what secret webhook events go, when they do (a config that validated).
    pub(crate) fn webhook_target(&self) -> Option<(String, bw_webhooks::Secret)> {
        let secret = bw_webhooks::Secret::parse(self.webhook_secret.as_deref()?).ok()?;
        Some((self.webhook_url.clone()?, secret))
    }

    /// Applies a partial JSON object on top of `self` (top-level keys replace whole values) and validates the
    /// result. Each key is tried on its own, so a type error names its field.
    pub fn patched(&self, patch: &Value) -> Result<FakeConfig, ConfigError> {
        let Value::Object(patch) = patch else {
            return Err(ConfigError::new("body", "expected a JSON object of settings"));
        };
        let mut current = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, value) in patch {
            if !current.contains_key(key) {
                return Err(ConfigError::new(key, "unknown setting"));
            }
            let mut candidate = current.clone();
            candidate.insert(key.clone(), value.clone());
            if let Err(error) = serde_json::from_value::<FakeConfig>(Value::Object(candidate.clone())) {
                return Err(ConfigError::new(key, error.to_string()));
            }
            current = candidate;
        }
        let config: FakeConfig =
            serde_json::from_value(Value::Object(current)).map_err(|e| ConfigError::new("body", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let config = FakeConfig::default();
        config.validate()?;
        let back: FakeConfig = serde_json::from_value(serde_json::to_value(&config)?)?;
        assert_eq!(back, config);
        Ok(())
    }

    #[test]
    fn patch_names_the_bad_field() {
        let base = FakeConfig::default();
        let error = base.patched(&serde_json::json!({"latency_ms": 5, "failed_rate": "lots"})).err();
        assert_eq!(error.map(|e| e.field), Some("failed_rate".to_owned()));
        let error = base.patched(&serde_json::json!({"failed_rate": 1.5})).err();
        assert_eq!(error.map(|e| e.field), Some("failed_rate".to_owned()));
        let error = base.patched(&serde_json::json!({"nope": 1})).err();
        assert_eq!(error.map(|e| e.field), Some("nope".to_owned()));
        let error = base.patched(&serde_json::json!({"complete_after_ms": {"min_ms": 9, "max_ms": 1}})).err();
        assert_eq!(error.map(|e| e.field), Some("complete_after_ms".to_owned()));
    }

    #[test]
    fn webhooks_go_to_loopback_only_and_need_a_usable_secret() {
        let base = FakeConfig::default();
        let field = |patch: serde_json::Value| base.patched(&patch).err().map(|e| e.field);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(
            field(serde_json::json!({"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": secret})),
            None
        );
        assert_eq!(
            field(serde_json::json!({"webhook_url": "https://example.com/hook", "webhook_secret": secret})),
            Some("webhook_url".to_owned())
        );
        assert_eq!(
            field(serde_json::json!({"webhook_url": "http://127.0.0.1:9/hook"})),
            Some("webhook_secret".to_owned())
        );
        assert_eq!(
            field(serde_json::json!({"webhook_url": "http://localhost/h", "webhook_secret": "whsec_***"})),
            Some("webhook_secret".to_owned())
        );
        assert_eq!(field(serde_json::json!({"webhook_loss_rate": 1.2})), Some("webhook_loss_rate".to_owned()));
    }

    #[test]
    fn patch_accepts_ranges_and_keeps_other_fields() -> Result<(), ConfigError> {
        let base = FakeConfig { latency_ms: 7, ..FakeConfig::default() };
        let patched = base.patched(&serde_json::json!({"complete_after_ms": {"min_ms": 10, "max_ms": 20}}))?;
        assert_eq!(patched.complete_after_ms, Timing::Range { min_ms: 10, max_ms: 20 });
        assert_eq!(patched.latency_ms, 7);
        Ok(())
    }
}
