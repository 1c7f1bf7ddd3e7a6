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

/// The exit status of a program whose work answered `result`. A failure is one line on stderr, `error: ` and the
/// error with its causes (`{:#}`), without a backtrace even under `RUST_BACKTRACE`: a port in use or a missing
/// variable is an operator's error, not a crash.
pub fn exit_status<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line (`failed to read the run: connection refused`), for a log field:
/// `tracing::warn!(error = %chain(error.as_ref()), "…")` with an `anyhow::Error`, `chain(&error)` with any other.
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'a)) -> Chain<'a> {
    Chain(error)
}

/// See [`chain`].
pub struct Chain<'a>(&'a (dyn std::error::Error + 'a));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chain_is_the_error_then_each_cause() {
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = anyhow::Error::new(root).context("failed to connect").context("failed to read the run");
        assert_eq!(
            super::chain(error.as_ref()).to_string(),
            "failed to read the run: failed to connect: connection refused"
        );
        assert_eq!(super::chain(error.as_ref()).to_string(), format!("{error:#}"));
        let plain = std::fmt::Error;
        assert_eq!(super::chain(&plain).to_string(), "an error occurred when formatting an argument");
    }
}
