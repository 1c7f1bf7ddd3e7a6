//! `/_fake/` control routes and the library's config API.

use anyhow::Context as _;
use serde_json::json;

use bw_fake_openai::{FakeConfig, Stats, Timing};

use crate::common::start;

#[tokio::test]
async fn runtime_config_is_validated_and_names_the_bad_field() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let url = format!("{}/_fake/config", h.server.root_url());
    let ok = h
        .send(h.client.post(&url).json(&json!({"latency_ms": 5, "complete_after_ms": {"min_ms": 1, "max_ms": 9}})))
        .await?;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["latency_ms"], 5);
    assert_eq!(h.fake.config().complete_after_ms, Timing::Range { min_ms: 1, max_ms: 9 });
    assert_eq!(h.fake.config().api_key.as_deref(), Some(crate::common::KEY), "other settings kept");

    for (patch, field) in [
        (json!({"failed_rate": "often"}), "failed_rate"),
        (json!({"failed_rate": 2.0}), "failed_rate"),
        (json!({"latency_ms": -1}), "latency_ms"),
        (json!({"no_such_setting": true}), "no_such_setting"),
        (json!({"server_error_statuses": [404]}), "server_error_statuses"),
        (json!({"rate_limit_per_minute": 0}), "rate_limit_per_minute"),
    ] {
        let refused = h.send(h.client.post(&url).json(&patch)).await?;
        assert_eq!(refused.status, 400, "{patch}");
        assert_eq!(refused.body["error"]["param"], field, "{patch}: {}", refused.text);
        assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains(field)));
    }
    let not_json = h.send(h.client.post(&url).body("nope")).await?;
    assert_eq!(not_json.status, 400);
    assert_eq!(h.fake.config().latency_ms, 5, "refused patches change nothing");
    let shown = h.send(h.client.get(&url)).await?;
    assert_eq!(serde_json::from_value::<FakeConfig>(shown.body)?, h.fake.config());

    let bad = FakeConfig { incomplete_rate: 0.7, failed_rate: 0.7, ..FakeConfig::default() };
    assert_eq!(h.fake.set_config(bad).err().map(|e| e.field), Some("malformed_rate".to_owned()));
    Ok(())
}

#[tokio::test]
async fn stats_and_clock_are_reachable_over_http() -> anyhow::Result<()> {
    let h = start(FakeConfig { complete_after_ms: Timing::ms(5_000), ..Default::default() }).await?;
    let created = h.post("/responses", &json!({"model": "m", "input": "x", "background": true})).await?;
    let id = created.body["id"].as_str().context("id")?.to_owned();
    h.get(&format!("/responses/{id}")).await?;
    h.get(&format!("/responses/{id}")).await?;
    let root = h.server.root_url();
    let stats: Stats = serde_json::from_value(h.send(h.client.get(format!("{root}/_fake/stats"))).await?.body)?;
    assert_eq!(stats, h.fake.stats());
    assert_eq!(stats.total_requests, 3, "control requests are not counted");
    assert_eq!(stats.by_route.get("GET /v1/responses/{id}"), Some(&2));
    assert_eq!(stats.by_route.get("POST /v1/responses"), Some(&1));
    assert_eq!(stats.retrievals, 2);

    let moved = h.send(h.client.post(format!("{root}/_fake/advance")).json(&json!({"ms": 5_000}))).await?;
    assert_eq!(moved.body["now_ms"], json!(h.fake.clock().now_ms()));
    assert_eq!(h.get(&format!("/responses/{id}")).await?.body["status"], "completed");
    let reset = h.send(h.client.post(format!("{root}/_fake/stats/reset"))).await?;
    assert_eq!(reset.body["total_requests"], 0);
    Ok(())
}
