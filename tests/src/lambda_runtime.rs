//! A fake Lambda Runtime API (version 2018-06-01) on an ephemeral port, to run a real binary in Lambda mode.
//!
//! `GET /runtime/invocation/next` hands out queued events one at a time and long-polls while none is queued;
//! `POST /runtime/invocation/{id}/response`, `/{id}/error` and `/runtime/init/error` are recorded. The moment of
//! the first `next` is kept: the end of the function's cold start.

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub mod events;

/// A function as Lambda presents it to its runtime: the name in its ARN and environment, its timeout (each
/// invocation's deadline) and its memory size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    /// The resource in infra/template.yaml (`tests/tests/template.rs` checks these constants against it).
    pub resource: &'static str,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Records per event of its SQS event source mapping; `None` for a function not fed by SQS.
    pub batch_size: Option<usize>,
}

impl Function {
    // As in infra/template.yaml.
    /// The `runs` consumer: long runs, so Lambda's longest timeout.
    pub const INGESTION: Self = Self {
        name: "ingestion",
        resource: "IngestionFunction",
        timeout: Duration::from_secs(900),
        memory_mb: 1024,
        batch_size: Some(1),
    };
    /// The HTTP API behind API Gateway, which gives up on an integration after 30 s.
    pub const API: Self = Self {
        name: "api",
        resource: "ApiFunction",
        timeout: Duration::from_secs(29),
        memory_mb: 512,
        batch_size: None,
    };
    /// The `llm-jobs` consumer: a poll budget of 90 s within a 120 s timeout.
    pub const POLLER_WORKER: Self = Self {
        name: "poller_worker",
        resource: "PollerWorkerFunction",
        timeout: Duration::from_secs(120),
        memory_mb: 512,
        batch_size: Some(4),
    };
    /// The scheduled dispatch.
    pub const POLLER_DISPATCH: Self = Self {
        name: "poller_dispatch",
        resource: "PollerDispatchFunction",
        timeout: Duration::from_secs(60),
        memory_mb: 256,
        batch_size: None,
    };
    /// Every function.
    pub const ALL: [Self; 4] = [Self::API, Self::INGESTION, Self::POLLER_DISPATCH, Self::POLLER_WORKER];

    /// The function's ARN, reported in `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn arn(&self) -> String {
        format!("arn:aws:lambda:us-east-1:000000000000:function:{}", self.name)
    }

    /// `binary` started as Lambda starts a `provided.al2023` function: an empty environment but for what Lambda
    /// sets (the Runtime API at `runtime_api`, the function's identity, region, credentials and endpoint for LocalStack);
    /// the caller adds the function's own configuration. Killed when dropped.
    pub fn command(&self, binary: &FsPath, runtime_api: &str) -> Command {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", self.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]00000000000000000000000000000000")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_SESSION_TOKEN", "test")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
            .env("_HANDLER", "bootstrap")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // The AWS endpoint those credentials are for (LocalStack), when the tests run against one.
        if let Some(endpoint) = bw_config::optional("AWS_ENDPOINT_URL") {
            command.env("AWS_ENDPOINT_URL", endpoint);
        }
        command
    }
}

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
    function: Function,
    /// When the runtime first asked for an event: its initialisation was done.
    first_next: watch::Sender<Option<Instant>>,
}

/// A running fake Runtime API; the server stops when this is dropped.
pub struct FakeRuntime {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeRuntime {
    /// Serves `function` on `127.0.0.1:0`; returns the runtime and its `host:port`, the value for
    /// `AWS_LAMBDA_RUNTIME_API`.
    pub async fn start(function: Function) -> anyhow::Result<(Self, String)> {
        let (events, pending) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events,
            pending: tokio::sync::Mutex::new(pending),
            outcomes: watch::Sender::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
            function,
            first_next: watch::Sender::new(None),
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

    /// Waits for the runtime's first `GET /runtime/invocation/next` and returns its moment.
    pub async fn first_next(&self, timeout: Duration) -> anyhow::Result<Instant> {
        let mut first = self.shared.first_next.subscribe();
        match tokio::time::timeout(timeout, first.wait_for(Option::is_some)).await {
            Ok(Ok(at)) => at.context("first poll vanished"),
            _ => anyhow::bail!(
                "the runtime did not ask for an event within {timeout:?}; init errors: {:?}",
                self.init_errors()
            ),
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
    shared.first_next.send_if_modified(|at| at.is_none() && at.replace(Instant::now()).is_none());
    let Some((id, event)) = shared.pending.lock().await.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", id.clone()),
        ("Lambda-Runtime-Deadline-Ms", deadline_ms(shared.function.timeout).to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", shared.function.arn()),
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
