//! Settings of the API, from the environment (the database URL and the queues' URLs are read where they are used,
//! in `main`).

use std::time::Duration;

use bw_config::{ConfigError, SecretSource, SecretVar, parse_or};
use bw_messages::Database;

/// What the API is told by its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `API_LISTEN`: where the local process listens.
    pub listen: String,
    /// `RUN_DATABASE`: the database written into run messages.
    pub run_database: Database,
    /// `DATABASE_POOL_SIZE`.
    pub pool_size: usize,
    /// The dry run's board requests: `BOARD_CONNECT_TIMEOUT_SECS`, `DRY_RUN_BOARD_TIMEOUT_SECS` (shorter than a
    /// run's, as someone is waiting) and `BOARD_MAX_BODY_BYTES`.
    pub board_connect_timeout: Duration,
    pub board_timeout: Duration,
    pub board_max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            run_database: Database::Primary,
            pool_size: 8,
            board_connect_timeout: Duration::from_secs(5),
            board_timeout: Duration::from_secs(20),
            board_max_body_bytes: 32 << 20,
        }
    }
}

impl Settings {
    /// Reads the variables named on the fields, refusing a value that cannot be used and naming it.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let run_database = match bw_config::optional("RUN_DATABASE").as_deref().map(str::trim) {
            None | Some("primary") => Database::Primary,
            Some("test") => Database::Test,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "RUN_DATABASE".to_owned(),
                    reason: format!("{other:?}: must be primary or test"),
                });
            }
        };
        let secs = |name: &str, default: Duration| parse_or(name, default.as_secs()).map(Duration::from_secs);
        Ok(Self {
            listen: bw_config::optional("API_LISTEN").map_or(d.listen, |v| v.trim().to_owned()),
            run_database,
            pool_size: parse_or("DATABASE_POOL_SIZE", d.pool_size)?.max(1),
            board_connect_timeout: secs("BOARD_CONNECT_TIMEOUT_SECS", d.board_connect_timeout)?,
            board_timeout: secs("DRY_RUN_BOARD_TIMEOUT_SECS", d.board_timeout)?,
            board_max_body_bytes: parse_or("BOARD_MAX_BODY_BYTES", d.board_max_body_bytes)?,
        })
    }
}

/// The signing secret of OpenAI's webhooks: `OPENAI_WEBHOOK_SECRET` itself, or the Secrets Manager secret
/// `OPENAI_WEBHOOK_SECRET_ID` names. Optional: without it the webhook route answers 404.
pub const OPENAI_WEBHOOK_SECRET: SecretVar = SecretVar {
    var: "OPENAI_WEBHOOK_SECRET",
    id_var: "OPENAI_WEBHOOK_SECRET_ID",
    hint: "the signing secret OpenAI shows for the project's webhook endpoint (whsec_...)",
    old_id_vars: &[],
};

/// Reads [`OPENAI_WEBHOOK_SECRET`] (variables through `lookup`); `None` when neither variable is set. A secret that
/// is not a `whsec_` base64 key is an error naming where it came from.
pub async fn webhook_secret(
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    secrets: &impl SecretSource,
) -> Result<Option<bw_webhooks::Secret>, ConfigError> {
    let found = match OPENAI_WEBHOOK_SECRET.read_with(lookup, secrets).await {
        Err(ConfigError::Missing { .. }) => return Ok(None),
        found => found?,
    };
    let name = match &found {
        bw_config::Found::Value(_) => OPENAI_WEBHOOK_SECRET.var.to_owned(),
        bw_config::Found::Stored { id_var, id, .. } => format!("{id_var} (secret {id:?})"),
    };
    bw_webhooks::Secret::parse(found.secret().expose())
        .map(Some)
        .map_err(|e| ConfigError::Invalid { name, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(vars: &[(&str, &str)]) -> Result<Option<bw_webhooks::Secret>, String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        webhook_secret(&lookup, &bw_config::NoSecretSource).await.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn the_webhook_secret_is_optional_and_checked_when_given() {
        assert!(matches!(read(&[]).await, Ok(None)));
        assert!(matches!(read(&[("OPENAI_WEBHOOK_SECRET", " ")]).await, Ok(None)));
        let secret = read(&[("OPENAI_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]).await;
        assert!(matches!(secret, Ok(Some(_))), "{secret:?}");
        let bad = read(&[("OPENAI_WEBHOOK_SECRET", "whsec_not*base64")]).await.err().unwrap_or_default();
        assert!(bad.contains("OPENAI_WEBHOOK_SECRET") && bad.contains("not usable"), "{bad}");
        let unreadable = read(&[("OPENAI_WEBHOOK_SECRET_ID", "prod/openai-webhook")]).await.err().unwrap_or_default();
        assert!(
            unreadable.contains("OPENAI_WEBHOOK_SECRET_ID") && unreadable.contains("prod/openai-webhook"),
            "{unreadable}"
        );
    }
}
