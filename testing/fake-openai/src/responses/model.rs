//! A response object and its lifecycle, rendered in the shape of the real background-mode recordings
//! (`tests/fixtures/openai/responses/response_background_*.json`).

use rand::Rng;
use serde_json::{Map, Value, json};

use super::request::{Echo, parse_request};
use crate::config::FakeConfig;
use crate::decision::{
    Decider, DecisionInput, decision_text, default_decision, estimate_tokens, malformed_text, truncated,
};
use crate::errors::ApiError;
use crate::ids;

/// Where a response is in its lifecycle. Terminal: `completed`, `failed`, `incomplete`, `cancelled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    Queued,
    InProgress,
    Completed,
    Failed,
    Incomplete,
    Cancelled,
}

impl ResponseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Queued => "queued",
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Completed => "completed",
            ResponseStatus::Failed => "failed",
            ResponseStatus::Incomplete => "incomplete",
            ResponseStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, ResponseStatus::Queued | ResponseStatus::InProgress)
    }
}

/// How a response ends, drawn when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Completed with the decision JSON.
    Completed,
    /// Completed with text that is not a valid decision.
    Malformed,
    Failed,
    Incomplete,
}

/// One stored response.
#[derive(Clone, Debug)]
pub(crate) struct ResponseRecord {
    pub id: String,
    pub background: bool,
    pub created_ms: u64,
    pub in_progress_ms: u64,
    pub done_ms: u64,
    pub cancelled_ms: Option<u64>,
    pub outcome: Outcome,
    echo: Echo,
    message_id: String,
    reasoning_id: Option<String>,
    text: String,
    usage: Value,
}

/// Everything creation needs besides the request body.
pub(crate) struct Creation<'a> {
    pub now_ms: u64,
    pub config: &'a FakeConfig,
    pub decider: Option<&'a Decider>,
    /// Forces background mode on (`Some(true)`) or off; `None` follows the request.
    pub background: Option<bool>,
    /// Whether the `failed` outcome may be drawn (batch lines never fail this way).
    pub allow_failed: bool,
    pub custom_id: Option<&'a str>,
}

