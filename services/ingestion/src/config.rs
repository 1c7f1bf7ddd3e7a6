//! Settings of the ingestion service, from the environment.

use std::time::Duration;

use bw_config::{ConfigError, parse_or};

/// Tunables of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a worker's lease on a run lasts without a heartbeat (renewed every third of it): how long a run held
    /// by a worker that died waits before the stale-run sweep sends it again.
    pub lease_secs: i64,
    /// Boards fetched at once.
    pub extract_concurrency: usize,
    /// Postings ingested at once (detail fetches in flight).
    pub ingest_concurrency: usize,
    /// Postings per ingest chunk (one transaction each; abort is checked between chunks).
    pub ingest_chunk: i64,
    /// The queue's `maxReceiveCount`: on the last delivery a failing run is marked `failed` before its message
    /// goes to the DLQ.
    pub max_receive_count: u32,
    /// Records of one SQS batch handled at once.
    pub record_concurrency: usize,
    /// Deliveries after which a run that never ends is given up (`failed`), so a crash that repeats on every
    /// delivery cannot keep a run, and so its user, busy forever.
    pub max_attempts: i32,
    /// How long before the invocation's deadline a run stops at a boundary and continues in a new invocation.
    pub yield_margin: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// A company's listing that shrinks by more than this percentage (or to nothing) from a last listing of
    /// [`crate::stages::expiry::GUARDED_FROM`] or more postings expires nothing until a second run sees the same.
    pub expire_guard_percent: u32,
    /// Connections per database pool.
    pub pool_size: usize,
    /// The local process's stale-run sweep.
    pub staleness: bw_maintenance::stale_runs::Staleness,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease_secs: 30,
            extract_concurrency: 8,
            ingest_concurrency: 16,
            ingest_chunk: 500,
            // The runs queue's own setting (infra/template.yaml), unless RUNS_MAX_RECEIVE_COUNT says otherwise.
            max_receive_count: bw_queue::definitions::RUNS.max_receive_count,
            record_concurrency: 2,
            max_attempts: 10,
            yield_margin: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 32 * 1024 * 1024,
            expire_guard_percent: 90,
            pool_size: 8,
            staleness: bw_maintenance::stale_runs::Staleness::default(),
        }
    }
}

impl Settings {
    /// Reads `RUN_LEASE_SECS`, `EXTRACT_CONCURRENCY`, `INGEST_CONCURRENCY`, `INGEST_CHUNK`, `RUNS_MAX_RECEIVE_COUNT`,
    /// `RECORD_CONCURRENCY`, `MAX_RUN_ATTEMPTS`, `BOARD_CONNECT_TIMEOUT_SECS`, `BOARD_TIMEOUT_SECS`,
    /// `BOARD_MAX_BODY_BYTES`, `EXPIRE_GUARD_PERCENT`, `DATABASE_POOL_SIZE`, `STALE_RUN_SECS` and `STALE_SWEEP_SECS`,
    /// and checks them.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let settings = Self {
            lease_secs: parse_or("RUN_LEASE_SECS", d.lease_secs)?,
            extract_concurrency: parse_or("EXTRACT_CONCURRENCY", d.extract_concurrency)?,
            ingest_concurrency: parse_or("INGEST_CONCURRENCY", d.ingest_concurrency)?,
            ingest_chunk: parse_or("INGEST_CHUNK", d.ingest_chunk)?,
            max_receive_count: parse_or("RUNS_MAX_RECEIVE_COUNT", d.max_receive_count)?,
            record_concurrency: parse_or("RECORD_CONCURRENCY", d.record_concurrency)?,
            max_attempts: parse_or("MAX_RUN_ATTEMPTS", d.max_attempts)?,
            yield_margin: Duration::from_secs(parse_or("YIELD_MARGIN_SECS", 60)?),
            connect_timeout: Duration::from_secs(parse_or("BOARD_CONNECT_TIMEOUT_SECS", 5)?),
            request_timeout: Duration::from_secs(parse_or("BOARD_TIMEOUT_SECS", 30)?),
            max_body_bytes: parse_or("BOARD_MAX_BODY_BYTES", d.max_body_bytes)?,
            expire_guard_percent: parse_or("EXPIRE_GUARD_PERCENT", d.expire_guard_percent)?,
            pool_size: parse_or("DATABASE_POOL_SIZE", d.pool_size)?,
            staleness: bw_maintenance::stale_runs::Staleness::from_env()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses values that would make every run misbehave, naming the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |name: &str, reason: &str| Err(ConfigError::Invalid { name: name.to_owned(), reason: reason.to_owned() });
        if self.lease_secs < 10 {
            return invalid("RUN_LEASE_SECS", "must be at least 10");
        }
        if self.ingest_chunk < 1 || self.ingest_chunk > 10_000 {
            return invalid("INGEST_CHUNK", "must be between 1 and 10000");
        }
        if self.extract_concurrency == 0 || self.ingest_concurrency == 0 || self.record_concurrency == 0 {
            return invalid("EXTRACT_CONCURRENCY/INGEST_CONCURRENCY/RECORD_CONCURRENCY", "must be at least 1");
        }
        if self.max_receive_count == 0 || self.max_attempts < 1 {
            return invalid("RUNS_MAX_RECEIVE_COUNT/MAX_RUN_ATTEMPTS", "must be at least 1");
        }
        if self.expire_guard_percent > 100 {
            return invalid(
                "EXPIRE_GUARD_PERCENT",
                &format!("{} is not a percentage between 0 and 100", self.expire_guard_percent),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(settings: &Settings) -> String {
        settings.validate().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn the_expire_guard_takes_a_percentage() {
        for percent in [0, 90, 100] {
            let settings = Settings { expire_guard_percent: percent, ..Settings::default() };
            assert!(settings.validate().is_ok(), "{percent}");
        }
        assert_eq!(
            error(&Settings { expire_guard_percent: 101, ..Settings::default() }),
            "environment variable EXPIRE_GUARD_PERCENT has an invalid value: 101 is not a percentage between 0 and 100"
        );
    }
}
