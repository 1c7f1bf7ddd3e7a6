//! The Responses API: shapes against the real recordings, lifecycle, cancel, outcomes, decisions.

use std::sync::Arc;

use anyhow::Context as _;
use bw_fake_openai::{Decision, DecisionRule, FakeConfig, ResponseStatus, Timing};
use serde_json::{Value, json};

use crate::common::{assert_same_shape, fixture, keys, start};

fn background(input: &str) -> Value {
    json!({"model": "gpt-4o-2024-08-06", "input": [{"role": "user", "content": input}], "background": true})
}

fn output_text(response: &Value) -> anyhow::Result<&str> {
    let message = response["output"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["type"] == "message"))
        .context("no message item")?;
    message["content"][0]["text"].as_str().context("no output_text")
}

#[tokio::test]
async fn background_lifecycle_matches_the_recordings() -> anyhow::Result<()> {
    let config = FakeConfig {
        in_progress_after_ms: Timing::ms(100),
        complete_after_ms: Timing::ms(1_000),
        ..Default::default()
    };
    let h = start(config).await?;
    let created = h.post("/responses", &background("What is 2 + 2?")).await?;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_same_shape(&created.body, &fixture("responses/response_background_queued.pydantic_ai_vcr_real.json")?)?;
    let id = created.body["id"].as_str().context("id")?.to_owned();
    assert!(id.starts_with("resp_"));
    assert_eq!(created.body["status"], "queued");
    assert_eq!(created.body["created_at"], json!(h.fake.clock().now_secs()));
    assert_eq!(created.body["service_tier"], "auto");

    h.advance_ms(100);
    let running = h.get(&format!("/responses/{id}")).await?;
    assert_eq!(running.body["status"], "in_progress");
    assert_same_shape(&running.body, &fixture("responses/response_background_in_progress.pydantic_ai_vcr_real.json")?)?;

    h.advance_ms(899);
    assert_eq!(h.fake.response_status(&id), Some(ResponseStatus::InProgress));
    h.advance_ms(1);
    let done = h.get(&format!("/responses/{id}?stream=false")).await?;
    assert_eq!(done.body["status"], "completed");
    assert_same_shape(&done.body, &fixture("responses/response_background_completed.pydantic_ai_vcr_real.json")?)?;
    assert_eq!(done.body["service_tier"], "default");
    assert_eq!(done.body["completed_at"], json!(h.fake.clock().now_secs()));
    let decision: Decision = serde_json::from_str(output_text(&done.body)?)?;
    assert!(!decision.reason.is_empty());
    let usage = &done.body["usage"];
    assert_eq!(
        usage["total_tokens"],
        json!(usage["input_tokens"].as_u64().unwrap_or(0) + usage["output_tokens"].as_u64().unwrap_or(0))
    );
    assert_eq!(h.fake.stats().retrievals, 2);
    assert_eq!(h.fake.stats().responses_created, 1);
    Ok(())
}

#[tokio::test]
async fn echoes_format_and_metadata_and_decides_by_keyword() -> anyhow::Result<()> {
    let rule = DecisionRule { keywords: vec!["crypto".into()], hash_flag_rate: 0.0, ..Default::default() };
    let h = start(FakeConfig { complete_after_ms: Timing::ms(0), decision: rule, ..Default::default() }).await?;
    let format = json!({"type": "json_schema", "name": "decision", "strict": true, "schema": {"type": "object"}});
    let mut request = background("Senior Crypto Trader, remote");
    request["text"] = json!({"format": format});
    request["metadata"] = json!({"job_id": "42", "item_id": "7"});
    request["instructions"] = json!("Is this posting about crypto?");
    let created = h.post("/responses", &request).await?;
    assert_eq!(created.body["status"], "queued", "a background create answers queued even when no time is due");
    assert_eq!(created.body["text"]["format"], format);
    assert_eq!(created.body["metadata"], json!({"job_id": "42", "item_id": "7"}));
    assert_eq!(created.body["instructions"], "Is this posting about crypto?");
    let done = h.get(&format!("/responses/{}", created.body["id"].as_str().unwrap_or(""))).await?;
    let decision: Decision = serde_json::from_str(output_text(&done.body)?)?;
    assert_eq!((decision.flag, decision.label.as_str()), (true, "crypto"));

    let other = h.post("/responses", &background("Nurse, night shifts")).await?;
    let done = h.get(&format!("/responses/{}", other.body["id"].as_str().unwrap_or(""))).await?;
    let decision: Decision = serde_json::from_str(output_text(&done.body)?)?;
    assert_eq!((decision.flag, decision.label.as_str()), (false, "no_match"));
    Ok(())
}

