//! Checking a batch input file the way the real API does while the batch is `validating`: a bad file fails the
//! whole batch with `errors: {object: "list", data: [{code, message, param, line}]}` (see
//! `batch_retrieve_failed_validation_ABBREVIATED.czech_doc_transcribed.json`).

use std::collections::HashSet;

use serde_json::{Value, json};

/// At most this many errors are listed on a failed batch.
const MAX_ERRORS: usize = 100;

/// One request line that passed validation.
#[derive(Clone, Debug)]
pub(crate) struct InputLine {
    pub custom_id: String,
    pub body: Value,
}

fn error(code: &str, message: impl Into<String>, param: Option<&str>, line: Option<usize>) -> Value {
    json!({"code": code, "message": message.into(), "param": param, "line": line})
}

fn missing(name: &str, param: &str, line: usize) -> Value {
    error("missing_required_parameter", format!("Missing required parameter: '{name}'."), Some(param), Some(line))
}

/// What one batch's input file may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_requests: usize,
    pub max_bytes: u64,
}

impl Limits {
    /// OpenAI's: 50,000 requests, 200 MB.
    #[cfg(test)]
    pub(crate) const OPENAI: Self = Self { max_requests: 50_000, max_bytes: 200_000_000 };
}

/// The lines of the file, or the batch's error list. Blank lines are skipped; line numbers are 1-based. A file past
/// `limits` fails whole (the codes and wording of those two errors are the fake's own: the documented limits, not a
/// recorded answer).
pub(crate) fn validate(content: &[u8], endpoint: &str, limits: Limits) -> Result<Vec<InputLine>, Vec<Value>> {
    if content.len() as u64 > limits.max_bytes {
        let message = format!("The input file is {} bytes, more than the {} allowed.", content.len(), limits.max_bytes);
        return Err(vec![error("file_too_large", message, None, None)]);
    }
    let Ok(text) = std::str::from_utf8(content) else {
        return Err(vec![error("invalid_file_format", "The input file is not valid UTF-8.", None, None)]);
    };
    let (mut lines, mut errors, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match check_line(raw, endpoint, index + 1, &mut seen) {
            Ok(line) => lines.push(line),
            Err(e) => errors.push(e),
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    if errors.is_empty() && lines.is_empty() {
        errors.push(error("empty_file", "The batch input file is empty.", None, None));
    }
    if errors.is_empty() && lines.len() > limits.max_requests {
        let message =
            format!("The input file has {} requests, more than the {} allowed.", lines.len(), limits.max_requests);
        errors.push(error("too_many_requests", message, None, None));
    }
    if errors.is_empty() { Ok(lines) } else { Err(errors) }
}

fn check_line(raw: &str, endpoint: &str, line: usize, seen: &mut HashSet<String>) -> Result<InputLine, Value> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Err(error("invalid_json_line", "This line is not parseable as valid JSON.", None, Some(line)));
    };
    let custom_id = match map.get("custom_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Err(missing("custom_id", "custom_id", line)),
        Some(_) => {
            return Err(error(
                "invalid_type",
                "Invalid type for 'custom_id': expected a string.",
                Some("custom_id"),
                Some(line),
            ));
        }
    };
    if !seen.insert(custom_id.clone()) {
        return Err(error(
            "duplicate_custom_id",
            format!("The custom_id '{custom_id}' is not unique; each request in a batch needs its own custom_id."),
            Some("custom_id"),
            Some(line),
        ));
    }
    match map.get("method").and_then(Value::as_str) {
        None => return Err(missing("method", "method", line)),
        Some("POST") => {}
        Some(other) => {
            return Err(error(
                "invalid_value",
                format!("Invalid value: '{other}'. Supported values are: 'POST'."),
                Some("method"),
                Some(line),
            ));
        }
    }
    match map.get("url").and_then(Value::as_str) {
        None => return Err(missing("url", "url", line)),
        Some(url) if url == endpoint => {}
        Some(_) => {
            return Err(error(
                "invalid_url",
                "The URL provided for this request does not prefix-match the batch endpoint.",
                Some("url"),
                Some(line),
            ));
        }
    }
    let body = match map.get("body") {
        Some(Value::Object(body)) => body,
        _ => return Err(missing("body", "body", line)),
    };
    if !body.get("model").is_some_and(Value::is_string) {
        return Err(missing("model", "body.model", line));
    }
    let required = if endpoint == "/v1/chat/completions" { "messages" } else { "input" };
    if body.get(required).is_none_or(Value::is_null) {
        return Err(missing(required, &format!("body.{required}"), line));
    }
    Ok(InputLine { custom_id, body: Value::Object(body.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(custom_id: &str, url: &str, body: Value) -> String {
        json!({"custom_id": custom_id, "method": "POST", "url": url, "body": body}).to_string()
    }

    #[test]
    fn accepts_the_documented_input_line() {
        let file = include_str!(
            "../../../../tests/fixtures/openai/batch/batch_request_input_line.openapi_2025-03-21_example.jsonl"
        );
        let lines = validate(file.as_bytes(), "/v1/chat/completions", Limits::OPENAI).map_err(|e| format!("{e:?}"));
        assert_eq!(lines.map(|l| l.len()), Ok(1));
    }

    #[test]
    fn reports_each_bad_line_with_its_number() {
        let good = line("a", "/v1/responses", json!({"model": "m", "input": "x"}));
        let file = [
            good.clone(),
            "not json".to_owned(),
            good,
            line("b", "/v1/chat/completions", json!({"model": "m", "input": "x"})),
            line("c", "/v1/responses", json!({"model": "m"})),
        ]
        .join("\n");
        let errors = validate(file.as_bytes(), "/v1/responses", Limits::OPENAI).err().unwrap_or_default();
        let codes: Vec<(&str, u64)> =
            errors.iter().map(|e| (e["code"].as_str().unwrap_or(""), e["line"].as_u64().unwrap_or(0))).collect();
        assert_eq!(
            codes,
            [
                ("invalid_json_line", 2),
                ("duplicate_custom_id", 3),
                ("invalid_url", 4),
                ("missing_required_parameter", 5)
            ]
        );
        assert_eq!(errors[3]["param"], "body.input");
    }

    #[test]
    fn empty_file_fails() {
        assert!(validate(b"\n\n", "/v1/responses", Limits::OPENAI).is_err());
    }

    #[test]
    fn a_file_past_the_limits_fails_whole() {
        let line = r#"{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"x"}}"#;
        let two = format!("{line}\n{}\n", line.replace("\"a\"", "\"b\""));
        assert!(validate(two.as_bytes(), "/v1/responses", Limits { max_requests: 2, max_bytes: 1_000 }).is_ok());
        let few = validate(two.as_bytes(), "/v1/responses", Limits { max_requests: 1, max_bytes: 1_000 });
        assert_eq!(few.err().unwrap_or_default()[0]["code"], "too_many_requests");
        let small = validate(two.as_bytes(), "/v1/responses", Limits { max_requests: 2, max_bytes: 100 });
        assert_eq!(small.err().unwrap_or_default()[0]["code"], "file_too_large");
    }
}
