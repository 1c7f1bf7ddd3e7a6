//! `POST /api/webhooks/openai`: OpenAI's webhook events (Standard Webhooks signatures). The signature is the
//! authentication: no user token. A verified event is recorded once by its `webhook-id`, the response or batch it
//! names is marked pushed, and its job's worker is woken on `llm-jobs`; the worker reads the result, so this answers
//! in a few milliseconds. A bad signature gets 400 with the reason and touches nothing; an event about nothing of
//! ours, or of a type not handled, is acknowledged and logged (OpenAI would otherwise retry it for three days).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use bw_db::webhooks::{self, Event, Recorded, Subject};
use bw_queue::Outgoing;
use diesel_async::AsyncConnection as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::seams::Destination;
use crate::state::AppState;

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its response or batch is a job's; the job's worker was sent the job when it needed waking.
    Recorded,
    /// This `webhook-id` was received before: nothing recorded; its job is woken again while what the event
    /// announced still waits for the worker (the first wake may not have been sent).
    Duplicate,
    /// No job has its response or batch (yet): kept, in case the id is recorded later.
    Unknown,
    /// An event type this system does not use.
    Ignored,
}

/// The answer to a delivery (OpenAI only looks at the status).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Received {
    pub outcome: Outcome,
    /// The event's type, as sent.
    pub event_type: String,
    /// The job its response or batch belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<Uuid>,
    /// Whether the job's worker was sent the job.
    pub woke: bool,
}

/// An event's envelope: `{"id", "type", "created_at", "data"}`; `data.id` names the response or batch of the types
/// used here (other types carry other data, unread).
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// An OpenAI webhook event. Configure its URL in the OpenAI project's webhooks, with the signing secret it shows
/// given to the API as `OPENAI_WEBHOOK_SECRET` (or `OPENAI_WEBHOOK_SECRET_ID`, a Secrets Manager secret).
#[utoipa::path(post, path = "/api/webhooks/openai", tag = "webhooks", security(()),
    request_body(content = String, content_type = "application/json",
        description = "The event, exactly as OpenAI sent it (the signature covers its bytes)"),
    params(
        ("webhook-id" = String, Header, description = "The delivery's id, the same on each retry"),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds; within 300 s of the server's clock"),
        ("webhook-signature" = String, Header, description = "Space-separated `v1,<base64 HMAC-SHA256>` signatures"),
    ),
    responses(
        (status = 200, body = Received),
        (status = 400, body = ErrorBody, description = "A signature, timestamp or body that does not verify; nothing stored"),
        (status = 404, body = ErrorBody, description = "Webhooks are not configured on this API"),
    ))]
pub async fn openai(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let Some(secret) = &state.webhook_secret else {
        return Err(ApiError::NotFound(
            "OpenAI webhooks are not configured on this API: set OPENAI_WEBHOOK_SECRET (or OPENAI_WEBHOOK_SECRET_ID)"
                .to_owned(),
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let delivery = bw_webhooks::Headers {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    let verified = bw_webhooks::verify(secret, delivery, &body, chrono::Utc::now().timestamp()).map_err(|e| {
        tracing::warn!(webhook.id = delivery.id.unwrap_or_default(), reason = %e, "webhook refused");
        ApiError::BadRequest(e.to_string())
    })?;
    let envelope: Envelope = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not an OpenAI event ({{id, type, data}}): {e}")))?;
    let subject = match envelope.event_type.split_once('.').map(|(kind, _)| kind) {
        Some("response") => Subject::Response,
        Some("batch") => Subject::Batch,
        _ => {
            tracing::info!(webhook.id = %verified.id, event.type = %envelope.event_type, "webhook event of a type not used; acknowledged");
            return Ok(Json(Received {
                outcome: Outcome::Ignored,
                event_type: envelope.event_type,
                job_id: None,
                woke: false,
            }));
        }
    };
    let object_id = envelope.data.as_ref().and_then(|d| d.get("id")).and_then(|id| id.as_str()).ok_or_else(|| {
        ApiError::BadRequest(format!("the {} event carries no data.id naming its object", envelope.event_type))
    })?;
    let event = Event {
        webhook_id: &verified.id,
        event_id: &envelope.id,
        event_type: &envelope.event_type,
        subject,
        object_id,
    };
    let mut conn = bw_db::pool::conn(&state.pool).await.map_err(ApiError::Internal)?;
    let recorded = conn
        .transaction::<_, anyhow::Error, _>(async |c| webhooks::record(c, event).await)
        .await
        .map_err(ApiError::Internal)?;
    drop(conn);
    let (outcome, job_id, wake) = match recorded {
        Recorded::Duplicate { waiting } => (Outcome::Duplicate, waiting, waiting.is_some()),
        Recorded::Unknown => (Outcome::Unknown, None, false),
        Recorded::Job { job_id, wake } => (Outcome::Recorded, Some(job_id), wake),
    };
    // Sent once the event is committed, so the worker it wakes sees it. A send that fails answers 500: OpenAI
    // delivers the event again, and its redelivery, finding the item still waiting, wakes the job then.
    if let (Some(job_id), true) = (job_id, wake) {
        state.queue.send(Destination::LlmJobs, Outgoing::llm_job(job_id, None)).await.map_err(ApiError::Internal)?;
    }
    match outcome {
        Outcome::Unknown => tracing::warn!(webhook.id = %verified.id, event.type = %envelope.event_type,
            object.id = %object_id, "webhook event about no job of ours; acknowledged"),
        _ => {
            tracing::info!(webhook.id = %verified.id, event.type = %envelope.event_type, object.id = %object_id,
            job.id = ?job_id, ?outcome, woke = wake, "webhook event received")
        }
    }
    Ok(Json(Received { outcome, event_type: envelope.event_type, job_id, woke: wake }))
}