#[tokio::test]
async fn custom_decider_replaces_the_rule() -> anyhow::Result<()> {
    let h = start(FakeConfig { complete_after_ms: Timing::ms(0), ..Default::default() }).await?;
    h.fake.set_decider(Some(Arc::new(|input| Decision {
        flag: input.text.len() > 5,
        label: format!("len-{}", input.text.len()),
        reason: input.model.to_owned(),
    })));
    let created = h.post("/responses", &background("abcdefgh")).await?;
    let done = h.get(&format!("/responses/{}", created.body["id"].as_str().unwrap_or(""))).await?;
    let decision: Decision = serde_json::from_str(output_text(&done.body)?)?;
    assert_eq!(decision, Decision { flag: true, label: "len-8".into(), reason: "gpt-4o-2024-08-06".into() });
    Ok(())
}

#[tokio::test]
async fn reasoning_item_comes_before_the_message() -> anyhow::Result<()> {
    let h = start(FakeConfig { complete_after_ms: Timing::ms(0), reasoning_items: true, ..Default::default() }).await?;
    let created = h.post("/responses", &background("x")).await?;
    let done = h.get(&format!("/responses/{}", created.body["id"].as_str().unwrap_or(""))).await?;
    let output = done.body["output"].as_array().context("output")?;
    // The recorded gpt-5-nano reasoning item (openllmetry_vcr/test_responses_reasoning.yaml) is {id, type, summary}.
    assert_eq!(keys(&output[0]), ["id", "summary", "type"].map(String::from).into());
    assert_eq!(output[0]["type"], "reasoning");
    assert!(output[0]["id"].as_str().is_some_and(|id| id.starts_with("rs_")));
    assert_eq!(output[1]["type"], "message");
    assert!(done.body["usage"]["output_tokens_details"]["reasoning_tokens"].as_u64() > Some(0));
    Ok(())
}

#[tokio::test]
async fn ranged_timings_are_drawn_per_response_and_seeded() -> anyhow::Result<()> {
    let config = FakeConfig {
        seed: 42,
        in_progress_after_ms: Timing::Range { min_ms: 0, max_ms: 200 },
        complete_after_ms: Timing::Range { min_ms: 300, max_ms: 900 },
        ..Default::default()
    };
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let h = start(config.clone()).await?;
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(h.post("/responses", &background(&format!("item {i}"))).await?.body["id"].clone());
        }
        h.advance_ms(600);
        let mut statuses = Vec::new();
        for id in &ids {
            statuses.push(h.get(&format!("/responses/{}", id.as_str().unwrap_or(""))).await?.body["status"].clone());
        }
        h.advance_ms(300);
        for id in &ids {
            assert_eq!(h.fake.response_status(id.as_str().unwrap_or("")), Some(ResponseStatus::Completed));
        }
        patterns.push((ids, statuses));
    }
    let statuses = &patterns[0].1;
    assert!(statuses.contains(&json!("in_progress")) && statuses.contains(&json!("completed")), "{statuses:?}");
    assert_eq!(patterns[0], patterns[1], "the same seed must give the same ids and timings");
    Ok(())
}

