//! Settings of the API, from the environment (the database URL and the queues' URLs are read where they are used,
//! in `main`).

use std::time::Duration;

use bw_config::{ConfigError, parse_or};
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
