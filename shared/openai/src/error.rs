//! The one error type of this crate, and how an HTTP error answer from OpenAI becomes one.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::ResponseStatus;

/// Everything that can go wrong talking to OpenAI or reading what it sent.
///
/// [`OpenAiError::is_retryable`] says whether sending the same request again may succeed; the client already retried
/// those errors (within its retry and deadline budget) before handing one back.
#[derive(Debug, thiserror::Error)]
pub enum OpenAiError {
    /// OpenAI answered with an HTTP error (any 4xx other than 429, or a 5xx), with its error envelope when it sent one.
    #[error("OpenAI answered HTTP {status}: {message} (type {}, code {}, param {})", opt(.error_type), opt(.code), opt(.param))]
    Api {
        /// The HTTP status code.
        status: u16,
        /// `error.type`, such as `invalid_request_error`.
        error_type: Option<String>,
        /// `error.code`, such as `invalid_value`; often null.
        code: Option<String>,
        /// `error.param`: the request field at fault, when OpenAI names one.
        param: Option<String>,
        /// `error.message`, or the start of the body when it was not an error envelope.
        message: String,
    },
    /// HTTP 429 for a transient rate limit (`rate_limit_exceeded`); waiting helps.
    #[error("OpenAI rate limit reached (retry after {}): {message}", opt_duration(.retry_after))]
    RateLimited {
        /// How long OpenAI (or the rate-limit headers) asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// `error.message`.
        message: String,
    },
    /// HTTP 429 with `insufficient_quota`: billing must change; retrying does not help.
    #[error("OpenAI quota exhausted (insufficient_quota): {message}")]
    QuotaExhausted {
        /// `error.message`.
        message: String,
    },
    /// The connection or the whole request took longer than its configured timeout.
    #[error("request to OpenAI timed out: {what}")]
    Timeout {
        /// The request, as `METHOD /path`.
        what: String,
    },
    /// The request could not be sent or its answer not received (connection refused, reset, TLS, ...).
    #[error("could not reach OpenAI for {what}: {reason}")]
    Transport {
        /// The request, as `METHOD /path`.
        what: String,
        /// The underlying error chain.
        reason: String,
    },
    /// Something OpenAI sent (or a model produced) does not have the expected shape.
    #[error("could not decode {what}: {reason}")]
    Decode {
        /// What was being read, e.g. `decision` or `batch output line 3`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The caller's deadline left no time for (another) attempt.
    #[error("deadline reached after {attempts} attempt(s){}", last_error_suffix(.last_error))]
    DeadlineExceeded {
        /// Requests sent before giving up.
        attempts: u32,
        /// The error of the last attempt, when there was one.
        last_error: Option<Box<OpenAiError>>,
    },
    /// A response was asked for its decision but has not completed (or ended failed, cancelled or incomplete).
    #[error("response is {status}, not completed (code {}): {message}", opt(.code))]
    NotCompleted {
        /// The response's status.
        status: ResponseStatus,
        /// `error.code` or `incomplete_details.reason`, when present.
        code: Option<String>,
        /// `error.message`, or a description of the state.
        message: String,
    },
    /// A batch output line that carries no response, only an `error` (for example `batch_expired`).
    #[error("batch request failed (code {}): {message}", opt(.code))]
    BatchItem {
        /// `error.code`, such as `batch_expired`.
        code: Option<String>,
        /// `error.message`.
        message: String,
    },
    /// A local file to send (a batch's input file) could not be read.
    #[error("could not read {path}: {reason}")]
    LocalFile {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The client could not be built from its configuration.
    #[error("invalid OpenAI client configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

impl OpenAiError {
    /// Whether the same request may succeed if sent again: 429 `rate_limit_exceeded`, 500/502/503/504, timeouts and
    /// transport errors. Never 400/401/403/404, `insufficient_quota`, decode errors or an exceeded deadline.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::QuotaExhausted { .. }
            | Self::Decode { .. }
            | Self::DeadlineExceeded { .. }
            | Self::NotCompleted { .. }
            | Self::BatchItem { .. }
            | Self::LocalFile { .. }
            | Self::InvalidConfig { .. } => false,
        }
    }

    /// Whether OpenAI answered and refused the request for good: an HTTP error that retrying does not fix (400, 401,
    /// 403, 404, 409, 422, ...) or `insufficient_quota`. A caller may fail the work the request was for. Never a
    /// rate limit, a 5xx, a timeout, a transport error, an exceeded deadline (our own clock) or an answer that could
    /// not be decoded: none of those says OpenAI will not do it.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Api { .. } => !self.is_retryable(),
            Self::QuotaExhausted { .. } => true,
            Self::RateLimited { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Decode { .. }
            | Self::DeadlineExceeded { .. }
            | Self::NotCompleted { .. }
            | Self::BatchItem { .. }
            | Self::LocalFile { .. }
            | Self::InvalidConfig { .. } => false,
        }
    }

