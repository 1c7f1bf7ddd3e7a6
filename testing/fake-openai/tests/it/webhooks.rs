//! The fake's webhooks: signed as Standard Webhooks (verified here with bw-webhooks, as the API verifies them), in
//! OpenAI's event shape, one per ended background response; lost and doubled on request; their ids unique across
//! fakes of the same seed (a receiver's store outlives a fake).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use bw_fake_openai::FakeConfig;
use serde_json::{Value, json};

use crate::common::start;

const KEY: &[u8] = b"fake-openai-test-webhook-secret!";

/// What the receiver got: each delivery's webhook-id and body, once verified.
type Got = Arc<Mutex<Vec<(String, Value)>>>;

/// A receiver on 127.0.0.1 that verifies each delivery and keeps it; its URL.
async fn receiver() -> anyhow::Result<(String, Got)> {
    let got: Got = Arc::default();
    let kept = Arc::clone(&got);
    let secret = bw_webhooks::Secret::from_bytes(KEY);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (kept, secret) = (Arc::clone(&kept), secret.clone());
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let delivery = bw_webhooks::Headers {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                };
                let Ok(verified) = bw_webhooks::verify(&secret, delivery, &body, chrono::Utc::now().timestamp()) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
                kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((verified.id, event));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, got))
}

fn hooked(url: &str) -> FakeConfig {
    FakeConfig {
        webhook_url: Some(url.to_owned()),
        webhook_secret: Some(bw_webhooks::Secret::from_bytes(KEY).to_whsec()),
        ..FakeConfig::default()
    }
}

async fn wait_for(got: &Got, n: usize) -> Vec<(String, Value)> {
    for _ in 0..100 {
        let now = got.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if now.len() >= n {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

fn background() -> Value {
    json!({"model": "gpt-4.1-nano", "input": "Is it remote?", "background": true})
}

#[tokio::test]
async fn an_ended_response_is_announced_signed_in_openais_shape_with_an_id_no_other_fake_repeats() -> anyhow::Result<()>
{
    let (url, got) = receiver().await?;
    // Two fakes of the same seed make the same response ids; their deliveries must not share webhook ids.
    let (a, b) = (start(hooked(&url)).await?, start(hooked(&url)).await?);
    let (ra, rb) = (a.post("/responses", &background()).await?, b.post("/responses", &background()).await?);
    assert_eq!(ra.body["id"], rb.body["id"], "the same seed, the same objects");
    let none = wait_for(&got, 1).await;
    assert!(none.is_empty(), "nothing announced before it ends: {none:?}");
    a.fake.advance(Duration::from_secs(5));
    b.fake.advance(Duration::from_secs(5));
    let deliveries = wait_for(&got, 2).await;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    for (webhook_id, event) in &deliveries {
        assert!(webhook_id.starts_with("wh_"), "{webhook_id}");
        assert_eq!(event["object"], "event");
        assert_eq!(event["type"], "response.completed");
        assert_eq!(event["data"]["id"], ra.body["id"]);
        assert!(event["id"].as_str().is_some_and(|id| id.starts_with("evt_")), "{event}");
        assert!(event["created_at"].is_u64(), "{event}");
    }
    assert_ne!(deliveries[0].0, deliveries[1].0, "webhook ids are unique");
    assert_ne!(deliveries[0].1["id"], deliveries[1].1["id"], "event ids are unique");
    assert_eq!(a.fake.stats().webhooks_delivered, 1);
    Ok(())
}

#[tokio::test]
async fn events_are_lost_or_doubled_on_request() -> anyhow::Result<()> {
    let (url, got) = receiver().await?;
    let lossy = start(FakeConfig { webhook_loss_rate: 1.0, ..hooked(&url) }).await?;
    let doubled = start(FakeConfig { webhook_duplicate_rate: 1.0, ..hooked(&url) }).await?;
    lossy.post("/responses", &background()).await?;
    doubled.post("/responses", &background()).await?;
    lossy.fake.advance(Duration::from_secs(5));
    doubled.fake.advance(Duration::from_secs(5));
    let deliveries = wait_for(&got, 2).await;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries[0].0, deliveries[1].0, "a doubled event is redelivered with its webhook-id");
    assert_eq!((lossy.fake.stats().webhooks_lost, lossy.fake.stats().webhooks_delivered), (1, 0));
    assert_eq!((doubled.fake.stats().webhooks_duplicated, doubled.fake.stats().webhooks_delivered), (1, 2));
    Ok(())
}
