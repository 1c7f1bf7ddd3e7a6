//! The one error type of this crate.

/// Why listing or reading a board failed.
///
/// Every variant's message names the URL or the document concerned and the reason, so a log line or a stored
/// `last_error` is enough to understand the failure.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The board answered with a non-2xx HTTP status.
    #[error("GET {url} answered {}", status_text(*.status))]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The request did not complete within the configured timeout.
    #[error("GET {url} timed out")]
    Timeout {
        /// The URL requested.
        url: String,
    },
    /// The request failed below HTTP (DNS, connection, TLS, a broken body stream).
    #[error("GET {url} failed: {reason}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The underlying error, with its causes.
        reason: String,
    },
    /// The document was received but is not in the expected shape.
    ///
    /// `what` names the document (and the item, where one is at fault); `reason` completes the sentence, e.g.
    /// `what = "greenhouse board listing"`, `reason = "is not valid JSON: expected value at line 1 column 1"`.
    #[error("{what} {reason}")]
    Malformed {
        /// The document or item at fault, e.g. "lever board listing item 3".
        what: String,
        /// What is wrong with it, phrased to follow `what`, e.g. "has no title".
        reason: String,
    },
    /// The response body was larger than the configured cap.
    #[error("GET {url} answered a body larger than {limit_bytes} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap that was exceeded.
        limit_bytes: usize,
    },
}

impl ExtractError {
    /// A short, stable name for the variant, for metrics and stored error kinds:
    /// `"status"`, `"timeout"`, `"transport"`, `"malformed"` or `"too_large"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
        }
    }

    /// Whether retrying later may succeed: timeouts, transport failures, 5xx statuses and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Malformed { .. } | Self::TooLarge { .. } => false,
        }
    }

    /// Shorthand for [`ExtractError::Malformed`].
    pub(crate) fn malformed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Malformed { what: what.into(), reason: reason.into() }
    }
}

/// `404 Not Found`, or just the number for codes without a standard reason phrase.
fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_url_and_reason() {
        let e = ExtractError::Status { url: "https://x.test/jobs".into(), status: 404 };
        assert_eq!(e.to_string(), "GET https://x.test/jobs answered 404 Not Found");
        let e = ExtractError::Status { url: "https://x.test/jobs".into(), status: 599 };
        assert_eq!(e.to_string(), "GET https://x.test/jobs answered 599");
        let e = ExtractError::malformed("greenhouse board listing", "is not valid JSON: expected value");
        assert_eq!(e.to_string(), "greenhouse board listing is not valid JSON: expected value");
        let e = ExtractError::TooLarge { url: "u".into(), limit_bytes: 10 };
        assert_eq!(e.to_string(), "GET u answered a body larger than 10 bytes");
    }

    #[test]
    fn kinds_and_transience() {
        let status = |s| ExtractError::Status { url: String::new(), status: s };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        assert_eq!(status(404).kind(), "status");
        let t = ExtractError::Timeout { url: String::new() };
        assert!(t.is_transient());
        assert_eq!(t.kind(), "timeout");
        let t = ExtractError::Transport { url: String::new(), reason: String::new() };
        assert!(t.is_transient());
        assert_eq!(t.kind(), "transport");
        let m = ExtractError::malformed("a", "b");
        assert!(!m.is_transient());
        assert_eq!(m.kind(), "malformed");
        let l = ExtractError::TooLarge { url: String::new(), limit_bytes: 1 };
        assert!(!l.is_transient());
        assert_eq!(l.kind(), "too_large");
    }
}
