//! The operators' routes (403 for everyone else): `GET /api/ops/queues`, and for a work queue's dead-letter queue
//! `POST /api/ops/queues/{name}/dlq/peek` (its messages stay) and `POST /api/ops/queues/{name}/dlq/redrive` (a dry
//! run unless asked; a real one starts an SQS message move task back to the work queue and answers at once).
//! `{name}` is a work queue's logical name (`runs`, `llm-jobs`). The work itself is `bw_ops`'s, which `ctl` shares.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use bw_ops::peek::Peeked;
use bw_ops::redrive::RedriveError;
use bw_ops::target::{work_queue, work_queue_names};
use bw_ops::tasks::Task;
use bw_queue::definitions::QueueDef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, page_limit};
use crate::state::AppState;

/// The operators' routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(queues)).routes(routes!(peek)).routes(routes!(redrive))
}

/// The system's work queues.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueView>,
}

/// A work queue: its messages, its consumers' state, and its DLQ.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueView {
    /// Logical name (`runs`, `llm-jobs`): the `{name}` of the DLQ routes.
    pub name: String,
    /// The SQS queue's name (`{QUEUE_PREFIX}runs`).
    pub queue_name: String,
    pub url: String,
    pub visible: i64,
    pub in_flight: i64,
    pub delayed: i64,
    /// Age of the oldest message in seconds (CloudWatch's `ApproximateAgeOfOldestMessage`); null when CloudWatch
    /// has no data, as on LocalStack.
    pub oldest_age_secs: Option<i64>,
    /// Whether an operator paused its consumers (`ctl consumers pause`).
    pub paused: bool,
    /// Its dead-letter queue; null when it has no redrive policy.
    pub dlq: Option<DlqView>,
}

/// A work queue's dead-letter queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DlqView {
    /// Logical name (`runs-dlq`).
    pub name: String,
    /// The SQS queue's name.
    pub queue_name: String,
    pub url: String,
    pub visible: i64,
}

/// Every work queue with its depth, its consumers' state and its DLQ's depth. Read-only: nothing is received.
#[utoipa::path(get, path = "/api/ops/queues", tag = "ops",
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn queues(State(state): State<AppState>, _: Operator) -> Result<axum::Json<QueueList>, ApiError> {
    let ops = state.ops.as_ref();
    let queues = ops.queues().await?;
    let queues = queues
        .into_iter()
        .map(|work| QueueView {
            name: work.name.to_owned(),
            queue_name: work.queue.name,
            url: work.queue.url,
            visible: work.depth.visible,
            in_flight: work.depth.in_flight,
            delayed: work.depth.delayed,
            oldest_age_secs: work.oldest_age_secs,
            paused: work.paused,
            dlq: work.dlq.map(|dlq| DlqView {
                name: logical_name(ops.prefix(), &dlq.queue.name),
                queue_name: dlq.queue.name,
                url: dlq.queue.url,
                visible: dlq.depth.visible,
            }),
        })
        .collect();
    Ok(axum::Json(QueueList { queues }))
}

/// A queue's name without the system's prefix.
fn logical_name(prefix: &str, queue_name: &str) -> String {
    queue_name.strip_prefix(prefix).unwrap_or(queue_name).to_owned()
}

/// The most messages one peek shows: each receive takes at most 10, and the peek holds them hidden meanwhile.
const PEEK_MAX: i64 = 50;

/// Body of a peek.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeekRequest {
    /// Messages to show: 1-50, default 10.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Messages of a DLQ, oldest first; they stay in the DLQ.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeekedList {
    pub messages: Vec<PeekedMessage>,
}

/// One dead-lettered message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeekedMessage {
    pub message_id: String,
    pub body: String,
    /// Message attributes (trace context: `run_id` or `job_id`, `trace_id`).
    pub attributes: BTreeMap<String, String>,
    /// Deliveries so far, this peek included.
    pub receive_count: u32,
    /// When it was first sent (SQS keeps the time when it moves a message to the DLQ).
    pub sent_at: Option<DateTime<Utc>>,
    /// Why its consumer failed it, when the consumer could record it.
    pub reason: Option<String>,
}

