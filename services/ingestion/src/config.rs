//! Settings of the ingestion service, from the environment.

use std::time::Duration;

use bw_config::{ConfigError, parse_or};

/// Tunables of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a worker's lease on a run lasts without a heartbeat.
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
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease_secs: 120,
            extract_concurrency: 8,
            ingest_concurrency: 16,
            ingest_chunk: 500,
            max_receive_count: 5,
            record_concurrency: 2,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

impl Settings {
    /// Reads `RUN_LEASE_SECS`, `EXTRACT_CONCURRENCY`, `INGEST_CONCURRENCY`, `INGEST_CHUNK`, `RUNS_MAX_RECEIVE_COUNT`,
    /// `RECORD_CONCURRENCY`, `BOARD_CONNECT_TIMEOUT_SECS`, `BOARD_TIMEOUT_SECS`, `BOARD_MAX_BODY_BYTES`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            lease_secs: parse_or("RUN_LEASE_SECS", d.lease_secs)?,
            extract_concurrency: parse_or("EXTRACT_CONCURRENCY", d.extract_concurrency)?,
            ingest_concurrency: parse_or("INGEST_CONCURRENCY", d.ingest_concurrency)?,
            ingest_chunk: parse_or("INGEST_CHUNK", d.ingest_chunk)?,
            max_receive_count: parse_or("RUNS_MAX_RECEIVE_COUNT", d.max_receive_count)?,
            record_concurrency: parse_or("RECORD_CONCURRENCY", d.record_concurrency)?,
            connect_timeout: Duration::from_secs(parse_or("BOARD_CONNECT_TIMEOUT_SECS", 5)?),
            request_timeout: Duration::from_secs(parse_or("BOARD_TIMEOUT_SECS", 30)?),
            max_body_bytes: parse_or("BOARD_MAX_BODY_BYTES", d.max_body_bytes)?,
        })
    }
}
