//! `POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::Value;

use super::model::{BatchRecord, BatchStatus, Plan};
use super::output::{Planning, ensure_result_files, plan_lines};
use super::validate::validate;
use crate::FakeOpenAi;
use crate::errors::ApiError;
use crate::ids;
use crate::responses::request::metadata;
use crate::routes::parse_json;

/// The endpoints the fake can run lines for (the real API also takes embeddings, completions, moderations).
pub(crate) const ENDPOINTS: [&str; 2] = ["/v1/responses", "/v1/chat/completions"];

fn required_string<'a>(body: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(key)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ApiError::invalid_type(key, "a string", other)),
    }
}

/// Creates a batch from an uploaded `purpose=batch` file. It starts `validating`; a bad file makes it `failed`
/// when validation ends, as the real API does.
pub(crate) async fn create(State(fake): State<FakeOpenAi>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json(&body)?;
    if !body.is_object() {
        return Err(ApiError::invalid_type("body", "an object", &body));
    }
    let input_file_id = required_string(&body, "input_file_id")?;
    if !input_file_id.starts_with("file") {
        return Err(ApiError::invalid(
            format!("Invalid 'input_file_id': '{input_file_id}'. Expected an ID that begins with 'file'."),
            Some("input_file_id"),
            Some("invalid_value"),
        ));
    }
    let endpoint = required_string(&body, "endpoint")?;
    if !ENDPOINTS.contains(&endpoint) {
        return Err(ApiError::invalid_value("endpoint", endpoint, &ENDPOINTS));
    }
    let window = required_string(&body, "completion_window")?;
    if window != "24h" {
        return Err(ApiError::invalid_value("completion_window", window, &["24h"]));
    }
    let metadata = metadata(body.get("metadata"))?;
    let decider = fake.state.decider();
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    let file = inner.files.get(input_file_id).ok_or_else(|| crate::files::not_found(input_file_id))?;
    if file.purpose != "batch" {
        return Err(ApiError::invalid(
            format!(
                "Invalid 'input_file_id': '{input_file_id}'. The file must have been uploaded with purpose 'batch'."
            ),
            Some("input_file_id"),
            Some("invalid_value"),
        ));
    }
    let config = &inner.config;
    let rng = &mut inner.rng;
    let in_progress_ms = now_ms.saturating_add(config.batch_validating_ms.draw(rng));
    let finalizing_ms = in_progress_ms.saturating_add(config.batch_in_progress_ms.draw(rng));
    let done_ms = finalizing_ms.saturating_add(config.batch_finalizing_ms.draw(rng));
    let cancelling_for_ms = config.batch_cancelling_ms.draw(rng);
    let limits = super::validate::Limits { max_requests: config.batch_max_requests, max_bytes: config.batch_max_bytes };
    let (plan, model) = match validate(&file.content, endpoint, limits) {
        Ok(lines) => {
            let model = lines.first().and_then(|l| l.body.get("model")).and_then(Value::as_str).map(str::to_owned);
            let planning =
                Planning { endpoint, config, decider: decider.as_ref(), running_ms: (in_progress_ms, finalizing_ms) };
            (Plan::Run(plan_lines(&lines, &planning, rng)), model)
        }
        Err(errors) => (Plan::Invalid(errors), None),
    };
    let plan = match (plan, config.batch_enqueued_token_limit) {
        (Plan::Run(lines), Some(limit)) => {
            let enqueued: u64 =
                inner.batches.values().filter(|b| b.terminal_ms(now_ms).is_none()).map(|b| b.input_tokens()).sum();
            let tokens: u64 = lines.iter().map(|l| l.tokens.0).sum();
            if enqueued + tokens > limit {
                Plan::Invalid(vec![token_limit_exceeded(model.as_deref().unwrap_or("the model"), limit)])
            } else {
                Plan::Run(lines)
            }
        }
        (plan, _) => plan,
    };
    let record = BatchRecord {
        id: ids::batch(rng),
        endpoint: endpoint.to_owned(),
        input_file_id: input_file_id.to_owned(),
        metadata,
        model,
        created_ms: now_ms,
        in_progress_ms,
        finalizing_ms,
        done_ms,
        cancelling_for_ms,
        cancelling_ms: None,
        plan,
        files: None,
    };
    // Always answered `validating`, as the real create call is, even when validation takes no time.
    let rendered = record.render(now_ms.min(in_progress_ms.saturating_sub(1)));
    inner.stats.batches_created += 1;
    inner.outbox.watch_batch(&record.id, now_ms);
    inner.batches.insert(record.id.clone(), record);
    Ok(Json(rendered))
}

/// The validation error of a batch past the organisation's enqueued-token limit, worded as OpenAI's.
fn token_limit_exceeded(model: &str, limit: u64) -> Value {
    serde_json::json!({
        "code": "token_limit_exceeded",
        "message": format!(
            "Enqueued token limit reached for {model} in organization org-fake. Limit: {limit} enqueued tokens. \
             Please try again once some in_progress batches have been completed."
        ),
        "param": null,
        "line": null,
    })
}

/// Retrieves a batch as it stands now, writing its result files the first time it is seen ended.
pub(crate) async fn retrieve(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    inner.stats.retrievals += 1;
    let batch = inner.batches.get_mut(&id).ok_or_else(|| not_found(&id))?;
    ensure_result_files(batch, now_ms, &mut inner.files, &mut inner.rng);
    Ok(Json(batch.render(now_ms)))
}

/// Cancels a batch that has not ended: it answers `cancelling`, and becomes `cancelled` after the configured
/// time, keeping the results of lines that had finished. Cancelling again answers the batch as it is; an ended
/// batch is refused with 400.
pub(crate) async fn cancel(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now_ms = fake.state.clock.now_ms();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    let batch = inner.batches.get_mut(&id).ok_or_else(|| not_found(&id))?;
    match batch.status(now_ms) {
        BatchStatus::Validating | BatchStatus::InProgress | BatchStatus::Finalizing => {
            batch.cancelling_ms = Some(now_ms);
            inner.stats.batches_cancelled += 1;
        }
        BatchStatus::Cancelling | BatchStatus::Cancelled => {}
        ended @ (BatchStatus::Completed | BatchStatus::Failed | BatchStatus::Expired) => {
            return Err(ApiError::invalid(
                format!("Cannot cancel a batch with status '{}'.", ended.as_str()),
                None,
                None,
            ));
        }
    }
    ensure_result_files(batch, now_ms, &mut inner.files, &mut inner.rng);
    Ok(Json(batch.render(now_ms)))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No batch found with id '{id}'."), None)
}