    /// Whether the call stopped to wait rather than failed: the caller's deadline came first, or OpenAI's rate limit
    /// still held when the retries ran out. Nothing is wrong with the request; send it again later
    /// ([`retry_after`](Self::retry_after) says when, if OpenAI said).
    pub fn is_wait(&self) -> bool {
        matches!(self, Self::DeadlineExceeded { .. } | Self::RateLimited { .. })
    }

    /// How long OpenAI asked us to wait, looking through a deadline error at the attempt it cut short. A caller that
    /// re-enqueues work can use this as the delay.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::DeadlineExceeded { last_error: Some(last), .. } => last.retry_after(),
            _ => None,
        }
    }

    /// A decode error about `what`.
    pub(crate) fn decode(what: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::Decode { what: what.into(), reason: reason.to_string() }
    }

    /// The error for an HTTP error answer, from its status, its body and the wait its headers asked for: 429 with
    /// `insufficient_quota` (as `code`, or as `type` in the older form whose code is null) is
    /// [`QuotaExhausted`](Self::QuotaExhausted), any other 429 [`RateLimited`](Self::RateLimited), the rest
    /// [`Api`](Self::Api) with the envelope's fields.
    pub fn from_http(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let envelope = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
        let (error_type, code, param, message) = match envelope {
            Some(e) => (e.error_type, e.code, e.param, e.message),
            None => (None, None, None, body_excerpt(body)),
        };
        let is_quota = |v: &Option<String>| v.as_deref() == Some("insufficient_quota");
        if status == 429 && (is_quota(&code) || is_quota(&error_type)) {
            return Self::QuotaExhausted { message };
        }
        if status == 429 {
            return Self::RateLimited { retry_after, message };
        }
        Self::Api { status, error_type, code, param, message }
    }
}

/// OpenAI's error envelope: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ApiErrorBody,
}

/// The body of OpenAI's error envelope; `param` and `code` are often null, and new fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// A human-readable description.
    #[serde(default)]
    pub message: String,
    /// The kind of error, such as `invalid_request_error`, `tokens`, `requests`, `insufficient_quota`.
    #[serde(rename = "type", default)]
    pub error_type: Option<String>,
    /// The request field at fault.
    #[serde(default)]
    pub param: Option<String>,
    /// A machine-readable code, such as `rate_limit_exceeded`.
    #[serde(default)]
    pub code: Option<String>,
}

/// At most 300 characters of a body that was not an error envelope (an HTML page from a proxy, say).
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "(empty body)".to_owned();
    }
    trimmed.chars().take(300).collect()
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

fn opt_duration(value: &Option<Duration>) -> String {
    value.map_or_else(|| "unspecified".to_owned(), |d| format!("{d:?}"))
}

fn last_error_suffix(last: &Option<Box<OpenAiError>>) -> String {
    last.as_ref().map_or_else(String::new, |e| format!("; last error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_429_by_code_and_type() {
        let rate =
            br#"{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
        let err = OpenAiError::from_http(429, rate, Some(Duration::from_secs(2)));
        assert!(matches!(err, OpenAiError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2)));
        assert!(err.is_retryable());

        let quota_new =
            br#"{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert!(matches!(OpenAiError::from_http(429, quota_new, None), OpenAiError::QuotaExhausted { .. }));
        assert!(!OpenAiError::from_http(429, quota_new, None).is_retryable());
    }

    #[test]
    fn non_json_bodies_keep_an_excerpt() {
        let err = OpenAiError::from_http(502, b"<html>Bad gateway</html>", None);
        assert!(matches!(&err, OpenAiError::Api { status: 502, message, .. } if message.contains("Bad gateway")));
        assert!(err.is_retryable());
        let err = OpenAiError::from_http(404, b"", None);
        assert!(matches!(&err, OpenAiError::Api { status: 404, message, .. } if message == "(empty body)"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn refusals_are_the_answers_retrying_cannot_fix() {
        let api = |status| OpenAiError::Api { status, error_type: None, code: None, param: None, message: "m".into() };
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(api(status).is_refusal(), "{status}");
            assert!(!api(status).is_wait(), "{status}");
        }
        for status in [500, 502, 503, 504] {
            assert!(!api(status).is_refusal(), "{status}");
        }
        assert!(OpenAiError::QuotaExhausted { message: "q".into() }.is_refusal());
        let rate = OpenAiError::RateLimited { retry_after: None, message: "r".into() };
        assert!(!rate.is_refusal() && rate.is_wait());
        let deadline = OpenAiError::DeadlineExceeded { attempts: 0, last_error: None };
        assert!(!deadline.is_refusal() && deadline.is_wait(), "our own clock is never OpenAI's refusal");
        let timeout = OpenAiError::Timeout { what: "GET /x".into() };
        assert!(!timeout.is_refusal() && !timeout.is_wait());
        assert!(!OpenAiError::decode("answer", "eof").is_refusal());
    }

    #[test]
    fn retry_after_looks_through_the_deadline() {
        let last = OpenAiError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: String::new() };
        let err = OpenAiError::DeadlineExceeded { attempts: 2, last_error: Some(Box::new(last)) };
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.to_string().contains("last error: OpenAI rate limit reached"), "{err}");
    }
}
