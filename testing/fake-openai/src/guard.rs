//! What stands in front of every API route: counting, added latency, the bearer token, quota and rate limits,
//! injected 5xx, and the headers every real answer carries (`x-ratelimit-*`, `x-request-id`, `openai-*`).

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::FakeOpenAi;
use crate::errors::ApiError;
use crate::ratelimit::{Snapshot, format_duration};
use crate::state::Inner;
use crate::stats::route_key;

/// Runs the checks in the real API's order (auth, quota, rate limit), then the handler.
pub(crate) async fn guard(State(fake): State<FakeOpenAi>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_fake") {
        return next.run(request).await;
    }
    let started = Instant::now();
    let key = route_key(request.method().as_str(), request.uri().path());
    let uses_model = key == "POST /v1/responses";
    let latency_ms = {
        let mut inner = fake.state.lock();
        inner.stats.total_requests += 1;
        *inner.stats.by_route.entry(key).or_default() += 1;
        inner.config.latency_ms
    };
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    // Only model requests use tokens; about four bytes of request body per token.
    let body_tokens = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|_| uses_model)
        .map_or(0, |bytes| bytes.div_ceil(4).max(1));
    let (verdict, limits) = {
        let now_ms = fake.state.clock.now_ms();
        let mut inner = fake.state.lock();
        let verdict = admit(&mut inner, request.headers(), body_tokens, now_ms);
        let limits = (inner.requests.snapshot(now_ms), inner.tokens.snapshot(now_ms));
        (verdict, limits)
    };
    let mut response = match verdict {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    };
    let (requests, tokens) = limits;
    // Not drawn from the seeded RNG, so the number of requests does not shift the objects a seed produces.
    let request_id = format!("req_{}", uuid::Uuid::new_v4().simple());
    let headers = response.headers_mut();
    put_limits(headers, "requests", &requests);
    put_limits(headers, "tokens", &tokens);
    put(headers, "x-request-id", &request_id);
    put(headers, "openai-version", "2020-10-01");
    put(headers, "openai-processing-ms", &started.elapsed().as_millis().to_string());
    response
}

fn admit(inner: &mut Inner, headers: &HeaderMap, body_tokens: u64, now_ms: u64) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let outcome = match (token, inner.config.api_key.as_deref()) {
        (None, _) => Err(ApiError::missing_api_key()),
        (Some(token), Some(expected)) if token != expected => Err(ApiError::invalid_api_key(token)),
        _ => Ok(()),
    };
    if let Err(error) = outcome {
        inner.stats.unauthorized += 1;
        return Err(error);
    }
    if inner.config.quota_exhausted {
        inner.stats.rate_limited += 1;
        return Err(ApiError::insufficient_quota());
    }
    match inner.config.rate_limit_per_minute {
        Some(limit) => {
            if let Err(wait_ms) = inner.requests.take(1.0, now_ms) {
                inner.stats.rate_limited += 1;
                return Err(ApiError::rate_limited(limit, wait_ms.div_ceil(1000).max(1)));
            }
        }
        None => inner.requests.drain(1.0, now_ms),
    }
    inner.tokens.drain(body_tokens as f64, now_ms);
    if inner.config.rate_limited_rate > 0.0 && inner.fault_rng.random::<f64>() < inner.config.rate_limited_rate {
        inner.stats.rate_limited += 1;
        let limit = inner.config.rate_limit_per_minute.unwrap_or(30_000);
        return Err(ApiError::rate_limited(limit, inner.config.rate_limited_retry_after_secs.max(1)));
    }
    if inner.config.server_error_rate > 0.0 && inner.fault_rng.random::<f64>() < inner.config.server_error_rate {
        let statuses = &inner.config.server_error_statuses;
        let status = statuses.get(inner.fault_rng.random_range(0..statuses.len().max(1))).copied().unwrap_or(500);
        inner.stats.server_errors += 1;
        return Err(ApiError::server_error(status));
    }
    Ok(())
}

fn put_limits(headers: &mut HeaderMap, kind: &str, snapshot: &Snapshot) {
    put(headers, &format!("x-ratelimit-limit-{kind}"), &snapshot.limit.to_string());
    put(headers, &format!("x-ratelimit-remaining-{kind}"), &snapshot.remaining.to_string());
    put(headers, &format!("x-ratelimit-reset-{kind}"), &format_duration(snapshot.reset_ms));
}

fn put(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
        headers.insert(name, value);
    }
}
