//! Rate-limit headers, `Retry-After`, and Go-style durations.
//!
//! OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` on its answers. The reset values are Go
//! duration strings (`2ms`, `0s`, `0.65s`, `6m0s`, `1h2m3.5s`), not numbers. A 429 may carry `Retry-After` in seconds
//! (and OpenAI's own SDKs also read `retry-after-ms`).

use std::time::Duration;

use reqwest::header::HeaderMap;

/// The rate-limit state OpenAI reported on one answer. Any header may be missing (fakes, proxies), so every field is
/// optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// `x-ratelimit-limit-requests`: requests allowed per window.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-limit-tokens`: tokens allowed per window.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-requests`: time until the request budget is fully restored.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-reset-tokens`: time until the token budget is fully restored.
    pub reset_tokens: Option<Duration>,
}

impl RateLimits {
    /// The rate-limit headers of an answer, or `None` when it carried none of them.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| header_str(headers, name).and_then(|v| v.parse::<u64>().ok());
        let duration = |name: &str| header_str(headers, name).and_then(parse_go_duration);
        let limits = Self {
            limit_requests: number("x-ratelimit-limit-requests"),
            limit_tokens: number("x-ratelimit-limit-tokens"),
            remaining_requests: number("x-ratelimit-remaining-requests"),
            remaining_tokens: number("x-ratelimit-remaining-tokens"),
            reset_requests: duration("x-ratelimit-reset-requests"),
            reset_tokens: duration("x-ratelimit-reset-tokens"),
        };
        (limits != Self::default()).then_some(limits)
    }

    /// How long to hold the next request when a budget is used up (`remaining` 0); `None` when neither is, or the
    /// reset time is unknown. OpenAI's reset headers give the time until the budget is *fully* restored, and the
    /// budget refills continuously, so one more request is allowed after `reset / limit`; a request needs many
    /// tokens, so the token wait assumes about 1,000 of them. Both are capped by the full reset time.
    pub fn exhausted_wait(&self) -> Option<Duration> {
        let share = |reset: Option<Duration>, limit: Option<u64>, units: u64| {
            let reset = reset?;
            Some(match limit.filter(|l| *l > 0) {
                Some(limit) => reset.mul_f64((units as f64 / limit as f64).min(1.0)),
                None => reset,
            })
        };
        let requests =
            (self.remaining_requests == Some(0)).then(|| share(self.reset_requests, self.limit_requests, 1)).flatten();
        let tokens =
            (self.remaining_tokens == Some(0)).then(|| share(self.reset_tokens, self.limit_tokens, 1_000)).flatten();
        requests.max(tokens)
    }
}

/// The wait an answer asks for: `retry-after-ms` (milliseconds), else `Retry-After` in seconds (integer or decimal).
/// An HTTP-date `Retry-After` is not used by OpenAI and is ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    header_str(headers, "retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
}

/// Parses a Go duration string such as `2ms`, `0.65s`, `6m0s` or `1h2m3.5s` (units `h`, `m`, `s`, `ms`, `us`/`µs`,
/// `ns`). `0` alone is zero; a bare number is read as seconds. Anything else gives `None`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('-') {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let mut total = 0.0_f64;
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).ok()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_used_up_budget_waits_for_one_request_to_refill_not_for_the_whole_window() {
        let limits = RateLimits {
            limit_requests: Some(30),
            remaining_requests: Some(0),
            reset_requests: Some(Duration::from_secs(60)),
            ..RateLimits::default()
        };
        assert_eq!(limits.exhausted_wait(), Some(Duration::from_secs(2)));
        let unknown_limit = RateLimits { limit_requests: None, ..limits };
        assert_eq!(unknown_limit.exhausted_wait(), Some(Duration::from_secs(60)), "without the limit, the full reset");
        let tokens = RateLimits {
            limit_tokens: Some(10_000),
            remaining_tokens: Some(0),
            reset_tokens: Some(Duration::from_secs(60)),
            ..RateLimits::default()
        };
        assert_eq!(tokens.exhausted_wait(), Some(Duration::from_secs(6)), "about 1,000 tokens' worth");
        assert_eq!(RateLimits { remaining_requests: Some(3), ..limits }.exhausted_wait(), None);
    }

    use reqwest::header::{HeaderName, HeaderValue};

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("2ms"), ms(2));
        assert_eq!(parse_go_duration("0s"), ms(0));
        assert_eq!(parse_go_duration("0.65s"), ms(650));
        assert_eq!(parse_go_duration("17ms"), ms(17));
        assert_eq!(parse_go_duration("6m0s"), ms(360_000));
        assert_eq!(parse_go_duration("1h2m3.5s"), ms(3_723_500));
        assert_eq!(parse_go_duration("1.5"), ms(1500));
        assert_eq!(parse_go_duration("0"), ms(0));
        assert_eq!(parse_go_duration("250us"), Some(Duration::from_micros(250)));
        for bad in ["", "s", "5x", "-1s", "1..2s", "ms5"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn real_headers() {
        // Values recorded from the real API (openllmetry cassette, 2026-03-31).
        let map = headers(&[
            ("x-ratelimit-limit-requests", "30000"),
            ("x-ratelimit-limit-tokens", "150000000"),
            ("x-ratelimit-remaining-requests", "29999"),
            ("x-ratelimit-remaining-tokens", "149999965"),
            ("x-ratelimit-reset-requests", "2ms"),
            ("x-ratelimit-reset-tokens", "0s"),
        ]);
        let limits = RateLimits::from_headers(&map);
        assert_eq!(
            limits,
            Some(RateLimits {
                limit_requests: Some(30_000),
                limit_tokens: Some(150_000_000),
                remaining_requests: Some(29_999),
                remaining_tokens: Some(149_999_965),
                reset_requests: ms(2),
                reset_tokens: ms(0),
            })
        );
        assert_eq!(limits.and_then(|l| l.exhausted_wait()), None);
        assert_eq!(RateLimits::from_headers(&headers(&[("content-type", "application/json")])), None);
    }

    #[test]
    fn exhausted_budgets_give_the_longer_wait() {
        let map = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "0.65s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(RateLimits::from_headers(&map).and_then(|l| l.exhausted_wait()), ms(360_000));
    }

    #[test]
    fn retry_after_headers() {
        assert_eq!(retry_after(&headers(&[("retry-after", "1")])), ms(1000));
        assert_eq!(retry_after(&headers(&[("retry-after", "0.5")])), ms(500));
        assert_eq!(retry_after(&headers(&[("retry-after", "1"), ("retry-after-ms", "20")])), ms(20));
        assert_eq!(retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
