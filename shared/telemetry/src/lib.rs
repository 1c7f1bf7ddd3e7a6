//! One tracing setup for every binary: JSON lines in Lambda (or with `LOG_FORMAT=json`), readable text otherwise.
//! The level comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Output format of the log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
}

impl Format {
    /// JSON in Lambda or when `LOG_FORMAT=json` / `AWS_LAMBDA_LOG_FORMAT=JSON`; text otherwise.
    pub fn from_env() -> Self {
        let wants = |name: &str| std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("json"));
        let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
        if wants("LOG_FORMAT") || wants("AWS_LAMBDA_LOG_FORMAT") || in_lambda { Self::Json } else { Self::Text }
    }
}

/// Installs the global subscriber, writing to stderr. Safe to call twice (the second call does nothing).
pub fn init(format: Format) {
    init_with(format, "info");
}

/// [`init`] with another level than `info` when `RUST_LOG` is unset (a command line wants only warnings).
pub fn init_with(format: Format, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match format {
        Format::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        Format::Text => builder.compact().try_init(),
    };
}
