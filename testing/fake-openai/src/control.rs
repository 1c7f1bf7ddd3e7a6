//! Steering the fake from another process (the demo, a benchmark), no token needed:
//!
//! - `GET /_fake/stats`: the [`crate::Stats`] counters; `POST /_fake/stats/reset` zeroes them.
//! - `GET /_fake/config`: the current [`crate::FakeConfig`]; `POST /_fake/config` with a partial JSON object
//!   changes the named settings (400 naming the bad field otherwise) and answers the new config.
//! - `POST /_fake/advance` `{"ms": N}`: moves the fake's clock forward.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::routes::parse_json;
use crate::{FakeConfig, FakeOpenAi, Stats};

pub(crate) fn router() -> Router<FakeOpenAi> {
    Router::new()
        .route("/_fake/stats", get(stats))
        .route("/_fake/stats/reset", post(reset_stats))
        .route("/_fake/config", get(config).post(set_config))
        .route("/_fake/advance", post(advance))
}

async fn stats(State(fake): State<FakeOpenAi>) -> Json<Stats> {
    Json(fake.stats())
}

async fn reset_stats(State(fake): State<FakeOpenAi>) -> Json<Stats> {
    fake.reset_stats();
    Json(fake.stats())
}

async fn config(State(fake): State<FakeOpenAi>) -> Json<FakeConfig> {
    Json(fake.config())
}

async fn set_config(State(fake): State<FakeOpenAi>, body: Bytes) -> Result<Json<FakeConfig>, ApiError> {
    let patch = parse_json(&body)?;
    let config = fake
        .config()
        .patched(&patch)
        .map_err(|error| ApiError::invalid(error.to_string(), Some(&error.field), Some("invalid_value")))?;
    fake.set_config(config).map_err(|error| ApiError::invalid(error.to_string(), Some(&error.field), None))?;
    Ok(Json(fake.config()))
}

async fn advance(State(fake): State<FakeOpenAi>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json(&body)?;
    let ms = match body.get("ms") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
        Some(other) => return Err(ApiError::invalid_type("ms", "a non-negative integer", other)),
        None => return Err(ApiError::missing("ms")),
    };
    fake.advance(Duration::from_millis(ms));
    Ok(Json(json!({"now_ms": fake.clock().now_ms()})))
}
