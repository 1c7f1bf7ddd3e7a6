//! Responses endpoints: the request shapes the client sends and what it makes of the answers.

use std::collections::BTreeMap;
use std::time::Duration;

use bw_openai::{OpenAiError, ResponseStatus};
use serde_json::Value;

use crate::support::{Answer, Fake, TestResult, client, fixture};

#[tokio::test]
async fn create_background_response_sends_the_documented_body() -> TestResult {
    let queued = fixture("responses/response_background_queued.pydantic_ai_vcr_real.json")?;
    let fake = Fake::start(vec![
        Answer::new(200, queued)
            .header("x-ratelimit-limit-requests", "30000")
            .header("x-ratelimit-remaining-requests", "29999")
            .header("x-ratelimit-reset-requests", "2ms")
            .header("x-ratelimit-remaining-tokens", "149999967")
            .header("x-ratelimit-reset-tokens", "0s")
            .header("x-request-id", "req_3e2f5c75b5c27714c7c1ef7fc5760c9d"),
    ])
    .await?;
    let ai = client(&fake)?;
    let metadata = BTreeMap::from([("job_id".to_owned(), "42".to_owned())]);
    let response = ai.create_background_response("gpt-4o-mini", "Is it spam?", "A posting", &metadata).await?;
    assert_eq!(response.status, ResponseStatus::Queued);
    assert!(!response.is_terminal());

    let received = fake.received();
    let request = received.first().ok_or("nothing received")?;
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/responses"));
    assert_eq!(request.headers.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer sk-test-key"));
    assert!(request.headers.get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/json")));
    let body: Value = serde_json::from_slice(&request.body)?;
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["instructions"], "Is it spam?");
    assert_eq!(body["input"], "A posting");
    assert_eq!((&body["background"], &body["store"]), (&Value::Bool(true), &Value::Bool(true)));
    assert_eq!(body["text"]["format"]["type"], "json_schema");
    assert_eq!(body["text"]["format"]["strict"], Value::Bool(true));
    assert_eq!(body["text"]["format"]["schema"], bw_openai::decision_schema());
    assert_eq!(body["metadata"]["job_id"], "42");

    let limits = ai.last_rate_limits().ok_or("no rate limits kept")?;
    assert_eq!(limits.remaining_requests, Some(29_999));
    assert_eq!(limits.reset_requests, Some(Duration::from_millis(2)));
    assert_eq!(limits.limit_tokens, None);
    assert_eq!((ai.requests_sent(), ai.rate_limited_responses()), (1, 0));
    Ok(())
}

#[tokio::test]
async fn retrieve_and_cancel_use_the_id_as_one_path_segment() -> TestResult {
    let completed = fixture("responses/response_get_completed.openapi_example.json")?;
    let cancelled = fixture("responses/response_cancel_background_cancelled.openapi_example.json")?;
    let fake = Fake::start(vec![
        Answer::new(200, completed.clone()),
        Answer::new(200, cancelled),
        Answer::new(200, completed),
    ])
    .await?;
    let ai = client(&fake)?;
    let done = ai.retrieve_response("resp_67cb71b351908190a308f3859487620d06981a8637e6bc44").await?;
    assert_eq!(done.status, ResponseStatus::Completed);
    assert!(done.output_text().is_some_and(|t| t.starts_with("Silent circuits")));
    let cancelled = ai.cancel_response("resp_1").await?;
    assert_eq!(cancelled.status, ResponseStatus::Cancelled);
    ai.retrieve_response("../files/x?y").await?;

    let paths: Vec<(String, String)> = fake.received().into_iter().map(|r| (r.method.to_string(), r.path)).collect();
    assert_eq!(paths[0], ("GET".into(), "/v1/responses/resp_67cb71b351908190a308f3859487620d06981a8637e6bc44".into()));
    assert_eq!(paths[1], ("POST".into(), "/v1/responses/resp_1/cancel".into()));
    assert_eq!(paths[2], ("GET".into(), "/v1/responses/..%2Ffiles%2Fx%3Fy".into()));
    Ok(())
}

#[tokio::test]
async fn a_completed_decision_round_trips() -> TestResult {
    // A real completed answer, with a reasoning item put first and a strict-output decision as its text.
    let mut body: Value =
        serde_json::from_str(&fixture("responses/response_background_completed.pydantic_ai_vcr_real.json")?)?;
    let decision = r#"{"flag":false,"label":"not spam","reason":"A normal engineering posting."}"#;
    body["output"][0]["content"][0]["text"] = Value::from(decision);
    let reasoning = serde_json::json!({"id": "rs_1", "type": "reasoning", "summary": []});
    if let Some(output) = body["output"].as_array_mut() {
        output.insert(0, reasoning);
    }
    let fake = Fake::start(vec![Answer::new(200, body.to_string())]).await?;
    let response = client(&fake)?.retrieve_response("resp_1").await?;
    let decision = response.decision()?;
    assert!(!decision.flag);
    assert_eq!(decision.label, "not spam");
    Ok(())
}

#[tokio::test]
async fn an_unreadable_answer_is_a_decode_error_and_not_retried() -> TestResult {
    let fake = Fake::start(vec![Answer::new(200, r#"{"object":"response"}"#)]).await?;
    let ai = client(&fake)?;
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(
        matches!(&err, OpenAiError::Decode { what, reason } if what.contains("/v1/responses/resp_1") && reason.contains("id"))
    );
    assert_eq!(ai.requests_sent(), 1);
    Ok(())
}

#[tokio::test]
async fn a_bad_base_url_is_a_config_error() {
    let config = crate::support::config("not a url");
    assert!(matches!(bw_openai::OpenAi::new(config), Err(OpenAiError::InvalidConfig { .. })));
}
