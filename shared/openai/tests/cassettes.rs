//! The JSON bodies inside the real VCR cassettes: pydantic-ai's (bodies stored as parsed YAML) and openllmetry's
//! (bodies stored gzip-compressed, base64 in a `!!binary` scalar, with every response header kept).

use std::io::Read;
use std::path::Path;

use base64::Engine;
use bw_openai::{ErrorEnvelope, RateLimits, Response, ResponseStatus};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cassette(path: &str) -> Result<Vec<Yaml>, Box<dyn std::error::Error>> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openai").join(path);
    let doc: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(full)?)?;
    Ok(doc.get("interactions").and_then(Yaml::as_sequence).cloned().ok_or("no interactions")?)
}

fn status_code(interaction: &Yaml) -> Option<u64> {
    interaction.get("response")?.get("status")?.get("code")?.as_u64()
}

/// The response body of a pydantic-ai interaction, as JSON.
fn parsed_body(interaction: &Yaml) -> Result<Value, Box<dyn std::error::Error>> {
    let body = interaction.get("response").and_then(|r| r.get("parsed_body")).ok_or("no parsed_body")?;
    Ok(serde_json::to_value(body)?)
}

#[test]
fn pydantic_background_flows() -> TestResult {
    let flows = [
        ("test_background_mode_vcr.yaml", vec!["queued", "in_progress", "completed"]),
        ("test_background_mode_reasoning_vcr.yaml", vec!["queued", "completed"]),
        ("test_background_mode_with_tool_vcr.yaml", vec!["queued", "completed", "queued", "in_progress", "completed"]),
    ];
    for (name, expected) in flows {
        let mut statuses = Vec::new();
        for interaction in cassette(&format!("responses/pydantic_ai_vcr/{name}"))? {
            assert_eq!(status_code(&interaction), Some(200), "{name}");
            let response: Response =
                serde_json::from_value(parsed_body(&interaction)?).map_err(|e| format!("{name}: {e}"))?;
            if response.status == ResponseStatus::Queued {
                assert!(response.output.is_empty() && response.usage.is_none() && response.completed_at.is_none());
            }
            if response.status == ResponseStatus::Completed {
                assert!(response.usage.is_some() && response.completed_at.is_some(), "{name}");
            }
            statuses.push(response.status.as_str());
        }
        assert_eq!(statuses, expected, "{name}");
    }
    Ok(())
}

#[test]
fn pydantic_background_requests_ask_for_background() -> TestResult {
    for interaction in cassette("responses/pydantic_ai_vcr/test_background_mode_vcr.yaml")? {
        let request = interaction.get("request").ok_or("no request")?;
        if request.get("method").and_then(Yaml::as_str) == Some("POST") {
            let body = serde_json::to_value(request.get("parsed_body").ok_or("no body")?)?;
            assert_eq!(body["background"], Value::Bool(true));
        }
    }
    Ok(())
}

#[test]
fn pydantic_http_400_is_an_error_envelope() -> TestResult {
    let interactions = cassette("errors/openai_400_decimal_below_min_value.pydantic_ai_vcr.yaml")?;
    let interaction = interactions.first().ok_or("empty cassette")?;
    assert_eq!(status_code(interaction), Some(400));
    let body = serde_json::to_vec(&parsed_body(interaction)?)?;
    let envelope: ErrorEnvelope = serde_json::from_slice(&body)?;
    assert_eq!(envelope.error.code.as_deref(), Some("decimal_below_min_value"));
    match bw_openai::OpenAiError::from_http(400, &body, None) {
        e @ bw_openai::OpenAiError::Api { .. } => {
            assert!(!e.is_retryable());
            assert!(e.to_string().contains("param temperature"), "{e}");
        }
        other => return Err(format!("expected Api, got {other:?}").into()),
    }
    Ok(())
}

/// The gunzipped body of an openllmetry interaction.
fn binary_body(interaction: &Yaml) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let string = interaction.get("response").and_then(|r| r.get("body")).and_then(|b| b.get("string"));
    let encoded = match string.ok_or("no body.string")? {
        Yaml::Tagged(tagged) => tagged.value.as_str().map(str::to_owned),
        other => other.as_str().map(str::to_owned),
    }
    .ok_or("body.string is not a string")?;
    let compressed =
        base64::engine::general_purpose::STANDARD.decode(encoded.split_whitespace().collect::<String>())?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut out)?;
    Ok(out)
}

fn headers(interaction: &Yaml) -> Result<HeaderMap, Box<dyn std::error::Error>> {
    let mut map = HeaderMap::new();
    let recorded = interaction.get("response").and_then(|r| r.get("headers")).and_then(Yaml::as_mapping);
    for (name, values) in recorded.ok_or("no headers")? {
        let (Some(name), Some(value)) = (name.as_str(), values.get(0).and_then(Yaml::as_str)) else { continue };
        map.insert(HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())?, HeaderValue::from_str(value)?);
    }
    Ok(map)
}

#[test]
fn openllmetry_reasoning_answers_put_a_reasoning_item_first() -> TestResult {
    let interactions = cassette("responses/openllmetry_vcr/test_responses_reasoning.yaml")?;
    assert_eq!(interactions.len(), 2);
    for interaction in &interactions {
        let response: Response = serde_json::from_slice(&binary_body(interaction)?)?;
        assert_eq!(response.output.first().map(|i| i.kind.as_str()), Some("reasoning"));
        assert_eq!(response.output_text().as_deref(), Some("3"));
        let limits = RateLimits::from_headers(&headers(interaction)?).ok_or("no rate-limit headers")?;
        assert!(limits.remaining_requests.is_some() && limits.reset_requests.is_some());
    }
    Ok(())
}

#[test]
fn openllmetry_bodies_match_the_derived_fixtures() -> TestResult {
    let interactions = cassette("responses/openllmetry_vcr/test_responses.yaml")?;
    let derived = [
        "response_completed_gpt-4.1-nano_2025-06-28.openllmetry_vcr_real_bytes.json",
        "response_completed_gpt-4.1-nano_2026-03-31.openllmetry_vcr_real_bytes.json",
    ];
    for (interaction, name) in interactions.iter().zip(derived) {
        let from_cassette: Response = serde_json::from_slice(&binary_body(interaction)?)?;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openai/responses").join(name);
        let from_file: Response = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        assert_eq!(from_cassette, from_file, "{name}");
        let limits = RateLimits::from_headers(&headers(interaction)?).ok_or("no rate-limit headers")?;
        assert_eq!(limits.reset_requests, Some(std::time::Duration::from_millis(2)));
    }
    Ok(())
}
