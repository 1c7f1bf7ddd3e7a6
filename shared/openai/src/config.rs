//! Client settings, read from the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OPENAI_API_KEY` | the API key | — |
//! | `OPENAI_API_KEY_SECRET_ID` | id of a secret holding the key, read through a [`SecretSource`] when `OPENAI_API_KEY` is unset; `OPENAI_API_KEY_SECRET` is its older name, still read | — |
//! | `OPENAI_BASE_URL` | API root | `https://api.openai.com/v1` |
//! | `OPENAI_CONNECT_TIMEOUT_MS` | TCP + TLS connect timeout | 5000 |
//! | `OPENAI_REQUEST_TIMEOUT_MS` | whole-request timeout (one attempt) | 60000 |
//! | `OPENAI_MAX_RETRIES` | retries after the first attempt | 4 |
//! | `OPENAI_INITIAL_BACKOFF_MS` | jitter ceiling of the first retry | 500 |
//! | `OPENAI_MAX_BACKOFF_MS` | longest wait between attempts | 20000 |

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use bw_config::{ConfigError, Found, Secret, SecretSource, SecretVar};

use crate::retry::RetryPolicy;

/// The key: `OPENAI_API_KEY` itself, or the secret `OPENAI_API_KEY_SECRET_ID` (formerly `OPENAI_API_KEY_SECRET`)
/// names.
pub const OPENAI_API_KEY: SecretVar = SecretVar {
    var: "OPENAI_API_KEY",
    id_var: "OPENAI_API_KEY_SECRET_ID",
    hint: "the OpenAI API key",
    old_id_vars: &["OPENAI_API_KEY_SECRET"],
};

/// Everything the client needs. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// API root without a trailing slash, e.g. `https://api.openai.com/v1` or a local fake's `http://127.0.0.1:p/v1`.
    pub base_url: String,
    /// The API key, sent as a bearer token.
    pub api_key: Secret,
    /// Timeout of TCP connect and TLS handshake.
    pub connect_timeout: Duration,
    /// Timeout of one whole attempt (connect, send, receive the body). A deadline can shorten it.
    pub request_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Jitter ceiling of the first retry; doubles with each retry.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl OpenAiConfig {
    /// OpenAI's public API root.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// Default settings for the given key and the public API.
    pub fn new(api_key: Secret) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            api_key,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }

    /// Settings from the process environment (see the module docs). The key comes from [`OPENAI_API_KEY`]; with
    /// neither of its variables set the error names both.
    pub async fn from_env(secrets: &impl SecretSource) -> Result<Self, ConfigError> {
        Self::from_lookup(bw_config::optional, secrets).await
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (which returns `None` for unset or
    /// empty), so tests need not touch the process environment.
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String> + Sync,
        secrets: &impl SecretSource,
    ) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_key = match OPENAI_API_KEY.read_with(&lookup, secrets).await? {
            Found::Value(key) => key,
            Found::Stored { id_var, id, value } => key_in_secret(&id_var, &id, value.expose())?,
        };
        let defaults = Self::new(api_key);
        let millis = |name: &str, default: Duration| {
            parse(&lookup, name, u64::try_from(default.as_millis()).unwrap_or(u64::MAX)).map(Duration::from_millis)
        };
        let base_url = match lookup("OPENAI_BASE_URL") {
            Some(url) => validate_base_url(url.trim())?,
            None => defaults.base_url.clone(),
        };
        Ok(Self {
            base_url,
            connect_timeout: millis("OPENAI_CONNECT_TIMEOUT_MS", defaults.connect_timeout)?,
            request_timeout: millis("OPENAI_REQUEST_TIMEOUT_MS", defaults.request_timeout)?,
            max_retries: parse(&lookup, "OPENAI_MAX_RETRIES", defaults.max_retries)?,
            initial_backoff: millis("OPENAI_INITIAL_BACKOFF_MS", defaults.initial_backoff)?,
            max_backoff: millis("OPENAI_MAX_BACKOFF_MS", defaults.max_backoff)?,
            ..defaults
        })
    }

    /// The retry settings.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
        }
    }
}

