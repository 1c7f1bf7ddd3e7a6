//! The one answer this system asks OpenAI for, its strict JSON schema, and reading it back.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::OpenAiError;

/// The name of the structured-output format sent with every request.
pub const DECISION_FORMAT_NAME: &str = "decision";

/// The model's decision about one entity: whether to flag it, a short label, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the entity matches the question (is a match, is spam, ...).
    pub flag: bool,
    /// A short category for the answer.
    pub label: String,
    /// One or two sentences on why.
    pub reason: String,
}

/// The strict JSON schema of a [`Decision`]: every property required, no others allowed, as Structured Outputs with
/// `strict: true` demands.
pub fn decision_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "flag": {"type": "boolean", "description": "true when the entity matches the question"},
            "label": {"type": "string", "description": "a short category for the answer"},
            "reason": {"type": "string", "description": "one or two sentences explaining the answer"}
        },
        "required": ["flag", "label", "reason"],
        "additionalProperties": false
    })
}

/// The Responses API `text` parameter that asks for a [`Decision`]:
/// `{"format": {"type": "json_schema", "name": "decision", "schema": …, "strict": true}}`.
pub fn decision_text_format() -> Value {
    json!({
        "format": {
            "type": "json_schema",
            "name": DECISION_FORMAT_NAME,
            "schema": decision_schema(),
            "strict": true
        }
    })
}

/// Reads a [`Decision`] from a model's output text. Tolerates surrounding whitespace and a Markdown code fence (which
/// strict structured output never produces, but a fake or a looser model might); unknown extra keys are ignored.
/// The error names what is wrong: not JSON, not an object, a missing field or a field of the wrong type.
pub fn parse_decision(text: &str) -> Result<Decision, OpenAiError> {
    let body = strip_code_fence(text.trim());
    if body.is_empty() {
        return Err(OpenAiError::decode("decision", "the output text is empty"));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        OpenAiError::decode("decision", format!("the output text is not JSON ({e}): {}", excerpt(body)))
    })?;
    let Value::Object(map) = &value else {
        return Err(OpenAiError::decode("decision", format!("expected a JSON object, got {}", excerpt(body))));
    };
    for (field, expected) in [("flag", "boolean"), ("label", "string"), ("reason", "string")] {
        match map.get(field) {
            None => return Err(OpenAiError::decode("decision", format!("missing field `{field}`"))),
            Some(v) if (expected == "boolean" && !v.is_boolean()) || (expected == "string" && !v.is_string()) => {
                return Err(OpenAiError::decode(
                    "decision",
                    format!("field `{field}` should be a {expected}, got {v}"),
                ));
            }
            Some(_) => {}
        }
    }
    serde_json::from_value(value).map_err(|e| OpenAiError::decode("decision", e))
}

fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// At most 120 characters of model output, for error messages.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(120).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<Decision, OpenAiError>) -> String {
        match result {
            Err(OpenAiError::Decode { reason, .. }) => reason,
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn parses_a_decision() -> Result<(), OpenAiError> {
        let d = parse_decision(r#" {"flag": true, "label": "match", "reason": "Rust role in Berlin", "extra": 1} "#)?;
        assert_eq!(d, Decision { flag: true, label: "match".into(), reason: "Rust role in Berlin".into() });
        let fenced = parse_decision("```json\n{\"flag\": false, \"label\": \"no\", \"reason\": \"r\"}\n```")?;
        assert!(!fenced.flag);
        Ok(())
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(reason(parse_decision("")).contains("empty"));
        assert!(reason(parse_decision("yes")).contains("not JSON"));
        assert!(reason(parse_decision("[1]")).contains("expected a JSON object"));
        assert!(reason(parse_decision(r#"{"flag": true, "label": "x"}"#)).contains("missing field `reason`"));
        let wrong = reason(parse_decision(r#"{"flag": "yes", "label": "x", "reason": "y"}"#));
        assert!(wrong.contains("`flag` should be a boolean"), "{wrong}");
    }

    #[test]
    fn schema_is_strict() {
        let schema = decision_schema();
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"], json!(["flag", "label", "reason"]));
        let format = decision_text_format();
        assert_eq!(format["format"]["type"], "json_schema");
        assert_eq!(format["format"]["strict"], json!(true));
        assert_eq!(format["format"]["name"], DECISION_FORMAT_NAME);
    }
}
