//! The types against every real OpenAI payload in `tests/fixtures/openai/` that is valid JSON or JSONL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bw_openai::types::OutputItem;
use bw_openai::{
    Batch, BatchOutcome, BatchStatus, ErrorEnvelope, OpenAiError, RateLimits, Response, ResponseStatus,
    batch_request_line, parse_batch_output,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openai").join(sub)
}

fn read(sub: &str, name: &str) -> Result<String, std::io::Error> {
    std::fs::read_to_string(dir(sub).join(name))
}

/// Names of the files in `sub` ending in `ext`, sorted.
fn files(sub: &str, ext: &str) -> Result<Vec<String>, std::io::Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir(sub))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    Ok(names)
}

#[test]
fn every_response_fixture_parses() -> TestResult {
    let names = files("responses", ".json")?;
    assert!(names.len() >= 10, "found only {names:?}");
    for name in names {
        let value: Value = serde_json::from_str(&read("responses", &name)?)?;
        // Event fixtures wrap the response object; the others are the object itself.
        let object = if name.starts_with("event_") { value["response"].clone() } else { value };
        let response: Response = serde_json::from_value(object).map_err(|e| format!("{name}: {e}"))?;
        assert!(response.id.starts_with("res"), "{name}: {}", response.id);
        if !response.is_terminal() {
            assert!(response.output.is_empty() && response.usage.is_none(), "{name}");
        }
    }
    Ok(())
}

fn response(name: &str) -> Result<Response, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&read("responses", name)?)?)
}

#[test]
fn background_flow_fixtures() -> TestResult {
    let queued = response("response_background_queued.pydantic_ai_vcr_real.json")?;
    assert_eq!(queued.status, ResponseStatus::Queued);
    assert_eq!((queued.completed_at, queued.created_at), (None, Some(1_770_757_617)));
    assert_eq!(queued.output_text(), None);
    assert!(matches!(queued.decision(), Err(OpenAiError::NotCompleted { status: ResponseStatus::Queued, .. })));

    let running = response("response_background_in_progress.pydantic_ai_vcr_real.json")?;
    assert_eq!(running.status, ResponseStatus::InProgress);
    assert!(!running.is_terminal());

    let done = response("response_background_completed.pydantic_ai_vcr_real.json")?;
    assert!(done.is_terminal());
    assert_eq!(done.output_text().as_deref(), Some("2 + 2 equals 4."));
    assert_eq!(done.usage.as_ref().map(|u| u.total_tokens), Some(24));
    assert_eq!(done.completed_at_utc().map(|t| t.timestamp()), Some(1_770_757_618));
    // Plain text is not a decision; the error says so.
    assert!(matches!(done.decision(), Err(OpenAiError::Decode { reason, .. }) if reason.contains("not JSON")));
    Ok(())
}

#[test]
fn output_text_skips_function_calls_and_reads_newer_fields() -> TestResult {
    let call = response("response_background_completed_function_call.pydantic_ai_vcr_real.json")?;
    assert_eq!(call.output.first().map(|i| i.kind.as_str()), Some("function_call"));
    assert_eq!(call.output_text(), None);
    assert!(matches!(call.decision(), Err(OpenAiError::Decode { reason, .. }) if reason.contains("no message")));

    let newer = response("response_background_completed_gpt-5.6-sol_reasoning.pydantic_ai_vcr_real.json")?;
    assert_eq!(newer.output_text().as_deref(), Some("2 + 2 = 4."));

    let old = response("response_completed_gpt-4.1-nano_2025-06-28.openllmetry_vcr_real_bytes.json")?;
    assert_eq!((old.status, old.completed_at), (ResponseStatus::Completed, None));
    assert_eq!(old.output_text().as_deref(), Some("The capital of France is Paris."));

    let cancelled = response("response_cancel_background_cancelled.openapi_example.json")?;
    assert_eq!(cancelled.status, ResponseStatus::Cancelled);
    assert!(cancelled.is_terminal());
    assert!(matches!(cancelled.decision(), Err(OpenAiError::NotCompleted { status: ResponseStatus::Cancelled, .. })));
    Ok(())
}

