//! Configuration from the environment: helpers whose errors name the variable, and a secret type that never prints.

use std::fmt;
use std::str::FromStr;

mod secrets;

pub use secrets::{Found, NoSecretSource, SecretSource, SecretVar};

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set ({hint})")]
    Missing { name: String, hint: String },
    #[error("environment variable {name} has an invalid value: {reason}")]
    Invalid { name: String, reason: String },
}

/// The value of `name`, or an error saying it is missing and what it is for.
pub fn required(name: &str, hint: &str) -> Result<String, ConfigError> {
    optional(name).ok_or_else(|| ConfigError::Missing { name: name.to_owned(), hint: hint.to_owned() })
}

/// The value of `name` when it is set and not empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `name` parsed as `T`, or `default` when unset; an unparsable value is an error naming the variable.
pub fn parse_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    parse_with(&|n| std::env::var(n).ok(), name, default)
}

/// [`parse_or`] over another source of variables than the process's environment (a test's, say).
pub fn parse_with<T>(lookup: &dyn Fn(&str) -> Option<String>, name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid { name: name.to_owned(), reason: format!("{raw:?}: {e}") }),
    }
}

/// A value that must not reach logs: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn parse_error_names_the_variable() {
        let err = parse_or::<u32>("BW_CONFIG_TEST_UNSET_VARIABLE", 7);
        assert!(matches!(err, Ok(7)));
        let err = required("BW_CONFIG_TEST_UNSET_VARIABLE", "the thing").map(|_| ());
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("BW_CONFIG_TEST_UNSET_VARIABLE") && text.contains("the thing"), "{text}");
    }
}
