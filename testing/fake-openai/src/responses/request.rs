//! Reading a `POST /v1/responses` body: the checks the real API makes that a client is likely to trip, and the
//! request fields the response object echoes back.

use serde_json::{Map, Value, json};

use crate::decision::{responses_input_text, responses_instructions};
use crate::errors::ApiError;

/// The request fields a response object carries, with the real API's defaults filled in.
#[derive(Clone, Debug)]
pub(crate) struct Echo {
    pub model: String,
    pub service_tier: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Echo {
    /// The echoed fields as `(key, value)` pairs.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        self.fields.iter().map(|(k, v)| (*k, v.clone()))
    }
}

/// A checked request.
#[derive(Clone, Debug)]
pub(crate) struct ParsedRequest {
    pub echo: Echo,
    pub background: bool,
    pub input_text: String,
    pub instructions_text: String,
    pub wants_reasoning: bool,
    pub max_output_tokens: Option<u64>,
}

/// Checks a body as the real API would and collects what the response echoes.
pub(crate) fn parse_request(body: &Value) -> Result<ParsedRequest, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid_type("body", "an object", body));
    };
    let model = match map.get("model") {
        None | Some(Value::Null) => return Err(ApiError::missing("model")),
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(other) => return Err(ApiError::invalid_type("model", "a string", other)),
    };
    if let Some(input) = map.get("input").filter(|v| !v.is_null())
        && !(input.is_string() || input.is_array())
    {
        return Err(ApiError::invalid_type("input", "a string or an array", input));
    }
    let background = flag(map, "background", false)?;
    if flag(map, "stream", false)? {
        return Err(ApiError::invalid(
            "The fake OpenAI server does not stream; send 'stream': false.",
            Some("stream"),
            Some("unsupported_value"),
        ));
    }
    let store = flag(map, "store", true)?;
    let parallel_tool_calls = flag(map, "parallel_tool_calls", true)?;
    let temperature = decimal(map, "temperature", 1.0, 0.0, 2.0)?;
    let top_p = decimal(map, "top_p", 1.0, 0.0, 1.0)?;
    let frequency_penalty = decimal(map, "frequency_penalty", 0.0, -2.0, 2.0)?;
    let presence_penalty = decimal(map, "presence_penalty", 0.0, -2.0, 2.0)?;
    let max_output_tokens = match map.get("max_output_tokens") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 16) => n.as_u64(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            return Err(ApiError::invalid(
                format!(
                    "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {n} \
                     instead."
                ),
                Some("max_output_tokens"),
                Some("integer_below_min_value"),
            ));
        }
        Some(other) => return Err(ApiError::invalid_type("max_output_tokens", "an integer", other)),
    };
    let metadata = metadata(map.get("metadata"))?;
    let text = match map.get("text") {
        None | Some(Value::Null) => json!({"format": {"type": "text"}, "verbosity": "medium"}),
        Some(Value::Object(text)) => json!({
            "format": text.get("format").filter(|f| !f.is_null()).cloned().unwrap_or(json!({"type": "text"})),
            "verbosity": text.get("verbosity").filter(|v| !v.is_null()).cloned().unwrap_or(json!("medium")),
        }),
        Some(other) => return Err(ApiError::invalid_type("text", "an object", other)),
    };
    let instructions = match map.get("instructions") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => json!(s),
        Some(other) => return Err(ApiError::invalid_type("instructions", "a string", other)),
    };
    let reasoning = map.get("reasoning").and_then(Value::as_object);
    let effort = reasoning.and_then(|r| r.get("effort")).cloned().unwrap_or(Value::Null);
    let summary = reasoning.and_then(|r| r.get("summary")).cloned().unwrap_or(Value::Null);
    let wants_reasoning = !effort.is_null() && effort != json!("none");
    let echo_or = |key: &str, default: Value| map.get(key).filter(|v| !v.is_null()).cloned().unwrap_or(default);
    let service_tier = map.get("service_tier").and_then(Value::as_str).filter(|t| *t != "auto").map(str::to_owned);
    let fields = vec![
        ("frequency_penalty", json!(frequency_penalty)),
        ("instructions", instructions),
        ("max_output_tokens", json!(max_output_tokens)),
        ("max_tool_calls", echo_or("max_tool_calls", Value::Null)),
        ("metadata", metadata),
        ("model", json!(model)),
        ("parallel_tool_calls", json!(parallel_tool_calls)),
        ("presence_penalty", json!(presence_penalty)),
        ("previous_response_id", echo_or("previous_response_id", Value::Null)),
        ("prompt_cache_key", echo_or("prompt_cache_key", Value::Null)),
        ("prompt_cache_retention", echo_or("prompt_cache_retention", Value::Null)),
        ("reasoning", json!({"effort": effort, "summary": summary})),
        ("safety_identifier", echo_or("safety_identifier", Value::Null)),
        ("store", json!(store)),
        ("temperature", json!(temperature)),
        ("text", text),
        ("tool_choice", echo_or("tool_choice", json!("auto"))),
        ("tools", echo_or("tools", json!([]))),
        ("top_logprobs", echo_or("top_logprobs", json!(0))),
        ("top_p", json!(top_p)),
        ("truncation", echo_or("truncation", json!("disabled"))),
        ("user", echo_or("user", Value::Null)),
    ];
    Ok(ParsedRequest {
        echo: Echo { model, service_tier, fields },
        background,
        input_text: responses_input_text(body),
        instructions_text: responses_instructions(body),
        wants_reasoning,
        max_output_tokens,
    })
}