#[tokio::test]
async fn cancel_follows_the_real_rules() -> anyhow::Result<()> {
    let h = start(FakeConfig { complete_after_ms: Timing::ms(1_000), ..Default::default() }).await?;
    let id = h.post("/responses", &background("a")).await?.body["id"].as_str().unwrap_or("").to_owned();
    let cancelled = h.post(&format!("/responses/{id}/cancel"), &json!({})).await?;
    assert_eq!(cancelled.status, 200);
    assert_eq!((cancelled.body["status"].as_str(), cancelled.body["output"].clone()), (Some("cancelled"), json!([])));
    assert_eq!(cancelled.body["usage"], Value::Null);
    let documented = fixture("responses/response_cancel_background_cancelled.openapi_example.json")?;
    assert!(keys(&documented).is_subset(&keys(&cancelled.body)), "every documented field of a cancelled response");
    let again = h.post(&format!("/responses/{id}/cancel"), &json!({})).await?;
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("cancelled")));
    h.advance_ms(2_000);
    assert_eq!(h.fake.response_status(&id), Some(ResponseStatus::Cancelled), "a cancel is final");

    let done = h.post("/responses", &background("b")).await?.body["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(1_000);
    let refused = h.post(&format!("/responses/{done}/cancel"), &json!({})).await?;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["message"], "Cannot cancel a completed response.");
    assert_eq!(refused.body["error"]["type"], "invalid_request_error");

    let sync = h.post("/responses", &json!({"model": "m", "input": "c"})).await?;
    assert_eq!(sync.body["status"], "completed", "a request without background is answered finished");
    let refused = h.post(&format!("/responses/{}/cancel", sync.body["id"].as_str().unwrap_or("")), &json!({})).await?;
    assert_eq!(refused.body["error"]["message"], "Cannot cancel a synchronous response.");

    let unknown = h.post("/responses/resp_nope/cancel", &json!({})).await?;
    assert_eq!(unknown.status, 404);
    assert_eq!(h.fake.stats().responses_cancelled, 1);
    Ok(())
}

#[tokio::test]
async fn injected_outcomes_look_like_the_real_ones() -> anyhow::Result<()> {
    let h = start(FakeConfig { complete_after_ms: Timing::ms(10), failed_rate: 1.0, ..Default::default() }).await?;
    let failed = h.post("/responses", &background("a")).await?.body["id"].as_str().unwrap_or("").to_owned();
    h.fake.update_config(|c| {
        c.failed_rate = 0.0;
        c.incomplete_rate = 1.0;
    })?;
    let incomplete = h.post("/responses", &background("b")).await?.body["id"].as_str().unwrap_or("").to_owned();
    h.fake.update_config(|c| {
        c.incomplete_rate = 0.0;
        c.malformed_rate = 1.0;
    })?;
    let mut malformed = Vec::new();
    for i in 0..8 {
        malformed.push(
            h.post("/responses", &background(&format!("c{i}"))).await?.body["id"].as_str().unwrap_or("").to_owned(),
        );
    }
    h.advance_ms(10);

    let body = h.get(&format!("/responses/{failed}")).await?.body;
    assert_eq!(body["status"], "failed");
    assert_eq!(keys(&body["error"]), ["code", "message"].map(String::from).into());
    assert_eq!(body["error"]["code"], "server_error");
    assert_eq!((body["output"].clone(), body["usage"].clone()), (json!([]), Value::Null));
    let event = fixture("responses/event_response_failed.openapi_example.json")?;
    assert_eq!(keys(&body["error"]), keys(&event["response"]["error"]));

    let body = h.get(&format!("/responses/{incomplete}")).await?.body;
    assert_eq!(body["status"], "incomplete");
    assert_eq!(body["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(body["output"][0]["status"], "incomplete");
    assert!(serde_json::from_str::<Decision>(output_text(&body)?).is_err());

    for id in malformed {
        let body = h.get(&format!("/responses/{id}")).await?.body;
        assert_eq!(body["status"], "completed");
        let text = output_text(&body)?;
        assert!(serde_json::from_str::<Decision>(text).is_err(), "{text} should not parse as a decision");
    }
    Ok(())
}

#[tokio::test]
async fn routes_answer_without_the_v1_prefix_too() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let root = h.server.root_url();
    let answer = h
        .send(h.client.post(format!("{root}/responses")).bearer_auth(crate::common::KEY).json(&background("x")))
        .await?;
    assert_eq!(answer.status, 200);
    let id = answer.body["id"].as_str().unwrap_or("");
    assert_eq!(h.get(&format!("/responses/{id}")).await?.status, 200);
    assert_eq!(h.fake.stats().by_route.get("POST /v1/responses"), Some(&1));
    Ok(())
}
