//! Test harness: a fresh PostgreSQL database per test (cloned from a migrated template), LocalStack queues unique
//! per test, the fake ATS on an ephemeral port, the API on port 0, and the ingestion runner in a task.

pub mod api;
pub mod app;
pub mod browser;
pub mod chaos;
pub mod client;
pub mod ctl;
pub mod db;
pub mod docs;
pub mod lambda_runtime;
pub mod layering;
pub mod llm;
pub mod postings;
pub mod secrets;
pub mod sqs;
pub mod sse;
pub mod tls_pg;

/// Installs quiet logging for tests; `TEST_LOG=1` shows everything.
pub fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        bw_telemetry::init(bw_telemetry::Format::Text);
    }
}

/// Prints one figure as `key: value` (the benchmarks' and the chaos suite's output).
pub fn figure(key: &str, value: impl std::fmt::Display) {
    println!("{key}: {value}");
}

/// The key of the OpenAI webhooks' signing secret in tests (and the demo): the fake OpenAI signs with it, the API
/// verifies.
pub const WEBHOOK_KEY: &[u8] = b"boardwatch-test-webhook-secret!!";

/// The signing secret of [`WEBHOOK_KEY`]; its `whsec_` text is what `OPENAI_WEBHOOK_SECRET` is given.
pub fn webhook_secret() -> bw_webhooks::Secret {
    bw_webhooks::Secret::from_bytes(WEBHOOK_KEY)
}
