//! Batch input lines and batch output (and error) files.
//!
//! Output lines come in any order: match them to requests by `custom_id`. A line is one of three things: a response
//! (`response.status_code` 2xx, the endpoint's object in `response.body`), a request that failed at HTTP level
//! (`response.status_code` 4xx/5xx, OpenAI's error in `response.body.error`), or a request that got no response at all
//! (`response: null` and an `error` such as `batch_expired`, found in the batch's error file). `request_id` comes as
//! `req_…`, 32 hex characters or a UUID, so it is kept as an opaque string.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::decision::{Decision, decision_text_format, parse_decision};
use crate::error::{ApiErrorBody, OpenAiError};
use crate::types::Response;

/// One line of a batch output or error file.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// `batch_req_…`, when present.
    pub id: Option<String>,
    /// The id given in the input line.
    pub custom_id: String,
    /// What happened to the request.
    pub outcome: BatchOutcome,
}

/// What happened to one batch request.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    /// The endpoint answered 2xx; `body` is its object (a Responses object for `/v1/responses`).
    Answered {
        /// The HTTP status (200).
        status_code: u16,
        /// OpenAI's request id: `req_…`, 32 hex characters or a UUID.
        request_id: Option<String>,
        /// The answer, as sent.
        body: Value,
    },
    /// The endpoint answered with an HTTP error; `error` is the body's `error`.
    HttpError {
        /// The HTTP status (e.g. 400).
        status_code: u16,
        /// OpenAI's request id.
        request_id: Option<String>,
        /// The error envelope's body.
        error: ApiErrorBody,
    },
    /// The request was never answered (`response: null`), e.g. `batch_expired`.
    NotRun {
        /// Such as `batch_expired`.
        code: Option<String>,
        /// A human-readable description.
        message: String,
    },
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    custom_id: String,
    #[serde(default)]
    response: Option<LineResponse>,
    #[serde(default)]
    error: Option<LineError>,
}

#[derive(Deserialize)]
struct LineResponse {
    status_code: u16,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    body: Value,
}

#[derive(Deserialize)]
struct LineError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Parses a batch output or error file (JSONL; blank lines are skipped). A line that is not a batch output line is an
/// error naming its 1-based line number, so a damaged file is noticed rather than half-applied.
pub fn parse_batch_output(jsonl: &str) -> Result<Vec<BatchResult>, OpenAiError> {
    let mut results = Vec::new();
    for (index, text) in jsonl.lines().enumerate() {
        if let Some(result) = parse_batch_line(text, index as u64 + 1)? {
            results.push(result);
        }
    }
    Ok(results)
}

/// Parses one line of a batch output or error file, `number` (1-based) naming it in an error; `None` for a blank
/// line.
pub fn parse_batch_line(text: &str, number: u64) -> Result<Option<BatchResult>, OpenAiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let what = || format!("batch output line {number}");
    let line: Line = serde_json::from_str(text).map_err(|e| OpenAiError::decode(what(), e))?;
    let outcome = match (line.response, line.error) {
        (Some(r), _) if (200..300).contains(&r.status_code) => {
            BatchOutcome::Answered { status_code: r.status_code, request_id: r.request_id, body: r.body }
        }
        (Some(r), _) => {
            let error = r
                .body
                .get("error")
                .and_then(|e| serde_json::from_value::<ApiErrorBody>(e.clone()).ok())
                .unwrap_or_else(|| ApiErrorBody {
                    message: format!("HTTP {} without an error body", r.status_code),
                    error_type: None,
                    param: None,
                    code: None,
                });
            BatchOutcome::HttpError { status_code: r.status_code, request_id: r.request_id, error }
        }
        (None, Some(e)) => BatchOutcome::NotRun { code: e.code, message: e.message.unwrap_or_default() },
        (None, None) => return Err(OpenAiError::decode(what(), "neither `response` nor `error` is set")),
    };
    Ok(Some(BatchResult { id: line.id, custom_id: line.custom_id, outcome }))
}

impl BatchResult {
    /// The body as a Responses object (for batches against `/v1/responses`). A line without a 2xx answer gives the
    /// error it carries ([`OpenAiError::Api`] or [`OpenAiError::BatchItem`]).
    pub fn response(&self) -> Result<Response, OpenAiError> {
        let body = self.answer_body()?;
        serde_json::from_value(body.clone()).map_err(|e| OpenAiError::decode(self.what(), e))
    }

    /// The answer's text: the first `output_text` of a Responses body, or the first choice's content of a Chat
    /// Completions body (`object: "chat.completion"`).
    pub fn output_text(&self) -> Result<String, OpenAiError> {
        let body = self.answer_body()?;
        if body.get("object").and_then(Value::as_str) == Some("chat.completion") {
            return body
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| OpenAiError::decode(self.what(), "chat completion without choices[0].message.content"));
        }
        self.response()?
            .output_text()
            .ok_or_else(|| OpenAiError::decode(self.what(), "no message item with an output_text part"))
    }

    /// The decision in the answer. For a Responses body this is [`Response::decision`] (so a response that did not
    /// complete gives [`OpenAiError::NotCompleted`]).
    pub fn decision(&self) -> Result<Decision, OpenAiError> {
        let body = self.answer_body()?;
        if body.get("object").and_then(Value::as_str) == Some("chat.completion") {
            return parse_decision(&self.output_text()?);
        }
        self.response()?.decision()
    }

    fn answer_body(&self) -> Result<&Value, OpenAiError> {
        match &self.outcome {
            BatchOutcome::Answered { body, .. } => Ok(body),
            BatchOutcome::HttpError { status_code, error, .. } => Err(OpenAiError::Api {
                status: *status_code,
                error_type: error.error_type.clone(),
                code: error.code.clone(),
                param: error.param.clone(),
                message: error.message.clone(),
            }),
            BatchOutcome::NotRun { code, message } => {
                Err(OpenAiError::BatchItem { code: code.clone(), message: message.clone() })
            }
        }
    }

    fn what(&self) -> String {
        format!("batch result {}", self.custom_id)
    }
}

/// One batch input line (without the trailing newline) for `POST /v1/responses`, asking for a strict
/// [`Decision`]. Join lines with `\n` to make the file for [`OpenAi::upload_batch_file`](crate::OpenAi::upload_batch_file).
/// `background` is not set: batch requests run asynchronously anyway.
pub fn batch_request_line(custom_id: &str, model: &str, instructions: &str, input: &str) -> String {
    json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": crate::api::BATCH_ENDPOINT,
        "body": {
            "model": model,
            "instructions": instructions,
            "input": input,
            "text": decision_text_format(),
        }
    })
    .to_string()
}
