//! The HTTP client: one attempt at a request, wrapped in the retry loop of [`crate::retry`].
//!
//! **Rate-limit pacing.** Every answer's `x-ratelimit-*` headers are kept (see [`OpenAi::last_rate_limits`]). When an
//! answer says a budget is used up (`remaining-requests` or `remaining-tokens` is 0), the client holds every request
//! that starts afterwards until that budget's `reset-*` time has passed. If the caller's deadline would pass first,
//! the request is not sent and the call fails at once with [`OpenAiError::DeadlineExceeded`] whose last error is
//! [`OpenAiError::RateLimited`] with the wait, so the caller can re-schedule the work that long.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, StatusCode, Url};

use crate::config::OpenAiConfig;
use crate::error::OpenAiError;
use crate::ratelimit::{self, RateLimits};
use crate::retry::{self, Failure, RetryPolicy};

/// A client for the OpenAI APIs this system uses. Cheap to clone; clones share the connection pool, the counters and
/// the rate-limit state. The endpoint methods are in [`crate::api`].
#[derive(Debug, Clone)]
pub struct OpenAi {
    pub(crate) inner: Arc<Inner>,
    /// No attempt starts after this instant, and none runs past it.
    deadline: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    http: reqwest::Client,
    base: Url,
    config: OpenAiConfig,
    policy: RetryPolicy,
    requests_sent: AtomicU64,
    rate_limited: AtomicU64,
    rate_limits: Mutex<Option<RateLimits>>,
    /// Requests wait until this instant (a used-up rate-limit budget).
    paused_until: Mutex<Option<Instant>>,
}

impl OpenAi {
    /// A client for `config`. Fails when the base URL is not an http(s) URL or the HTTP client cannot be built.
    pub fn new(config: OpenAiConfig) -> Result<Self, OpenAiError> {
        let invalid = |reason: String| OpenAiError::InvalidConfig { reason };
        let base = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| invalid(format!("base URL {:?}: {e}", config.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid(format!("base URL {:?} is not an http(s) URL", config.base_url)));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("bw-openai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        let inner = Inner {
            http,
            base,
            policy: config.retry_policy(),
            config,
            requests_sent: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            rate_limits: Mutex::new(None),
            paused_until: Mutex::new(None),
        };
        Ok(Self { inner: Arc::new(inner), deadline: None })
    }

    /// A handle whose calls never outlive `deadline` (e.g. the Lambda deadline minus a margin). It shares everything
    /// else with `self`.
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self { inner: Arc::clone(&self.inner), deadline: Some(deadline) }
    }

    /// A handle whose calls end within `budget` from now (no deadline if `budget` is too large to represent).
    pub fn with_budget(&self, budget: Duration) -> Self {
        match Instant::now().checked_add(budget) {
            Some(deadline) => self.with_deadline(deadline),
            None => Self { inner: Arc::clone(&self.inner), deadline: None },
        }
    }

    /// The deadline of this handle, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The settings in use.
    pub fn config(&self) -> &OpenAiConfig {
        &self.inner.config
    }

    /// HTTP requests attempted so far by this client and its clones (retries included, connection failures too).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// Answers with HTTP 429 received so far (rate limits and quota exhaustion).
    pub fn rate_limited_responses(&self) -> u64 {
        self.inner.rate_limited.load(Ordering::Relaxed)
    }

    /// The rate-limit headers of the most recent answer that carried any.
    pub fn last_rate_limits(&self) -> Option<RateLimits> {
        *self.inner.rate_limits.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `{base_url}/{segments...}`, each segment percent-encoded (ids cannot escape their path segment).
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, OpenAiError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| OpenAiError::InvalidConfig { reason: "base URL cannot take a path".to_owned() })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends a request built by `build` (called again for every attempt), with retries, pacing and the deadline, and
    /// returns the body of the successful answer.
    pub(crate) async fn execute<F>(&self, method: Method, url: Url, build: F) -> Result<Vec<u8>, OpenAiError>
    where
        F: Fn(RequestBuilder) -> RequestBuilder,
    {
        let what = format!("{method} {}", url.path());
        let timeout = self.inner.config.request_timeout;
        retry::with_retries(&self.inner.policy, self.deadline, &what, |number, left| {
            let request = build(self.inner.http.request(method.clone(), url.clone()));
            let what = &what;
            async move {
                let response = self.attempt(request, what, number, left, timeout).await?;
                let body = response.bytes().await.map_err(|e| transport_error(what, &e))?;
                Ok(Vec::from(body))
            }
        })
        .await
    }