impl From<Peeked> for PeekedMessage {
    fn from(m: Peeked) -> Self {
        Self {
            message_id: m.message_id,
            body: m.body,
            attributes: m.attributes,
            receive_count: m.receive_count,
            sent_at: m.sent_at,
            reason: m.failure.map(|f| f.reason),
        }
    }
}

/// Up to `limit` messages of the work queue's DLQ with the failure reasons their consumers recorded. They are
/// received with a short hold and made visible again at once, so they stay in the DLQ.
#[utoipa::path(post, path = "/api/ops/queues/{name}/dlq/peek", tag = "ops", request_body = PeekRequest,
    params(("name" = String, Path, description = "A work queue's logical name: `runs` or `llm-jobs`")),
    responses((status = 200, body = PeekedList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn peek(
    State(state): State<AppState>,
    _: Operator,
    Path(name): Path<String>,
    Json(request): Json<PeekRequest>,
) -> Result<axum::Json<PeekedList>, ApiError> {
    let limit = page_limit(request.limit, 10, PEEK_MAX)?;
    let queue = known_work_queue(&name)?;
    let limit = usize::try_from(limit).unwrap_or(10);
    let peeked = state.ops.peek(&queue, limit).await?;
    Ok(axum::Json(PeekedList { messages: peeked.into_iter().map(PeekedMessage::from).collect() }))
}

/// The work queue called `name`; 404 naming the system's queues for any other name.
fn known_work_queue(name: &str) -> Result<QueueDef, ApiError> {
    work_queue(name).ok_or_else(|| {
        ApiError::NotFound(format!("unknown queue {name:?}: the system's queues are {}", work_queue_names().join(", ")))
    })
}

/// Body of a redrive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    /// Only count what would move (the default); `false` starts the move.
    #[serde(default)]
    #[schema(default = true)]
    pub dry_run: Option<bool>,
}

/// What a redrive would do, or started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RedriveOutcome {
    pub dry_run: bool,
    /// Messages in the DLQ (visible, being peeked, or delayed): what moves. 0: nothing was started.
    pub messages: i64,
    /// The SQS name of the queue they go back to: the work queue.
    pub destination: String,
    /// The message move task started; null on a dry run or when the DLQ was empty.
    pub task: Option<Task>,
}

/// Puts the whole DLQ back on its work queue. A dry run (the default) only counts; otherwise an SQS message move
/// task starts (202) and moves the messages in the background: the queues' depths show its progress. An empty DLQ
/// starts nothing; a task already running on the DLQ answers 409 with that task.
#[utoipa::path(post, path = "/api/ops/queues/{name}/dlq/redrive", tag = "ops", request_body = RedriveRequest,
    params(("name" = String, Path, description = "A work queue's logical name: `runs` or `llm-jobs`")),
    responses((status = 200, description = "A dry run, or an empty DLQ", body = RedriveOutcome),
              (status = 202, description = "A message move task started", body = RedriveOutcome),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn redrive(
    State(state): State<AppState>,
    Operator(operator): Operator,
    Path(name): Path<String>,
    Json(request): Json<RedriveRequest>,
) -> Result<(StatusCode, axum::Json<RedriveOutcome>), ApiError> {
    let dry_run = request.dry_run.unwrap_or(true);
    let queue = known_work_queue(&name)?;
    let redrive = state.ops.redrive(&queue, dry_run).await.map_err(|e| {
        let message = e.to_string();
        match e {
            RedriveError::AlreadyRunning(task) => ApiError::Conflict { message, details: json!({ "task": task }) },
            RedriveError::Failed(error) => ApiError::Internal(error),
        }
    })?;
    let outcome =
        RedriveOutcome { dry_run, messages: redrive.messages, destination: redrive.destination, task: redrive.task };
    let Some(handle) = redrive.started else {
        return Ok((StatusCode::OK, axum::Json(outcome)));
    };
    tracing::info!(%operator, dlq = %redrive.dlq, destination = %outcome.destination, messages = outcome.messages,
        task.handle = %handle, "redrive started");
    Ok((StatusCode::ACCEPTED, axum::Json(outcome)))
}