/// The key in the secret `id` (named by `id_var`): the whole secret string, or, for a JSON key/value secret, its
/// `OPENAI_API_KEY` or `api_key` field.
fn key_in_secret(id_var: &str, id: &str, raw: &str) -> Result<Secret, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: id_var.to_owned(), reason };
    if !raw.starts_with('{') {
        return Ok(Secret::new(raw));
    }
    let json: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| invalid(format!("secret {id:?} starts with '{{' but is not JSON")))?;
    ["OPENAI_API_KEY", "api_key"]
        .iter()
        .find_map(|field| json.get(field).and_then(|v| v.as_str()).filter(|v| !v.trim().is_empty()))
        .map(|key| Secret::new(key.trim()))
        .ok_or_else(|| invalid(format!("secret {id:?} is a JSON object without an OPENAI_API_KEY or api_key string")))
}

fn parse<T>(lookup: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid { name: name.to_owned(), reason: format!("{raw:?}: {e}") }),
    }
}

fn validate_base_url(url: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "OPENAI_BASE_URL".to_owned(), reason };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("{url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        return Err(invalid(format!("{url:?} is not an http(s) URL")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bw_config::NoSecretSource;
    use std::collections::HashMap;

    struct Secrets(HashMap<&'static str, &'static str>);

    impl SecretSource for Secrets {
        type Error = String;
        async fn get(&self, name: &str) -> Result<String, String> {
            self.0.get(name).map(|v| (*v).to_owned()).ok_or_else(|| format!("no secret named {name}"))
        }
    }

    async fn load(vars: &[(&str, &str)], secrets: &impl SecretSource) -> Result<OpenAiConfig, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OpenAiConfig::from_lookup(|name| vars.get(name).cloned(), secrets).await
    }

    #[tokio::test]
    async fn key_from_the_environment_with_defaults() -> Result<(), ConfigError> {
        let config = load(&[("OPENAI_API_KEY", "sk-test")], &NoSecretSource).await?;
        assert_eq!(config.api_key.expose(), "sk-test");
        assert_eq!(config.base_url, "https://api.openai.com/v1");
        assert_eq!(config.max_retries, 4);
        assert!(!format!("{config:?}").contains("sk-test"));
        Ok(())
    }

    #[tokio::test]
    async fn missing_key_names_both_variables() {
        let err = load(&[("OPENAI_API_KEY", " ")], &NoSecretSource).await.err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("OPENAI_API_KEY is not set") && e.contains("OPENAI_API_KEY_SECRET_ID")));
    }

    #[tokio::test]
    async fn key_from_a_secret() -> Result<(), ConfigError> {
        let secrets = Secrets(HashMap::from([
            ("plain", " sk-plain\n"),
            ("kv", r#"{"OPENAI_API_KEY": "sk-kv"}"#),
            ("json", r#"{"key": "sk-kv"}"#),
        ]));
        let plain = load(&[("OPENAI_API_KEY_SECRET_ID", "plain")], &secrets).await?;
        assert_eq!(plain.api_key.expose(), "sk-plain");
        // The older name of the variable still works.
        let kv = load(&[("OPENAI_API_KEY_SECRET", "kv")], &secrets).await?;
        assert_eq!(kv.api_key.expose(), "sk-kv");
        let missing = load(&[("OPENAI_API_KEY_SECRET_ID", "nope")], &secrets).await.err().map(|e| e.to_string());
        assert!(missing.is_some_and(|e| e.contains("OPENAI_API_KEY_SECRET_ID") && e.contains("no secret named nope")));
        let bad = load(&[("OPENAI_API_KEY_SECRET_ID", "json")], &secrets).await.err().map(|e| e.to_string());
        assert!(bad.is_some_and(|e| e.contains("\"json\" is a JSON object without an OPENAI_API_KEY")));
        Ok(())
    }

    #[tokio::test]
    async fn settings_are_parsed_and_checked() -> Result<(), ConfigError> {
        let vars = [
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/"),
            ("OPENAI_MAX_RETRIES", "2"),
            ("OPENAI_REQUEST_TIMEOUT_MS", "1500"),
        ];
        let config = load(&vars, &NoSecretSource).await?;
        assert_eq!(config.base_url, "http://127.0.0.1:9999/v1");
        assert_eq!(config.max_retries, 2);
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        let bad = load(&[("OPENAI_API_KEY", "k"), ("OPENAI_MAX_RETRIES", "many")], &NoSecretSource).await;
        assert!(bad.err().is_some_and(|e| e.to_string().contains("OPENAI_MAX_RETRIES")));
        let bad = load(&[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", "ftp://x")], &NoSecretSource).await;
        assert!(bad.err().is_some_and(|e| e.to_string().contains("OPENAI_BASE_URL")));
        Ok(())
    }
}
