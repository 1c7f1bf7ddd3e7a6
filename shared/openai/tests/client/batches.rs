//! Files and batches: the multipart upload, the batch requests, and reading an output file back.

use std::collections::BTreeMap;

use bw_openai::{BatchOutcome, BatchStatus, OpenAiError, batch_request_line, parse_batch_output};
use serde_json::{Value, json};

use crate::support::{Answer, Fake, TestResult, client, fixture};

/// The parts of a `multipart/form-data` body: (part headers, part content).
fn multipart_parts(content_type: &str, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or_else(|| format!("not multipart/form-data: {content_type}"))?;
    let text = String::from_utf8(body.to_vec()).map_err(|e| e.to_string())?;
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in text.split(&delimiter).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n").ok_or("part does not start with CRLF")?;
        let (headers, content) = chunk.split_once("\r\n\r\n").ok_or("part without a blank line")?;
        let content = content.strip_suffix("\r\n").ok_or("part does not end with CRLF")?;
        parts.push((headers.to_owned(), content.as_bytes().to_vec()));
    }
    Ok(parts)
}

#[tokio::test]
async fn upload_sends_purpose_batch_and_the_file_part() -> TestResult {
    let file_object = json!({
        "id": "file-pp1I2zv79eAnm47wt6rCNL5a", "object": "file", "bytes": 120, "created_at": 1729729300,
        "filename": "job-7.jsonl", "purpose": "batch", "status": "processed", "expires_at": null
    });
    let fake = Fake::start(vec![Answer::new(200, file_object.to_string())]).await?;
    let ai = client(&fake)?;
    let lines = [
        batch_request_line("7:1", "gpt-4o-mini", "Is it spam?", "First posting"),
        batch_request_line("7:2", "gpt-4o-mini", "Is it spam?", "Second posting"),
    ];
    let jsonl = lines.join("\n").into_bytes();
    let file = ai.upload_batch_file(jsonl.clone(), "job-7.jsonl").await?;
    assert_eq!(file.id, "file-pp1I2zv79eAnm47wt6rCNL5a");
    assert_eq!(file.purpose.as_deref(), Some("batch"));

    let received = fake.received();
    let request = received.first().ok_or("nothing received")?;
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/files"));
    let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parts = multipart_parts(content_type, &request.body)?;
    assert_eq!(parts.len(), 2, "{parts:?}");
    let purpose = parts.iter().find(|(h, _)| h.contains("name=\"purpose\"")).ok_or("no purpose part")?;
    assert_eq!(purpose.1, b"batch");
    let file_part = parts.iter().find(|(h, _)| h.contains("name=\"file\"")).ok_or("no file part")?;
    assert!(file_part.0.contains("filename=\"job-7.jsonl\""), "{}", file_part.0);
    assert_eq!(file_part.1, jsonl);
    Ok(())
}

#[tokio::test]
async fn create_retrieve_and_cancel_batches() -> TestResult {
    let validating = fixture("batch/batch_create_validating.box_mojito_real.json")?;
    let completed = fixture("batch/batch_retrieve_completed_with_usage.czech_doc_transcribed.json")?;
    let mut cancelling: Value = serde_json::from_str(&validating)?;
    cancelling["status"] = Value::from("cancelling");
    cancelling["cancelling_at"] = Value::from(1_729_729_400);
    let fake = Fake::start(vec![
        Answer::new(200, validating),
        Answer::new(200, completed),
        Answer::new(200, cancelling.to_string()),
    ])
    .await?;
    let ai = client(&fake)?;
    let metadata = BTreeMap::from([("job_id".to_owned(), "7".to_owned())]);
    let created = ai.create_batch("file-pp1I2zv79eAnm47wt6rCNL5a", &metadata).await?;
    assert_eq!(created.status, BatchStatus::Validating);
    let done = ai.retrieve_batch("batch_6abc00d919e081908a2139a6f0445973").await?;
    assert!(done.is_terminal() && done.output_file_id.is_some());
    let cancelling = ai.cancel_batch("batch_67199315c20081909074e442115938a2").await?;
    assert_eq!((cancelling.status, cancelling.cancelling_at), (BatchStatus::Cancelling, Some(1_729_729_400)));

    let received = fake.received();
    let body: Value = serde_json::from_slice(&received[0].body)?;
    assert_eq!(
        body,
        json!({
            "input_file_id": "file-pp1I2zv79eAnm47wt6rCNL5a",
            "endpoint": "/v1/responses",
            "completion_window": "24h",
            "metadata": {"job_id": "7"}
        })
    );
    let paths: Vec<String> = received.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        paths,
        [
            "POST /v1/batches",
            "GET /v1/batches/batch_6abc00d919e081908a2139a6f0445973",
            "POST /v1/batches/batch_67199315c20081909074e442115938a2/cancel"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn file_content_returns_the_bytes_for_parsing() -> TestResult {
    let mut response: Value = serde_json::from_str(&fixture("responses/response_get_completed.openapi_example.json")?)?;
    response["output"][0]["content"][0]["text"] =
        Value::from(r#"{"flag":true,"label":"spam","reason":"Asks for a fee."}"#);
    let answered = json!({"id": "batch_req_1", "custom_id": "7:2", "error": null,
        "response": {"status_code": 200, "request_id": "07bc45ab4e7e26ac23a0c949973327e7", "body": response}});
    let expired = fixture("batch/batch_error_file_expired.openai_batch_guide_example.jsonl")?;
    let file = format!("{expired}{answered}\n");
    let fake =
        Fake::start(vec![Answer::new(200, file.clone()).header("content-type", "application/octet-stream")]).await?;
    let bytes = client(&fake)?.file_content("file-V7XpECC2hkGU5DSKJpNEDr").await?;
    assert_eq!(bytes, file.as_bytes());
    assert_eq!(
        fake.received().first().map(|r| r.path.clone()).as_deref(),
        Some("/v1/files/file-V7XpECC2hkGU5DSKJpNEDr/content")
    );

    let results = parse_batch_output(std::str::from_utf8(&bytes)?)?;
    let by_id: BTreeMap<&str, _> = results.iter().map(|r| (r.custom_id.as_str(), r)).collect();
    let decision = by_id.get("7:2").ok_or("7:2 missing")?.decision()?;
    assert!(decision.flag && decision.label == "spam");
    let expired = by_id.get("request-3").ok_or("request-3 missing")?;
    assert!(matches!(expired.outcome, BatchOutcome::NotRun { .. }));
    assert!(matches!(expired.decision(), Err(OpenAiError::BatchItem { .. })));
    Ok(())
}
