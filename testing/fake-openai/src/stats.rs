//! Counters a test or benchmark reads to check how a client behaved (`FakeOpenAi::stats`, `GET /_fake/stats`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the fake has served since it started (or since [`crate::FakeOpenAi::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every API request received (control routes under `/_fake/` excluded), whatever it was answered.
    pub total_requests: u64,
    /// Requests per route, keyed like `POST /v1/responses` or `GET /v1/responses/{id}` (paths without the `/v1`
    /// prefix count under the same key); unknown paths count as `other`.
    pub by_route: BTreeMap<String, u64>,
    /// 429s served (`rate_limit_exceeded` and `insufficient_quota`).
    pub rate_limited: u64,
    /// Injected 5xx answers.
    pub server_errors: u64,
    /// 401s served.
    pub unauthorized: u64,
    /// Retrievals that reached their handler: `GET /v1/responses/{id}` and `GET /v1/batches/{id}`.
    pub retrievals: u64,
    pub responses_created: u64,
    pub responses_cancelled: u64,
    pub files_uploaded: u64,
    pub batches_created: u64,
    pub batches_cancelled: u64,
    /// Webhook deliveries acknowledged 2xx (a duplicated event counts twice).
    pub webhooks_delivered: u64,
    /// Webhook deliveries given up after their retries.
    pub webhooks_failed: u64,
    /// Events not sent on purpose (`webhook_loss_rate`).
    pub webhooks_lost: u64,
    /// Events sent twice on purpose (`webhook_duplicate_rate`).
    pub webhooks_duplicated: u64,
}

/// The route key a request counts under.
pub(crate) fn route_key(method: &str, path: &str) -> String {
    let rest = path.strip_prefix("/v1").filter(|r| r.is_empty() || r.starts_with('/')).unwrap_or(path);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let shape: Vec<&str> = segments.iter().enumerate().map(|(i, s)| if i == 1 { "{id}" } else { s }).collect();
    let known = matches!(
        shape.as_slice(),
        ["responses"]
            | ["responses", "{id}"]
            | ["responses", "{id}", "cancel"]
            | ["files"]
            | ["files", "{id}"]
            | ["files", "{id}", "content"]
            | ["batches"]
            | ["batches", "{id}"]
            | ["batches", "{id}", "cancel"]
    );
    if known { format!("{method} /v1/{}", shape.join("/")) } else { "other".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::route_key;

    #[test]
    fn keys_ignore_ids_and_the_prefix() {
        assert_eq!(route_key("GET", "/v1/responses/resp_abc"), "GET /v1/responses/{id}");
        assert_eq!(route_key("GET", "/responses/resp_abc"), "GET /v1/responses/{id}");
        assert_eq!(route_key("POST", "/v1/batches/batch_1/cancel"), "POST /v1/batches/{id}/cancel");
        assert_eq!(route_key("GET", "/v1/files/file-x/content"), "GET /v1/files/{id}/content");
        assert_eq!(route_key("GET", "/v1/nope/a/b/c"), "other");
        assert_eq!(route_key("GET", "/v1x/responses"), "other");
    }
}