impl ResponseRecord {
    /// Validates a `POST /v1/responses` body and draws the response's id, timings, outcome and output.
    pub(crate) fn create(body: &Value, how: &Creation<'_>, rng: &mut impl Rng) -> Result<Self, ApiError> {
        let request = parse_request(body)?;
        let config = how.config;
        let background = how.background.unwrap_or(request.background);
        let (in_progress_ms, done_ms) = if background {
            let start = config.in_progress_after_ms.draw(rng);
            let done = config.complete_after_ms.draw(rng).max(start);
            (how.now_ms.saturating_add(start), how.now_ms.saturating_add(done))
        } else {
            (how.now_ms, how.now_ms)
        };
        let outcome = draw_outcome(config, how.allow_failed, rng);
        let input = DecisionInput {
            text: &request.input_text,
            instructions: &request.instructions_text,
            model: &request.echo.model,
            custom_id: how.custom_id,
        };
        let decision = match how.decider {
            Some(decider) => decider(&input),
            None => default_decision(&config.decision, &input),
        };
        let text = match outcome {
            Outcome::Malformed => malformed_text(&decision, rng),
            Outcome::Incomplete => truncated(&decision_text(&decision)),
            Outcome::Completed | Outcome::Failed => decision_text(&decision),
        };
        let reasoning = config.reasoning_items || request.wants_reasoning;
        let reasoning_tokens = if reasoning { 64 * rng.random_range(1..=5u64) } else { 0 };
        let input_tokens = estimate_tokens(&request.input_text) + estimate_tokens(&request.instructions_text) + 7;
        let output_tokens = match (outcome, request.max_output_tokens) {
            (Outcome::Incomplete, Some(max)) => max,
            _ => estimate_tokens(&text) + reasoning_tokens,
        };
        let usage = json!({
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens.min(output_tokens)},
            "total_tokens": input_tokens.saturating_add(output_tokens),
        });
        Ok(Self {
            id: ids::response(rng),
            background,
            created_ms: how.now_ms,
            in_progress_ms,
            done_ms,
            cancelled_ms: None,
            outcome,
            echo: request.echo,
            message_id: ids::message(rng),
            reasoning_id: reasoning.then(|| ids::reasoning(rng)),
            text,
            usage,
        })
    }

    /// The status at `now_ms`.
    pub(crate) fn status(&self, now_ms: u64) -> ResponseStatus {
        if self.cancelled_ms.is_some_and(|at| at <= now_ms) {
            ResponseStatus::Cancelled
        } else if now_ms < self.in_progress_ms {
            ResponseStatus::Queued
        } else if now_ms < self.done_ms {
            ResponseStatus::InProgress
        } else {
            match self.outcome {
                Outcome::Completed | Outcome::Malformed => ResponseStatus::Completed,
                Outcome::Failed => ResponseStatus::Failed,
                Outcome::Incomplete => ResponseStatus::Incomplete,
            }
        }
    }

    /// The object the create call answers: a background response is always `queued` there, as at the real API,
    /// even when its in-progress time is zero; a synchronous one is already finished.
    pub(crate) fn render_created(&self) -> Value {
        if self.background {
            self.render(self.created_ms.min(self.in_progress_ms.saturating_sub(1)))
        } else {
            self.render(self.done_ms)
        }
    }

    /// The response object as `GET /v1/responses/{id}` answers it at `now_ms`.
    pub(crate) fn render(&self, now_ms: u64) -> Value {
        let status = self.status(now_ms);
        let mut object = Map::new();
        for (key, value) in self.echo.fields() {
            object.insert(key.to_owned(), value);
        }
        object.insert("id".into(), json!(self.id));
        object.insert("object".into(), json!("response"));
        object.insert("created_at".into(), json!(self.created_ms / 1000));
        object.insert("status".into(), json!(status.as_str()));
        object.insert("background".into(), json!(self.background));
        let finished =
            matches!(status, ResponseStatus::Completed | ResponseStatus::Failed | ResponseStatus::Incomplete);
        let tier = match (&self.echo.service_tier, finished) {
            (Some(tier), _) => tier.clone(),
            (None, true) => "default".to_owned(),
            (None, false) => "auto".to_owned(),
        };
        object.insert("service_tier".into(), json!(tier));
        let completed_at = (status == ResponseStatus::Completed).then_some(self.done_ms / 1000);
        object.insert("completed_at".into(), json!(completed_at));
        let error = (status == ResponseStatus::Failed)
            .then(|| json!({"code": "server_error", "message": "The model failed to generate a response."}));
        object.insert("error".into(), error.unwrap_or(Value::Null));
        let incomplete = (status == ResponseStatus::Incomplete).then(|| json!({"reason": "max_output_tokens"}));
        object.insert("incomplete_details".into(), incomplete.unwrap_or(Value::Null));
        let has_output = matches!(status, ResponseStatus::Completed | ResponseStatus::Incomplete);
        object.insert("output".into(), if has_output { self.output(status) } else { json!([]) });
        object.insert("usage".into(), if has_output { self.usage.clone() } else { Value::Null });
        if has_output {
            object.insert("billing".into(), json!({"payer": "developer"}));
        }
        Value::Object(object)
    }

    fn output(&self, status: ResponseStatus) -> Value {
        let mut items = Vec::new();
        if let Some(id) = &self.reasoning_id {
            items.push(json!({"id": id, "type": "reasoning", "summary": []}));
        }
        let item_status = if status == ResponseStatus::Incomplete { "incomplete" } else { "completed" };
        items.push(json!({
            "content": [{"annotations": [], "logprobs": [], "text": self.text, "type": "output_text"}],
            "id": self.message_id,
            "role": "assistant",
            "status": item_status,
            "type": "message",
        }));
        Value::Array(items)
    }

    /// `(input, output, reasoning)` tokens.
    pub(crate) fn token_counts(&self) -> (u64, u64, u64) {
        let get = |pointer: &str| self.usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        (get("/input_tokens"), get("/output_tokens"), get("/output_tokens_details/reasoning_tokens"))
    }
}

/// Draws how a response ends from the configured rates.
pub(crate) fn draw_outcome(config: &FakeConfig, allow_failed: bool, rng: &mut impl Rng) -> Outcome {
    let roll: f64 = rng.random();
    let failed = if allow_failed { config.failed_rate } else { 0.0 };
    if roll < failed {
        Outcome::Failed
    } else if roll < failed + config.incomplete_rate {
        Outcome::Incomplete
    } else if roll < failed + config.incomplete_rate + config.malformed_rate {
        Outcome::Malformed
    } else {
        Outcome::Completed
    }
}