#[test]
fn failed_event_gives_the_error_code() -> TestResult {
    let value: Value = serde_json::from_str(&read("responses", "event_response_failed.openapi_example.json")?)?;
    let failed: Response = serde_json::from_value(value["response"].clone())?;
    match failed.decision() {
        Err(OpenAiError::NotCompleted { status: ResponseStatus::Failed, code, message }) => {
            assert_eq!(code.as_deref(), Some("server_error"));
            assert!(message.contains("failed to generate"));
        }
        other => return Err(format!("expected NotCompleted, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn decision_after_a_reasoning_item() -> TestResult {
    // The shape of the real gpt-5-nano answer (openllmetry cassette) with a decision as its text.
    let mut answer = response("response_completed_gpt-4.1-nano_2026-03-31.openllmetry_vcr_real_bytes.json")?;
    let reasoning: OutputItem = serde_json::from_str(r#"{"id": "rs_1", "type": "reasoning", "summary": []}"#)?;
    answer.output.insert(0, reasoning);
    if let Some(part) = answer.output.get_mut(1).and_then(|m| m.content.first_mut()) {
        part.text = Some(r#"{"flag":true,"label":"match","reason":"Senior Rust role"}"#.to_owned());
    }
    let decision = answer.decision()?;
    assert!(decision.flag);
    assert_eq!(decision.label, "match");
    Ok(())
}

#[test]
fn every_batch_object_parses() -> TestResult {
    let mut by_status = HashMap::new();
    for name in files("batch", ".json")? {
        let batch: Batch = serde_json::from_str(&read("batch", &name)?).map_err(|e| format!("{name}: {e}"))?;
        by_status.insert(batch.status, batch);
    }
    let validating = by_status.remove(&BatchStatus::Validating).ok_or("no validating batch")?;
    assert_eq!((validating.output_file_id, validating.in_progress_at), (None, None));
    assert_eq!(validating.metadata.get("k1"), Some(&Value::from("v1")));

    let completed = by_status.remove(&BatchStatus::Completed).ok_or("no completed batch")?;
    assert!(completed.is_terminal());
    assert_eq!(completed.output_file_id.as_deref(), Some("file-V7XpECC2hkGU5DSKJpNEDr"));
    assert_eq!((completed.request_counts.total, completed.request_counts.completed), (19, 19));
    assert_eq!(completed.usage.map(|u| u.total_tokens), Some(38_188));

    let failed = by_status.remove(&BatchStatus::Failed).ok_or("no failed batch")?;
    let errors = failed.errors.ok_or("failed batch without errors")?;
    assert_eq!(errors.data.first().and_then(|e| e.line), Some(1));
    assert_eq!(errors.data.first().and_then(|e| e.code.as_deref()), Some("missing_required_parameter"));
    Ok(())
}

#[test]
fn every_batch_output_file_parses_and_matches_by_custom_id() -> TestResult {
    let mut request_ids = Vec::new();
    for name in files("batch", ".jsonl")? {
        if name.starts_with("batch_request_input_line") {
            continue;
        }
        let results = parse_batch_output(&read("batch", &name)?).map_err(|e| format!("{name}: {e}"))?;
        assert!(!results.is_empty(), "{name}");
        for result in &results {
            if let BatchOutcome::Answered { request_id, .. } = &result.outcome {
                request_ids.extend(request_id.clone());
                assert!(!result.output_text()?.is_empty(), "{name}");
            }
        }
    }
    // The three request-id forms seen in real files.
    assert!(request_ids.iter().any(|id| id.starts_with("req_")));
    assert!(request_ids.iter().any(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())));
    assert!(request_ids.iter().any(|id| id.len() == 36 && id.matches('-').count() == 4));

    // The guide's example lists request-2 before request-1.
    let results = parse_batch_output(&read("batch", "batch_output_file.openai_batch_guide_example.jsonl")?)?;
    let by_id: HashMap<_, _> = results.iter().map(|r| (r.custom_id.as_str(), r)).collect();
    assert_eq!(results.first().map(|r| r.custom_id.as_str()), Some("request-2"));
    assert_eq!(
        by_id.get("request-1").map(|r| r.output_text()).transpose()?.as_deref(),
        Some("Hello! How can I assist you today?")
    );
    Ok(())
}

#[test]
fn expired_lines_are_errors_not_answers() -> TestResult {
    let results = parse_batch_output(&read("batch", "batch_error_file_expired.openai_batch_guide_example.jsonl")?)?;
    assert_eq!(results.len(), 2);
    for result in results {
        assert!(matches!(&result.outcome, BatchOutcome::NotRun { code: Some(c), .. } if c == "batch_expired"));
        assert!(matches!(result.decision(), Err(OpenAiError::BatchItem { code: Some(c), .. }) if c == "batch_expired"));
    }
    Ok(())
}

#[test]
fn our_input_line_has_the_documented_shape() -> TestResult {
    let documented: Value =
        serde_json::from_str(read("batch", "batch_request_input_line.openapi_2025-03-21_example.jsonl")?.trim())?;
    let ours: Value = serde_json::from_str(&batch_request_line("item-1", "gpt-4o-mini", "Be strict.", "A posting"))?;
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&ours), keys(&documented));
    assert_eq!((&ours["method"], &ours["url"]), (&Value::from("POST"), &Value::from("/v1/responses")));
    assert_eq!(ours["body"]["text"]["format"]["strict"], Value::Bool(true));
    assert_eq!(ours["body"]["input"], "A posting");
    Ok(())
}

#[test]
fn error_envelopes_parse_and_classify() -> TestResult {
    let invalid = read("errors", "openai_400_invalid_request_error.box_mojito_real.json")?;
    let envelope: ErrorEnvelope = serde_json::from_str(&invalid)?;
    assert_eq!(envelope.error.param.as_deref(), Some("input_file_id"));
    match OpenAiError::from_http(400, invalid.as_bytes(), None) {
        e @ OpenAiError::Api { status: 400, .. } => {
            assert!(!e.is_retryable() && e.to_string().contains("invalid_value"))
        }
        other => return Err(format!("expected Api, got {other:?}").into()),
    }
    // The 2023 form: type insufficient_quota, code null.
    let quota = read("errors", "openai_429_insufficient_quota_body_2023.sixarm_curl-chatgpt_real.json")?;
    let envelope: ErrorEnvelope = serde_json::from_str(&quota)?;
    assert_eq!(envelope.error.code, None);
    assert!(matches!(OpenAiError::from_http(429, quota.as_bytes(), None), OpenAiError::QuotaExhausted { .. }));
    Ok(())
}

#[test]
fn real_rate_limit_headers_parse() -> TestResult {
    let dump: Value = serde_json::from_str(&read(
        "errors",
        "openai_real_200_response_headers_x-ratelimit.openllmetry_vcr_derived.json",
    )?)?;
    for key in ["interaction_0_2025-06-28", "interaction_1_2026-03-31"] {
        let mut headers = HeaderMap::new();
        for (name, values) in dump[key].as_object().ok_or("not an object")? {
            let value = values.get(0).and_then(Value::as_str).ok_or("no value")?;
            headers
                .insert(HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())?, HeaderValue::from_str(value)?);
        }
        let limits = RateLimits::from_headers(&headers).ok_or("no rate limits")?;
        assert_eq!(limits.limit_requests, Some(30_000));
        assert_eq!(limits.remaining_requests, Some(29_999));
        assert_eq!(limits.reset_requests, Some(std::time::Duration::from_millis(2)));
        assert_eq!(limits.reset_tokens, Some(std::time::Duration::ZERO));
        assert_eq!(limits.exhausted_wait(), None);
    }
    Ok(())
}

#[test]
fn a_line_that_failed_at_http_level_carries_the_error() -> TestResult {
    // A /v1/responses batch line whose request got a 400: the real 400 body inside `response.body`.
    let body = read("errors", "openai_400_invalid_request_error.box_mojito_real.json")?;
    let body: Value = serde_json::from_str(&body)?;
    let line = serde_json::json!({
        "id": "batch_req_1", "custom_id": "item-9", "error": null,
        "response": {"status_code": 400, "request_id": "req_0123456789abcdef0123456789abcdef", "body": body},
    });
    let ok_line = serde_json::json!({
        "id": "batch_req_2", "custom_id": "item-1", "error": null,
        "response": {"status_code": 200, "request_id": "5f0fcb70-15df-4036-92bf-e465514e4eef",
            "body": serde_json::from_str::<Value>(&read("responses", "response_get_completed.openapi_example.json")?)?},
    });
    let results = parse_batch_output(&format!("{line}\n\n{ok_line}\n"))?;
    assert_eq!(results.len(), 2);
    match &results[0].outcome {
        BatchOutcome::HttpError { status_code: 400, error, .. } => {
            assert_eq!(error.code.as_deref(), Some("invalid_value"))
        }
        other => return Err(format!("expected HttpError, got {other:?}").into()),
    }
    assert!(
        matches!(results[0].decision(), Err(OpenAiError::Api { status: 400, param: Some(p), .. }) if p == "input_file_id")
    );
    assert_eq!(results[1].response()?.status, ResponseStatus::Completed);
    assert!(results[1].output_text()?.starts_with("Silent circuits"));
    Ok(())
}

#[test]
fn a_damaged_output_line_is_named() {
    let err = parse_batch_output("{\"custom_id\":\"a\",\"response\":null,\"error\":{\"code\":\"x\"}}\nnot json\n");
    assert!(matches!(err, Err(OpenAiError::Decode { what, .. }) if what == "batch output line 2"));
    let err = parse_batch_output(r#"{"custom_id":"a","response":null,"error":null}"#);
    assert!(matches!(err, Err(OpenAiError::Decode { reason, .. }) if reason.contains("neither")));
}
