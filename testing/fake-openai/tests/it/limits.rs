//! Rate limits, quota, injected 5xx and latency.

use std::time::Instant;

use serde_json::json;

use bw_fake_openai::FakeConfig;

use crate::common::{Answer, Harness, fixture, keys, start};

async fn poll(h: &Harness) -> anyhow::Result<Answer> {
    h.get("/responses/resp_none").await
}

#[tokio::test]
async fn every_answer_carries_the_real_headers() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let answer = poll(&h).await?;
    let real = fixture("errors/openai_real_200_response_headers_x-ratelimit.openllmetry_vcr_derived.json")?;
    let real = &real["interaction_1_2026-03-31"];
    for name in
        keys(real).iter().filter(|k| k.starts_with("x-ratelimit-") || *k == "x-request-id" || *k == "openai-version")
    {
        assert!(answer.header(name).is_some(), "missing {name}");
    }
    // The recording: 30000 a minute, one used, resets in 2ms.
    assert_eq!(answer.header("x-ratelimit-limit-requests"), real["x-ratelimit-limit-requests"][0].as_str());
    assert_eq!(answer.header("x-ratelimit-remaining-requests"), real["x-ratelimit-remaining-requests"][0].as_str());
    assert_eq!(answer.header("x-ratelimit-reset-requests"), real["x-ratelimit-reset-requests"][0].as_str());
    assert_eq!(answer.header("x-ratelimit-limit-tokens"), Some("150000000"));
    let request_id = answer.header("x-request-id").unwrap_or("");
    assert!(request_id.starts_with("req_") && request_id.len() == 36, "{request_id}");
    assert_eq!(answer.header("openai-version"), Some("2020-10-01"));
    Ok(())
}

#[tokio::test]
async fn per_minute_limit_answers_429_with_retry_after() -> anyhow::Result<()> {
    let h = start(FakeConfig { rate_limit_per_minute: Some(3), ..Default::default() }).await?;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = poll(&h).await?;
        assert_eq!(answer.status, 404);
        remaining.push(answer.header("x-ratelimit-remaining-requests").unwrap_or("").to_owned());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let limited = poll(&h).await?;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("20"), "one request of three a minute frees up in 20 s");
    assert_eq!(limited.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(limited.header("x-ratelimit-limit-requests"), Some("3"));
    assert_eq!(limited.header("x-ratelimit-reset-requests"), Some("1m0s"));
    assert_eq!(limited.body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(limited.body["error"]["type"], "requests");
    assert_eq!(limited.body["error"]["param"], serde_json::Value::Null);
    assert_eq!(h.fake.stats().rate_limited, 1);
    assert_eq!(h.fake.stats().retrievals, 3, "the refused request never reached its handler");

    h.advance_ms(19_999);
    assert_eq!(poll(&h).await?.status, 429);
    h.advance_ms(1);
    let again = poll(&h).await?;
    assert_eq!(again.status, 404);
    assert_eq!(again.header("x-ratelimit-reset-requests"), Some("1m0s"));
    assert_eq!(h.fake.stats().total_requests, 6);
    Ok(())
}

#[tokio::test]
async fn injected_429s_follow_the_rate_and_carry_retry_after() -> anyhow::Result<()> {
    let config = FakeConfig { seed: 3, rate_limited_rate: 0.3, rate_limited_retry_after_secs: 2, ..Default::default() };
    let h = start(config).await?;
    let mut limited = 0;
    for _ in 0..300 {
        let answer = poll(&h).await?;
        match answer.status {
            429 => {
                limited += 1;
                assert_eq!(answer.header("retry-after"), Some("2"));
                assert_eq!(answer.body["error"]["code"], "rate_limit_exceeded");
            }
            status => assert_eq!(status, 404, "an admitted poll of an unknown response"),
        }
    }
    assert!((60..=120).contains(&limited), "{limited} of 300 at a rate of 0.3");
    assert_eq!(h.fake.stats().rate_limited, limited);
    assert_eq!(h.fake.stats().retrievals, 300 - limited, "a refused request never reached its handler");
    Ok(())
}

#[tokio::test]
async fn exhausted_quota_is_429_without_retry_after() -> anyhow::Result<()> {
    let h = start(FakeConfig { quota_exhausted: true, ..Default::default() }).await?;
    let answer = h.post("/responses", &json!({"model": "m", "input": "x", "background": true})).await?;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), None);
    assert_eq!(answer.body["error"]["code"], "insufficient_quota");
    assert_eq!(answer.body["error"]["type"], "insufficient_quota");
    let real = fixture("errors/openai_429_insufficient_quota_body_2023.sixarm_curl-chatgpt_real.json")?;
    assert_eq!(keys(&answer.body["error"]), keys(&real["error"]));
    assert_eq!(h.fake.stats().responses_created, 0);
    Ok(())
}

async fn statuses(seed: u64, count: usize) -> anyhow::Result<(Vec<u16>, Harness)> {
    let h = start(FakeConfig { seed, server_error_rate: 0.3, ..Default::default() }).await?;
    let mut seen = Vec::new();
    for _ in 0..count {
        let answer = poll(&h).await?;
        if answer.status >= 500 {
            assert_eq!(answer.body["error"]["type"], "server_error");
            assert_eq!(keys(&answer.body["error"]), ["code", "message", "param", "type"].map(String::from).into());
        }
        seen.push(answer.status);
    }
    Ok((seen, h))
}

#[tokio::test]
async fn server_errors_follow_the_rate_and_the_seed() -> anyhow::Result<()> {
    let (first, h) = statuses(7, 300).await?;
    let injected = first.iter().filter(|s| **s >= 500).count();
    assert!((60..=120).contains(&injected), "{injected} of 300 at a rate of 0.3");
    for status in [500, 502, 503] {
        assert!(first.contains(&status), "{status} never injected");
    }
    assert!(first.iter().all(|s| [404, 500, 502, 503].contains(s)));
    assert_eq!(h.fake.stats().server_errors, injected as u64);
    let (second, _) = statuses(7, 300).await?;
    assert_eq!(first, second, "the same seed injects the same faults");
    let (other, _) = statuses(8, 300).await?;
    assert_ne!(first, other);
    Ok(())
}

#[tokio::test]
async fn latency_is_added_to_every_request() -> anyhow::Result<()> {
    let h = start(FakeConfig { latency_ms: 50, ..Default::default() }).await?;
    let started = Instant::now();
    assert_eq!(poll(&h).await?.status, 404);
    assert!(started.elapsed().as_millis() >= 50, "{:?}", started.elapsed());
    h.fake.update_config(|c| c.latency_ms = 0)?;
    let started = Instant::now();
    poll(&h).await?;
    assert!(started.elapsed().as_millis() < 50, "{:?}", started.elapsed());
    Ok(())
}
