//! The API as `ctl` calls it: a base URL and a token (`--api`/`API_URL`, `--token`/`API_TOKEN`), typed answers
//! read from the API's JSON (its own shapes, with only the fields `ctl` uses), and errors that carry the API's
//! message.

use std::time::Duration;

use bw_db::counts::RunCounts;
use bw_vocab::{BoardKind, JobStatus, RunStatus, Stage};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

/// Why a call to the API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error status; `message` is its `error.message`.
    #[error("{method} {path} answered {status}: {message}")]
    Status { method: &'static str, path: String, status: u16, message: String, details: Value },
    #[error("cannot reach the API at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{method} {path} answered something that is not {what}: {reason}")]
    Unexpected { method: &'static str, path: String, what: &'static str, reason: String },
}

impl ApiError {
    /// The HTTP status, when the API answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of the API for one user (the token's).
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Result<Self, ApiError> {
        let unreachable = |reason: String| ApiError::Unreachable { url: base.to_owned(), reason };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token: token.trim().to_owned(), http })
    }

    /// `GET path`, as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send("GET", path, None).await
    }

    /// `POST path` with `body`, as JSON.
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        self.send("POST", path, body).await
    }

    /// `PUT path` with `body`, as JSON.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send("PUT", path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.send("DELETE", path, None).await
    }

    async fn send(&self, method: &'static str, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "POST" => self.http.post(&url),
            "PUT" => self.http.put(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.get(&url),
        };
        request = request.bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let unreachable = |e: reqwest::Error| ApiError::Unreachable { url: self.base.clone(), reason: chain(&e) };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(unreachable)?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let message =
                json["error"]["message"].as_str().map_or_else(|| text.chars().take(200).collect(), str::to_owned);
            let details = json["error"]["details"].clone();
            return Err(ApiError::Status { method, path: path.to_owned(), status, message, details });
        }
        Ok(json)
    }
}

fn chain(error: &reqwest::Error) -> String {
    bw_telemetry::chain(error).to_string()
}

/// Reads an answer as `T`.
pub fn read<T: DeserializeOwned>(
    method: &'static str,
    path: &str,
    what: &'static str,
    value: Value,
) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::Unexpected {
        method,
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    })
}

/// A schedule, as `GET /api/schedule` answers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Schedule {
    pub every_hours: Option<i64>,
    pub cron: Option<String>,
    pub time_zone: String,
    pub next_due_at: chrono::DateTime<chrono::Utc>,
}

/// A run, as `GET /api/ingestion/runs/{id}` answers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Run {
    pub id: Uuid,
    pub status: RunStatus,
    pub stage: Option<Stage>,
    pub counts: RunCounts,
    pub error: Option<String>,
    pub started_by: Option<bw_vocab::RunStart>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The jobs its end started (its standing screens').
    #[serde(default)]
    pub jobs: Vec<RunJob>,
}

/// A job a run's end started.
#[derive(Clone, Debug, Deserialize)]
pub struct RunJob {
    pub id: Uuid,
    pub name: String,
    pub items_total: i64,
}

/// A page of `GET /api/ingestion/logs/{run_id}`.
#[derive(Clone, Debug, Deserialize)]
pub struct LogsPage {
    pub logs: Vec<Value>,
    pub next_token: String,
}

/// One log line.
#[derive(Clone, Debug, Deserialize)]
pub struct LogLine {
    pub timestamp: i64,
    pub level: String,
    pub stage: Option<Stage>,
    pub message: String,
}

/// A job, as `GET /api/llm-jobs/{id}` answers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub name: String,
    pub status: JobStatus,
    pub items_total: i64,
    pub items_completed: i64,
    pub items_failed: i64,
    pub items_cancelled: i64,
    pub items_expired: i64,
    pub flags_applied: i64,
    pub progress: f64,
    pub error: Option<String>,
    /// Items whose end a webhook event announced (an older API leaves it out).
    #[serde(default)]
    pub ends_pushed: i64,
    /// Items whose end a poll found.
    #[serde(default)]
    pub ends_polled: i64,
}

impl Job {
    /// Items resolved one way or another.
    pub fn done(&self) -> i64 {
        self.items_completed + self.items_failed + self.items_cancelled + self.items_expired
    }
}

/// One company's line of a dry run.
#[derive(Clone, Debug, Deserialize)]
pub struct Preview {
    pub name: String,
    pub board_kind: BoardKind,
    pub ok: bool,
    pub found: i64,
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `POST /api/ingestion/dry-run`.
#[derive(Clone, Debug, Deserialize)]
pub struct DryRun {
    pub companies: Vec<Preview>,
    pub total_found: i64,
}

/// A posting as `GET /api/postings` lists it, with the flag that matched (or its newest).
#[derive(Clone, Debug, Deserialize)]
pub struct Posting {
    pub id: i64,
    pub company: String,
    pub title: String,
    pub status: bw_vocab::PostingStatus,
    pub location: Option<String>,
    pub label: Option<String>,
    pub reason: Option<String>,
}