    /// As [`execute`](Self::execute) for a large transfer (a file's upload or download): each attempt may take up to
    /// [`TRANSFER_TIMEOUT`] (within the deadline), and the successful answer is returned unread, for its body to be
    /// streamed. A failure while the body streams is the caller's to handle (it is not retried here).
    pub(crate) async fn execute_transfer<F>(
        &self,
        method: Method,
        url: Url,
        build: F,
    ) -> Result<reqwest::Response, OpenAiError>
    where
        F: Fn(RequestBuilder) -> RequestBuilder,
    {
        let what = format!("{method} {}", url.path());
        let timeout = TRANSFER_TIMEOUT.max(self.inner.config.request_timeout);
        retry::with_retries(&self.inner.policy, self.deadline, &what, |number, left| {
            let request = build(self.inner.http.request(method.clone(), url.clone()));
            self.attempt(request, &what, number, left, timeout)
        })
        .await
    }

    /// One attempt: wait out a used-up rate-limit budget, send, classify the outcome; a successful answer's body is
    /// left to the caller, an error's is read.
    async fn attempt(
        &self,
        request: RequestBuilder,
        what: &str,
        number: u32,
        left: Option<Duration>,
        timeout: Duration,
    ) -> Result<reqwest::Response, Failure> {
        let left = self.wait_for_rate_limit(left, number).await?;
        let timeout = left.map_or(timeout, |l| l.min(timeout));
        let request = request.bearer_auth(self.inner.config.api_key.expose()).timeout(timeout);
        self.inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = request.send().await.map_err(|e| transport_error(what, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        self.record_rate_limits(&headers);
        tracing::debug!(
            request = what,
            attempt = number + 1,
            status = status.as_u16(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or(""),
            "OpenAI answered"
        );
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.map_err(|e| transport_error(what, &e))?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let hint = ratelimit::retry_after(&headers).or_else(|| {
            (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| RateLimits::from_headers(&headers).and_then(|l| l.exhausted_wait()))
                .flatten()
        });
        let error = OpenAiError::from_http(status.as_u16(), &body, hint);
        Err(Failure { error, retry_after: hint })
    }

    /// Holds the attempt while a rate-limit budget is used up; returns the time left before the deadline afterwards.
    async fn wait_for_rate_limit(&self, left: Option<Duration>, number: u32) -> Result<Option<Duration>, Failure> {
        let until = *self.inner.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(wait) = until.map(|u| u.saturating_duration_since(Instant::now())).filter(|w| !w.is_zero()) else {
            return Ok(left);
        };
        if left.is_some_and(|l| wait >= l) {
            let last = OpenAiError::RateLimited {
                retry_after: Some(wait),
                message: "the rate-limit headers say the budget is used up".to_owned(),
            };
            let error = OpenAiError::DeadlineExceeded { attempts: number, last_error: Some(Box::new(last)) };
            return Err(Failure { error, retry_after: None });
        }
        tracing::info!(wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "OpenAI budget used up; waiting");
        tokio::time::sleep(wait).await;
        Ok(retry::time_left(self.deadline))
    }

    fn record_rate_limits(&self, headers: &reqwest::header::HeaderMap) {
        let Some(limits) = RateLimits::from_headers(headers) else {
            return;
        };
        *self.inner.rate_limits.lock().unwrap_or_else(PoisonError::into_inner) = Some(limits);
        let mut paused = self.inner.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        *paused = limits.exhausted_wait().map(|wait| Instant::now() + wait);
    }
}

/// The longest one attempt at a file's upload or download may take (a batch input file is up to 200 MB).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(600);

/// A reqwest error as [`OpenAiError::Timeout`] or [`OpenAiError::Transport`] (both retryable).
pub(crate) fn transport_error(what: &str, error: &reqwest::Error) -> Failure {
    let error = if error.is_timeout() {
        OpenAiError::Timeout { what: what.to_owned() }
    } else {
        OpenAiError::Transport { what: what.to_owned(), reason: error_chain(error) }
    };
    Failure { error, retry_after: None }
}

/// An error and its sources, joined with ": " (reqwest puts the useful part, e.g. "Connection refused", in a source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
