//! A fake Lambda Runtime API (version 2018-06-01) on an ephemeral port, to run a real binary in Lambda mode.
//!
//! `GET /runtime/invocation/next` hands out queued events one at a time and long-polls while none is queued;
//! `POST /runtime/invocation/{id}/response`, `/{id}/error` and `/runtime/init/error` are recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// ARN reported in `Lambda-Runtime-Invoked-Function-Arn`.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:ingestion";

/// What the runtime posted back for one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

struct Shared {
    /// Queued invocations (request id, event); the receiver is locked by the one `/next` call waiting on it.
    events: mpsc::UnboundedSender<(String, Value)>,
    pending: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    outcomes: watch::Sender<HashMap<String, Outcome>>,
    init_errors: Mutex<Vec<Value>>,
}

/// A running fake Runtime API; the server stops when this is dropped.
pub struct FakeRuntime {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeRuntime {
    /// Serves on `127.0.0.1:0`; returns the runtime and its `host:port`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub async fn start() -> anyhow::Result<(Self, String)> {
        let (events, pending) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events,
            pending: tokio::sync::Mutex::new(pending),
            outcomes: watch::Sender::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((Self { shared, task }, addr))
    }

    /// Queues an invocation of `event`; returns its request id.
    pub fn push_event(&self, event: Value) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        // The receiver lives in `shared` as long as `self`, so sending cannot fail.
        let _ = self.shared.events.send((id.clone(), event));
        id
    }

    /// Waits for the runtime's answer to `request_id`: the response body, or an error carrying the error body.
    pub async fn wait_response(&self, request_id: &str, timeout: Duration) -> anyhow::Result<Value> {
        let mut outcomes = self.shared.outcomes.subscribe();
        let waited = tokio::time::timeout(timeout, outcomes.wait_for(|o| o.contains_key(request_id))).await;
        let Ok(Ok(outcomes)) = waited else {
            anyhow::bail!(
                "no answer to invocation {request_id} within {timeout:?}; init errors: {:?}",
                self.init_errors()
            );
        };
        match outcomes.get(request_id).context("answer vanished")? {
            Outcome::Response(body) => Ok(body.clone()),
            Outcome::Error(body) => anyhow::bail!("invocation {request_id} failed: {body}"),
        }
    }

    /// Bodies posted to `/runtime/init/error`.
    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.init_errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Unix time in milliseconds, `ahead` from now.
fn deadline_ms(ahead: Duration) -> u128 {
    (SystemTime::now() + ahead).duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// An X-Ray trace header of the documented shape: `Root=1-{8 hex time}-{24 hex}`.
fn trace_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    let secs = deadline_ms(Duration::ZERO) / 1000;
    format!("Root=1-{secs:08x}-{};Sampled=0", random.get(..24).unwrap_or_default())
}

/// A posted body as JSON, or as a JSON string when it is not JSON.
fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let Some((id, event)) = shared.pending.lock().await.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", id.clone()),
        // The ingestion function's timeout in AWS.
        ("Lambda-Runtime-Deadline-Ms", deadline_ms(Duration::from_secs(900)).to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.to_owned()),
        ("Lambda-Runtime-Trace-Id", trace_id()),
    ];
    (StatusCode::OK, headers, axum::Json(event)).into_response()
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    shared.outcomes.send_modify(|o| {
        o.insert(id, Outcome::Response(parse(&body)));
    });
    accepted()
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    shared.outcomes.send_modify(|o| {
        o.insert(id, Outcome::Error(parse(&body)));
    });
    accepted()
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Ok(mut errors) = shared.init_errors.lock() {
        errors.push(parse(&body));
    }
    accepted()
}
