//! The Responses API object (`POST /responses`, `GET /responses/{id}`, `POST /responses/{id}/cancel`).
//!
//! Only the fields this system reads are typed; every other field is ignored, never rejected, because OpenAI keeps
//! adding fields. While a background response is `queued` or `in_progress`, `output` is empty and `usage` and
//! `completed_at` are null (`completed_at` is missing altogether from 2025 responses).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::serde_util::{epoch_seconds, null_as_default, to_utc};
use crate::decision::{Decision, parse_decision};
use crate::error::OpenAiError;

/// A response object. Timestamps are epoch seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// `resp_…`.
    pub id: String,
    /// Always `response` on the real API.
    #[serde(default)]
    pub object: Option<String>,
    /// Creation time, epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub created_at: Option<i64>,
    /// Completion time, epoch seconds; null until completed, absent on older responses.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub completed_at: Option<i64>,
    /// Where the response is in its life.
    pub status: ResponseStatus,
    /// Whether it runs in background mode.
    #[serde(default)]
    pub background: Option<bool>,
    /// The model that served it, e.g. `gpt-4o-2024-08-06`.
    #[serde(default)]
    pub model: Option<String>,
    /// Set when `status` is `failed`.
    #[serde(default)]
    pub error: Option<ResponseError>,
    /// Set when `status` is `incomplete`.
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    /// Output items: reasoning, function calls, messages... Empty until the response completes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub output: Vec<OutputItem>,
    /// Token usage; null until the response completes.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// The metadata given at creation (string values on the real API).
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, Value>,
}

/// The status of a response. Terminal: `completed`, `failed`, `cancelled`, `incomplete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Accepted, not started.
    Queued,
    /// Running.
    InProgress,
    /// Finished with output.
    Completed,
    /// Failed; see `error`.
    Failed,
    /// Cancelled by a cancel request.
    Cancelled,
    /// Stopped early; see `incomplete_details`.
    Incomplete,
    /// A status this crate does not know yet; treated as not terminal.
    #[serde(other)]
    Unknown,
}

impl ResponseStatus {
    /// Whether the response will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled | Self::Incomplete)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Incomplete => "incomplete",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `error` of a failed response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    /// Such as `server_error` or `rate_limit_exceeded`.
    #[serde(default)]
    pub code: Option<String>,
    /// A human-readable description.
    #[serde(default)]
    pub message: String,
}

/// Why a response is `incomplete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// Such as `max_output_tokens` or `content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One output item. Only `message` items carry the answer; `reasoning` and `function_call` items may come first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputItem {
    /// `message`, `reasoning`, `function_call`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// `msg_…`, `rs_…`, `fc_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// The item's own status.
    #[serde(default)]
    pub status: Option<String>,
    /// `assistant` for messages.
    #[serde(default)]
    pub role: Option<String>,
    /// Content parts of a message (`output_text`, `refusal`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: Vec<ContentPart>,
}

/// One content part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentPart {
    /// `output_text` or `refusal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of an `output_text` part.
    #[serde(default)]
    pub text: Option<String>,
    /// The explanation of a `refusal` part.
    #[serde(default)]
    pub refusal: Option<String>,
}

/// Token counts (responses and batches use the same shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read.
    #[serde(default)]
    pub input_tokens: u64,
    /// Tokens written, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Their sum.
    #[serde(default)]
    pub total_tokens: u64,
    /// `cached_tokens` among the input.
    #[serde(default)]
    pub input_tokens_details: Option<InputTokensDetails>,
    /// `reasoning_tokens` among the output.
    #[serde(default)]
    pub output_tokens_details: Option<OutputTokensDetails>,
}

/// Details of input tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTokensDetails {
    /// Input tokens served from the prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// Details of output tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTokensDetails {
    /// Output tokens spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Response {
    /// Whether the response will not change any more (`completed`, `failed`, `cancelled`, `incomplete`).
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// The text of the first `output_text` part of the first `message` item that has one, skipping reasoning items
    /// and function calls.
    pub fn output_text(&self) -> Option<String> {
        self.messages().flat_map(|m| &m.content).find(|c| c.kind == "output_text").and_then(|c| c.text.clone())
    }

    /// The model's refusal, when a message holds a `refusal` part instead of text.
    pub fn refusal(&self) -> Option<String> {
        self.messages().flat_map(|m| &m.content).find(|c| c.kind == "refusal").and_then(|c| c.refusal.clone())
    }

    /// The decision in a completed response's output text. A response that is not `completed` gives
    /// [`OpenAiError::NotCompleted`]; a completed one without usable text gives [`OpenAiError::Decode`].
    pub fn decision(&self) -> Result<Decision, OpenAiError> {
        if self.status != ResponseStatus::Completed {
            return Err(self.not_completed());
        }
        match self.output_text() {
            Some(text) => parse_decision(&text),
            None => Err(OpenAiError::decode(
                format!("response {}", self.id),
                match self.refusal() {
                    Some(refusal) => format!("the model refused: {refusal}"),
                    None => "no message item with an output_text part".to_owned(),
                },
            )),
        }
    }

    /// Creation time as UTC.
    pub fn created_at_utc(&self) -> Option<DateTime<Utc>> {
        to_utc(self.created_at)
    }

    /// Completion time as UTC.
    pub fn completed_at_utc(&self) -> Option<DateTime<Utc>> {
        to_utc(self.completed_at)
    }

    fn messages(&self) -> impl Iterator<Item = &OutputItem> {
        self.output.iter().filter(|item| item.kind == "message")
    }

    fn not_completed(&self) -> OpenAiError {
        let (code, message) = match (&self.error, &self.incomplete_details) {
            (Some(e), _) => (e.code.clone(), e.message.clone()),
            (None, Some(d)) => (d.reason.clone(), "the response stopped before finishing".to_owned()),
            (None, None) if self.is_terminal() => (None, format!("the response ended {}", self.status)),
            (None, None) => (None, format!("the response is still {}", self.status)),
        };
        OpenAiError::NotCompleted { status: self.status, code, message }
    }
}
