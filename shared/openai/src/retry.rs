//! The one place where requests are retried.
//!
//! Retried: errors for which [`OpenAiError::is_retryable`] holds (429 `rate_limit_exceeded`, 500/502/503/504,
//! timeouts, transport errors), at most `max_retries` times. The wait before retry `n` (0-based) is the server's
//! `Retry-After` when it sent one, else "full jitter": a uniform random duration in
//! `[0, min(max_backoff, initial_backoff * 2^n)]`; either way capped by `max_backoff`. Never retried: 400, 401, 403,
//! 404, `insufficient_quota`, decode errors.
//!
//! A deadline bounds the whole call: no attempt starts after it, each attempt's timeout is cut to the time left, and a
//! wait that would end past it stops the loop with [`OpenAiError::DeadlineExceeded`] carrying the last error.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::OpenAiError;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// The jitter ceiling of the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry), given the server's hint.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(hint) = retry_after {
            return hint.min(self.max_backoff);
        }
        let ceiling = self.initial_backoff.saturating_mul(2u32.saturating_pow(retry.min(31))).min(self.max_backoff);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=ceiling_ms))
    }
}

/// A failed attempt: the error, and how long the server asked us to wait before trying again.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: OpenAiError,
    pub(crate) retry_after: Option<Duration>,
}

impl From<OpenAiError> for Failure {
    fn from(error: OpenAiError) -> Self {
        let retry_after = error.retry_after();
        Self { error, retry_after }
    }
}

/// Time left before `deadline` (`None` when there is no deadline).
pub(crate) fn time_left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `attempt` until it succeeds, fails for good, runs out of retries or would outlive `deadline`.
///
/// `attempt` gets the 0-based attempt number and the time left before the deadline; it must not start a request when
/// that is zero (this loop never calls it then).
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Option<Instant>,
    what: &str,
    mut attempt: F,
) -> Result<T, OpenAiError>
where
    F: FnMut(u32, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut last: Option<OpenAiError> = None;
    let mut number = 0_u32;
    loop {
        let left = time_left(deadline);
        if left == Some(Duration::ZERO) {
            return Err(OpenAiError::DeadlineExceeded { attempts: number, last_error: last.map(Box::new) });
        }
        let failure = match attempt(number, left).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !failure.error.is_retryable() || number >= policy.max_retries {
            return Err(failure.error);
        }
        let wait = policy.backoff(number, failure.retry_after);
        if time_left(deadline).is_some_and(|left| wait >= left) {
            return Err(OpenAiError::DeadlineExceeded {
                attempts: number + 1,
                last_error: Some(Box::new(failure.error)),
            });
        }
        tracing::warn!(
            request = what,
            attempt = number + 1,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            error = %failure.error,
            "OpenAI request failed; retrying"
        );
        tokio::time::sleep(wait).await;
        last = Some(failure.error);
        number += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    };

    fn server_error() -> Failure {
        Failure::from(OpenAiError::Api { status: 503, error_type: None, code: None, param: None, message: "x".into() })
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for retry in 0..40 {
            let wait = policy.backoff(retry, None);
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry.min(10))).min(Duration::from_secs(1));
            assert!(wait <= ceiling, "retry {retry}: {wait:?} > {ceiling:?}");
        }
        assert_eq!(policy.backoff(0, Some(Duration::from_millis(300))), Duration::from_millis(300));
        assert_eq!(policy.backoff(0, Some(Duration::from_secs(60))), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn retries_retryable_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let result = with_retries(&POLICY, None, "test", |n, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(server_error()) } else { Ok(n) } }
        })
        .await;
        assert!(matches!(result, Ok(2)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&POLICY, None, "test", |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(server_error()) }
        })
        .await;
        assert!(matches!(result, Err(OpenAiError::Api { status: 503, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn does_not_retry_permanent_errors() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&POLICY, None, "test", |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Failure::from(OpenAiError::QuotaExhausted { message: "q".into() })) }
        })
        .await;
        assert!(matches!(result, Err(OpenAiError::QuotaExhausted { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_wait_past_the_deadline_stops_at_once() {
        let started = Instant::now();
        let deadline = Some(started + Duration::from_millis(200));
        let policy = RetryPolicy { max_backoff: Duration::from_secs(10), ..POLICY };
        let result: Result<(), _> = with_retries(&policy, deadline, "test", |_, left| async move {
            assert!(left.is_some_and(|l| l <= Duration::from_millis(200)));
            Err(Failure::from(OpenAiError::RateLimited {
                retry_after: Some(Duration::from_secs(5)),
                message: "r".into(),
            }))
        })
        .await;
        assert!(started.elapsed() < Duration::from_millis(150), "waited {:?}", started.elapsed());
        match result {
            Err(e @ OpenAiError::DeadlineExceeded { attempts: 1, .. }) => {
                assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
            }
            other => panic!("expected DeadlineExceeded, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_past_deadline_sends_nothing() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&POLICY, Some(Instant::now()), "test", |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .await;
        assert!(matches!(result, Err(OpenAiError::DeadlineExceeded { attempts: 0, last_error: None })));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
