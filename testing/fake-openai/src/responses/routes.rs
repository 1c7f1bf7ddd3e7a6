//! `POST /v1/responses`, `GET /v1/responses/{id}`, `POST /v1/responses/{id}/cancel`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::Value;

use super::model::{Creation, ResponseRecord, ResponseStatus};
use crate::FakeOpenAi;
use crate::errors::ApiError;
use crate::routes::parse_json;

/// Creates a response. With `background: true` it is answered `queued` and moves on with the clock; without, it
/// is answered already finished (the fake does not make the caller wait).
pub(crate) async fn create(State(fake): State<FakeOpenAi>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json(&body)?;
    let decider = fake.state.decider();
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    let how = Creation {
        now_ms,
        config: &inner.config,
        decider: decider.as_ref(),
        background: None,
        allow_failed: true,
        custom_id: None,
    };
    let record = ResponseRecord::create(&body, &how, &mut inner.rng)?;
    let rendered = record.render_created();
    inner.stats.responses_created += 1;
    if record.background {
        inner.outbox.watch_response(&record.id, record.done_ms);
    }
    inner.responses.insert(record.id.clone(), record);
    Ok(Json(rendered))
}

/// Retrieves a response as it stands now.
pub(crate) async fn retrieve(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    inner.stats.retrievals += 1;
    match inner.responses.get(&id) {
        Some(record) => Ok(Json(record.render(now_ms))),
        None => Err(not_found(&id)),
    }
}

/// Cancels a background response that is still queued or in progress. Cancelling a cancelled one answers it
/// again (idempotent, as the background-mode guide says); a finished one is refused with 400, a synchronous one
/// too.
pub(crate) async fn cancel(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    let Some(record) = inner.responses.get_mut(&id) else {
        return Err(not_found(&id));
    };
    if !record.background {
        return Err(ApiError::invalid("Cannot cancel a synchronous response.", None, None));
    }
    match record.status(now_ms) {
        ResponseStatus::Queued | ResponseStatus::InProgress => {
            record.cancelled_ms = Some(now_ms);
            inner.stats.responses_cancelled += 1;
            inner.outbox.look_now(crate::webhooks::Subject::Response, &id, now_ms);
            Ok(Json(record.render(now_ms)))
        }
        ResponseStatus::Cancelled => Ok(Json(record.render(now_ms))),
        ResponseStatus::Completed => Err(ApiError::invalid("Cannot cancel a completed response.", None, None)),
        ResponseStatus::Failed => Err(ApiError::invalid("Cannot cancel a failed response.", None, None)),
        ResponseStatus::Incomplete => Err(ApiError::invalid("Cannot cancel an incomplete response.", None, None)),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Response with id '{id}' not found."), None)
}