fn flag(map: &Map<String, Value>, key: &str, default: bool) -> Result<bool, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::invalid_type(key, "a boolean", other)),
    }
}

/// A decimal parameter with the real API's range messages (see the `temperature: -1` recording).
fn decimal(map: &Map<String, Value>, key: &str, default: f64, min: f64, max: f64) -> Result<f64, ApiError> {
    let value = match map.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(default),
        Some(other) => return Err(ApiError::invalid_type(key, "a decimal", other)),
    };
    let shown = map.get(key).map(Value::to_string).unwrap_or_default();
    if value < min {
        return Err(ApiError::invalid(
            format!(
                "Invalid '{key}': decimal below minimum value. Expected a value >= {}, but got {shown} instead.",
                trim(min)
            ),
            Some(key),
            Some("decimal_below_min_value"),
        ));
    }
    if value > max {
        return Err(ApiError::invalid(
            format!(
                "Invalid '{key}': decimal above maximum value. Expected a value <= {}, but got {shown} instead.",
                trim(max)
            ),
            Some(key),
            Some("decimal_above_max_value"),
        ));
    }
    Ok(value)
}

fn trim(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { value.to_string() }
}

/// `metadata`: at most 16 string values (keys up to 64 characters, values up to 512).
pub(crate) fn metadata(value: Option<&Value>) -> Result<Value, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) => {
            if map.len() > 16 {
                return Err(ApiError::invalid(
                    format!(
                        "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with {} properties instead.",
                        map.len()
                    ),
                    Some("metadata"),
                    Some("object_above_max_properties"),
                ));
            }
            for (key, value) in map {
                if !value.is_string() {
                    return Err(ApiError::invalid_type(&format!("metadata.{key}"), "a string", value));
                }
            }
            Ok(Value::Object(map.clone()))
        }
        Some(other) => Err(ApiError::invalid_type("metadata", "an object", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_below_zero_is_worded_like_the_recording() {
        let error = parse_request(&json!({"model": "gpt-4o", "temperature": -1})).err();
        let body = error.map(|e| e.body()).unwrap_or_default();
        assert_eq!(
            body["error"]["message"],
            "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1 instead."
        );
        assert_eq!(body["error"]["code"], "decimal_below_min_value");
    }

    #[test]
    fn echoes_format_and_metadata() -> Result<(), ApiError> {
        let format = json!({"type": "json_schema", "name": "decision", "schema": {}, "strict": true});
        let parsed = parse_request(&json!({"model": "m", "text": {"format": format}, "metadata": {"k": "v"}}))?;
        let fields: Map<String, Value> = parsed.echo.fields().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(fields["text"]["format"], format);
        assert_eq!(fields["metadata"], json!({"k": "v"}));
        assert_eq!(fields["temperature"], json!(1.0));
        Ok(())
    }
}
