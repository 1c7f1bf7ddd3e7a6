//! What a batch's lines turn into: output-file lines (`status_code` 200 with a response or chat completion body),
//! error-file lines (`status_code` 400 with `body.error`, or `response: null` with `batch_expired`), written to
//! result files in shuffled order when the batch ends.

use std::collections::HashMap;

use axum::body::Bytes;
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use super::model::{BatchRecord, LineKind, LinePlan};
use super::validate::InputLine;
use crate::config::FakeConfig;
use crate::decision::{
    Decider, DecisionInput, chat_texts, decision_text, default_decision, estimate_tokens, malformed_text, truncated,
};
use crate::errors::ApiError;
use crate::files::FileRecord;
use crate::ids;
use crate::responses::model::{Creation, Outcome, ResponseRecord, draw_outcome};

const EXPIRED_MESSAGE: &str = "This request could not be executed before the completion window expired.";

/// Everything planning needs besides the lines.
pub(crate) struct Planning<'a> {
    pub endpoint: &'a str,
    pub config: &'a FakeConfig,
    pub decider: Option<&'a Decider>,
    /// Start and end of the `in_progress` phase (epoch ms): a line's body is dated by when it runs.
    pub running_ms: (u64, u64),
}

/// Decides every line's fate and renders its result line.
pub(crate) fn plan_lines(lines: &[InputLine], how: &Planning<'_>, rng: &mut impl Rng) -> Vec<LinePlan> {
    let config = how.config;
    lines
        .iter()
        .map(|line| {
            let finish = 1.0 - rng.random::<f64>();
            let (start, end) = how.running_ms;
            let run_ms = start + ((end - start) as f64 * finish) as u64;
            let roll: f64 = rng.random();
            let batch_request_id = ids::batch_request(rng);
            if roll < config.batch_expired_rate {
                let json = json!({
                    "id": batch_request_id,
                    "custom_id": line.custom_id,
                    "response": null,
                    "error": {"code": "batch_expired", "message": EXPIRED_MESSAGE},
                });
                return LinePlan { finish, kind: LineKind::Expired, json, tokens: (0, 0, 0) };
            }
            let result = if roll < config.batch_expired_rate + config.batch_http_error_rate {
                Err(injected_http_error(how.endpoint))
            } else if how.endpoint == "/v1/chat/completions" {
                chat_completion(line, how, run_ms, rng)
            } else {
                response_body(line, how, run_ms, rng)
            };
            let request_id = ids::batch_line_request_id(rng);
            let (status_code, body, kind, tokens) = match result {
                Ok((body, tokens)) => (200, body, LineKind::Ok, tokens),
                Err(error) => (error.status.as_u16(), error.body(), LineKind::HttpError, (0, 0, 0)),
            };
            let json = json!({
                "id": batch_request_id,
                "custom_id": line.custom_id,
                "response": {"status_code": status_code, "request_id": request_id, "body": body},
                "error": null,
            });
            LinePlan { finish, kind, json, tokens }
        })
        .collect()
}

type Body = Result<(Value, (u64, u64, u64)), ApiError>;

/// A finished (non-background) response object, as the Responses API would have answered the line.
fn response_body(line: &InputLine, how: &Planning<'_>, run_ms: u64, rng: &mut impl Rng) -> Body {
    let creation = Creation {
        now_ms: run_ms,
        config: how.config,
        decider: how.decider,
        background: Some(false),
        allow_failed: false,
        custom_id: Some(&line.custom_id),
    };
    let record = ResponseRecord::create(&line.body, &creation, rng)?;
    Ok((record.render(run_ms), record.token_counts()))
}

/// A `chat.completion` body in the shape of `batch_output_chat_completions.litellm_real.jsonl`.
fn chat_completion(line: &InputLine, how: &Planning<'_>, run_ms: u64, rng: &mut impl Rng) -> Body {
    let messages = line.body.get("messages").cloned().unwrap_or(Value::Null);
    if !messages.is_array() {
        return Err(ApiError::invalid_type("messages", "an array", &messages));
    }
    let model = line.body.get("model").and_then(Value::as_str).unwrap_or("gpt-4o-mini");
    let (text, instructions) = chat_texts(&line.body);
    let input = DecisionInput { text: &text, instructions: &instructions, model, custom_id: Some(&line.custom_id) };
    let decision = match how.decider {
        Some(decider) => decider(&input),
        None => default_decision(&how.config.decision, &input),
    };
    let (content, finish_reason) = match draw_outcome(how.config, false, rng) {
        Outcome::Malformed => (malformed_text(&decision, rng), "stop"),
        Outcome::Incomplete => (truncated(&decision_text(&decision)), "length"),
        Outcome::Completed | Outcome::Failed => (decision_text(&decision), "stop"),
    };
    let prompt_tokens = estimate_tokens(&text) + estimate_tokens(&instructions) + 7;
    let completion_tokens = estimate_tokens(&content);
    let body = json!({
        "id": ids::chat_completion(rng),
        "object": "chat.completion",
        "created": run_ms / 1000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "system_fingerprint": ids::fingerprint(rng),
    });
    Ok((body, (prompt_tokens, completion_tokens, 0)))
}

/// The error an injected HTTP-failed line carries: a context-length refusal, as real error files show.
fn injected_http_error(endpoint: &str) -> ApiError {
    if endpoint == "/v1/chat/completions" {
        ApiError::invalid(
            "This model's maximum context length is 128000 tokens. However, you requested 1000024 tokens (24 in the \
             messages, 1000000 in the completion). Please reduce the length of the messages or completion.",
            Some("messages"),
            Some("context_length_exceeded"),
        )
    } else {
        ApiError::invalid(
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
            Some("input"),
            Some("context_length_exceeded"),
        )
    }
}

/// Once the batch has ended, writes its output and error files (each line order shuffled) and records their
/// ids on the batch. A file with no lines is not made, and its id stays null.
pub(crate) fn ensure_result_files(
    batch: &mut BatchRecord,
    now_ms: u64,
    files: &mut HashMap<String, FileRecord>,
    rng: &mut impl Rng,
) {
    if batch.files.is_some() {
        return;
    }
    let Some(ended_ms) = batch.terminal_ms(now_ms) else { return };
    let finished = batch.finished_lines(now_ms);
    let mut output: Vec<&Value> = finished.iter().filter(|l| l.kind == LineKind::Ok).map(|l| &l.json).collect();
    let mut errors: Vec<&Value> = finished.iter().filter(|l| l.kind == LineKind::HttpError).map(|l| &l.json).collect();
    errors.extend(batch.expired_lines(now_ms).iter().map(|l| &l.json));
    output.shuffle(rng);
    errors.shuffle(rng);
    let output_id = write_file(files, &batch.id, &output, "output", ended_ms, rng);
    let error_id = write_file(files, &batch.id, &errors, "error", ended_ms, rng);
    batch.files = Some((output_id, error_id));
}

/// Stores one result file (JSONL, one line per result) and returns its id; `None` when there are no lines.
fn write_file(
    files: &mut HashMap<String, FileRecord>,
    batch_id: &str,
    lines: &[&Value],
    kind: &str,
    ended_ms: u64,
    rng: &mut impl Rng,
) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let id = ids::file(rng);
    let name = format!("{batch_id}_{kind}.jsonl");
    files.insert(id.clone(), FileRecord::new(id.clone(), name, "batch_output", ended_ms / 1000, Bytes::from(text)));
    Some(id)
}
