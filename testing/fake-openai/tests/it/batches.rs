//! Files and Batch APIs: shapes against the real objects, lifecycle, result files, failures, cancel.

use std::collections::BTreeSet;

use anyhow::Context as _;
use bw_fake_openai::{BatchStatus, Decision, FakeConfig, Timing};
use serde_json::{Value, json};

use crate::common::{Harness, assert_same_shape, fixture, fixture_line, input_line, jsonl, keys, start};

fn timed(config: FakeConfig) -> FakeConfig {
    FakeConfig {
        batch_validating_ms: Timing::ms(1_000),
        batch_in_progress_ms: Timing::ms(10_000),
        batch_finalizing_ms: Timing::ms(1_000),
        batch_cancelling_ms: Timing::ms(500),
        ..config
    }
}

fn responses_file(count: usize) -> (String, Vec<String>) {
    let ids: Vec<String> = (0..count).map(|i| format!("item-{i:03}")).collect();
    let lines: Vec<String> = ids
        .iter()
        .map(|id| input_line(id, "/v1/responses", json!({"model": "gpt-4.1-nano", "input": format!("posting {id}")})))
        .collect();
    (lines.join("\n") + "\n", ids)
}

async fn create_batch(h: &Harness, content: &str, endpoint: &str) -> anyhow::Result<Value> {
    let file = h.upload("batch", "input.jsonl", content).await?;
    anyhow::ensure!(file.status == 200, "upload: {}", file.text);
    let body = json!({"input_file_id": file.body["id"], "endpoint": endpoint, "completion_window": "24h",
        "metadata": {"job_id": "j1"}});
    let batch = h.post("/batches", &body).await?;
    anyhow::ensure!(batch.status == 200, "create: {}", batch.text);
    Ok(batch.body)
}

async fn file_lines(h: &Harness, id: &Value) -> anyhow::Result<Vec<Value>> {
    let id = id.as_str().context("file id")?;
    let answer = h.get(&format!("/files/{id}/content")).await?;
    anyhow::ensure!(answer.status == 200, "content: {}", answer.text);
    jsonl(&answer.text)
}

#[tokio::test]
async fn batch_end_to_end_with_shuffled_output() -> anyhow::Result<()> {
    let h = start(timed(FakeConfig::default())).await?;
    let (content, ids) = responses_file(60);
    let file = h.upload("batch", "input.jsonl", &content).await?;
    assert_eq!(
        keys(&file.body),
        ["bytes", "created_at", "expires_at", "filename", "id", "object", "purpose", "status", "status_details"]
            .map(String::from)
            .into()
    );
    assert_eq!((file.body["object"].as_str(), file.body["purpose"].as_str()), (Some("file"), Some("batch")));
    assert_eq!(
        (file.body["status"].as_str(), file.body["bytes"].as_u64()),
        (Some("processed"), Some(content.len() as u64))
    );
    assert!(file.body["id"].as_str().is_some_and(|id| id.starts_with("file-")));
    assert_eq!(h.get(&format!("/files/{}", file.body["id"].as_str().unwrap_or(""))).await?.body, file.body);

    let batch = create_batch(&h, &content, "/v1/responses").await?;
    let real = fixture("batch/batch_create_validating.box_mojito_real.json")?;
    let mut expected_keys = keys(&real);
    expected_keys.extend(["model".to_owned(), "usage".to_owned()]);
    assert_eq!(keys(&batch), expected_keys, "the real validating object plus the newer model and usage");
    for key in keys(&real) {
        if key.ends_with("_at") {
            assert_eq!(batch[&key].is_null(), real[&key].is_null(), "{key}");
        }
        if key != "endpoint" && key != "metadata" && !key.ends_with("_id") && key != "id" && !key.ends_with("_at") {
            assert_eq!(batch[&key], real[&key], "{key}");
        }
    }
    assert_eq!(batch["metadata"], json!({"job_id": "j1"}));
    let id = batch["id"].as_str().context("id")?.to_owned();
    assert!(id.starts_with("batch_"));

    h.advance_ms(1_000 + 5_000);
    let running = h.get(&format!("/batches/{id}")).await?.body;
    assert_eq!(running["status"], "in_progress");
    assert_eq!(running["request_counts"]["total"], 60);
    let done_so_far = running["request_counts"]["completed"].as_u64().unwrap_or(0);
    assert!((10..=50).contains(&done_so_far), "about half done midway, got {done_so_far}");
    assert!(running["in_progress_at"].is_u64() && running["finalizing_at"].is_null());

    h.advance_ms(5_000);
    assert_eq!(h.get(&format!("/batches/{id}")).await?.body["status"], "finalizing");
    h.advance_ms(1_000);
    let done = h.get(&format!("/batches/{id}")).await?.body;
    let real = fixture("batch/batch_retrieve_completed_with_usage.czech_doc_transcribed.json")?;
    let mut comparable = done.clone();
    comparable["metadata"] = real["metadata"].clone(); // user data, not shape
    assert_same_shape(&comparable, &real)?;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["request_counts"], json!({"total": 60, "completed": 60, "failed": 0}));
    assert_eq!(done["error_file_id"], Value::Null);
    assert_eq!(done["model"], "gpt-4.1-nano");
    assert!(done["usage"]["total_tokens"].as_u64() > Some(0));

    let lines = file_lines(&h, &done["output_file_id"]).await?;
    let order: Vec<String> = lines.iter().map(|l| l["custom_id"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), ids.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(order.len(), ids.len());
    assert_ne!(order, ids, "output lines come in no particular order");
    let real_line = fixture_line("batch/batch_output_file.openai_batch_guide_example.jsonl")?;
    for line in &lines {
        assert_eq!(keys(line), keys(&real_line));
        assert_eq!(keys(&line["response"]), keys(&real_line["response"]));
        assert_eq!(line["response"]["status_code"], 200);
        assert!(line["id"].as_str().is_some_and(|id| id.starts_with("batch_req_")));
    }
    let body = &lines[0]["response"]["body"];
    assert_same_shape(
        body,
        &fixture("responses/response_completed_gpt-4.1-nano_2026-03-31.openllmetry_vcr_real_bytes.json")?,
    )?;
    let text = body["output"][0]["content"][0]["text"].as_str().context("text")?;
    serde_json::from_str::<Decision>(text)?;
    let output = h.get(&format!("/files/{}", done["output_file_id"].as_str().unwrap_or(""))).await?.body;
    assert_eq!(output["purpose"], "batch_output");
    Ok(())
}

#[tokio::test]
async fn expired_and_http_failed_lines_land_in_the_error_file() -> anyhow::Result<()> {
    let config =
        FakeConfig { batch_expired_rate: 0.2, batch_http_error_rate: 0.2, seed: 9, ..timed(FakeConfig::default()) };
    let h = start(config).await?;
    let (content, ids) = responses_file(80);
    let id = create_batch(&h, &content, "/v1/responses").await?["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(12_000);
    let done = h.get(&format!("/batches/{id}")).await?.body;
    assert_eq!(done["status"], "expired", "a batch with lines that never ran ends expired");
    assert!(done["expired_at"].is_u64() && done["completed_at"].is_null());
    let output = file_lines(&h, &done["output_file_id"]).await?;
    let errors = file_lines(&h, &done["error_file_id"]).await?;
    assert!(output.iter().all(|l| l["response"]["status_code"] == 200 && l["error"].is_null()));
    let expired: Vec<&Value> = errors.iter().filter(|l| l["response"].is_null()).collect();
    let refused: Vec<&Value> = errors.iter().filter(|l| !l["response"].is_null()).collect();
    assert!(!expired.is_empty() && !refused.is_empty(), "{} expired, {} refused", expired.len(), refused.len());
    let real_expired = fixture_line("batch/batch_error_file_expired.openai_batch_guide_example.jsonl")?;
    for line in &expired {
        assert_eq!(keys(line), keys(&real_expired));
        assert_eq!(line["error"]["code"], "batch_expired");
        assert_eq!(keys(&line["error"]), keys(&real_expired["error"]));
    }
    let envelope = fixture("errors/openai_400_invalid_request_error.box_mojito_real.json")?;
    for line in &refused {
        assert_eq!(line["response"]["status_code"], 400);
        assert_same_shape(&line["response"]["body"], &envelope)?;
        assert!(line["error"].is_null());
    }
    let counts = &done["request_counts"];
    assert_eq!(counts["completed"].as_u64(), Some(output.len() as u64));
    assert_eq!(counts["failed"].as_u64(), Some(errors.len() as u64));
    let mut seen: Vec<String> =
        output.iter().chain(&errors).map(|l| l["custom_id"].as_str().unwrap_or("").to_owned()).collect();
    seen.sort();
    assert_eq!(seen, ids, "every line once, in one file or the other");
    Ok(())
}

#[tokio::test]
async fn chat_completions_lines_match_the_litellm_recording() -> anyhow::Result<()> {
    let h = start(timed(FakeConfig::default())).await?;
    let lines: Vec<String> = (0..5)
        .map(|i| input_line(&format!("request-{i}"), "/v1/chat/completions", json!({"model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Is it spam?"}, {"role": "user", "content": format!("ad {i}")}]})))
        .collect();
    let id = create_batch(&h, &lines.join("\n"), "/v1/chat/completions").await?["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(12_000);
    let done = h.get(&format!("/batches/{id}")).await?.body;
    let output = file_lines(&h, &done["output_file_id"]).await?;
    let real = fixture_line("batch/batch_output_chat_completions.litellm_real.jsonl")?;
    for line in &output {
        assert_same_shape(line, &real)?;
        serde_json::from_str::<Decision>(
            line["response"]["body"]["choices"][0]["message"]["content"].as_str().unwrap_or(""),
        )?;
    }
    Ok(())
}

#[tokio::test]
async fn a_bad_input_file_fails_the_batch() -> anyhow::Result<()> {
    let h = start(timed(FakeConfig::default())).await?;
    let content = [
        input_line("a", "/v1/chat/completions", json!({"model": "gpt-4o-mini"})),
        "{not json".to_owned(),
        input_line("c", "/v1/responses", json!({"model": "gpt-4o-mini", "input": "x"})),
    ]
    .join("\n");
    let created = create_batch(&h, &content, "/v1/chat/completions").await?;
    assert_eq!(created["status"], "validating");
    let id = created["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(1_000);
    assert_eq!(h.fake.batch_status(&id), Some(BatchStatus::Failed));
    let failed = h.get(&format!("/batches/{id}")).await?.body;
    let real = fixture("batch/batch_retrieve_failed_validation_ABBREVIATED.czech_doc_transcribed.json")?;
    assert!(keys(&real).is_subset(&keys(&failed)), "an abbreviated real object: every key it kept is here");
    for key in ["status", "output_file_id", "error_file_id", "request_counts"] {
        assert_eq!(failed[key], real[key], "{key}");
    }
    assert_eq!(failed["errors"]["object"], "list");
    assert_same_shape(&failed["errors"]["data"][0], &real["errors"]["data"][0])?;
    let data = failed["errors"]["data"].as_array().context("data")?;
    let found: Vec<(&str, u64)> =
        data.iter().map(|e| (e["code"].as_str().unwrap_or(""), e["line"].as_u64().unwrap_or(0))).collect();
    assert_eq!(found, [("missing_required_parameter", 1), ("invalid_json_line", 2), ("invalid_url", 3)]);
    assert_eq!(data[0]["param"], "body.messages");
    assert_eq!(data[0]["message"], real["errors"]["data"][0]["message"], "worded as the real one");
    assert!(failed["failed_at"].is_u64() && failed["in_progress_at"].is_null());
    Ok(())
}

#[tokio::test]
async fn cancel_keeps_finished_lines_and_refuses_ended_batches() -> anyhow::Result<()> {
    let h = start(timed(FakeConfig::default())).await?;
    let (content, _) = responses_file(40);
    let id = create_batch(&h, &content, "/v1/responses").await?["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(1_000 + 5_000);
    let cancelling = h.post(&format!("/batches/{id}/cancel"), &json!({})).await?;
    assert_eq!((cancelling.status, cancelling.body["status"].as_str()), (200, Some("cancelling")));
    assert!(cancelling.body["cancelling_at"].is_u64() && cancelling.body["cancelled_at"].is_null());
    let finished = cancelling.body["request_counts"]["completed"].as_u64().unwrap_or(0);
    h.advance_ms(500);
    let cancelled = h.get(&format!("/batches/{id}")).await?.body;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_u64());
    let output = file_lines(&h, &cancelled["output_file_id"]).await?;
    assert_eq!(output.len() as u64, finished);
    assert!(0 < finished && finished < 40, "{finished}");
    h.advance_ms(60_000);
    assert_eq!(h.fake.batch_status(&id), Some(BatchStatus::Cancelled));

    let done = create_batch(&h, &content, "/v1/responses").await?["id"].as_str().unwrap_or("").to_owned();
    h.advance_ms(12_000);
    let refused = h.post(&format!("/batches/{done}/cancel"), &json!({})).await?;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["type"], "invalid_request_error");
    assert_eq!(h.fake.stats().batches_cancelled, 1);
    Ok(())
}

#[tokio::test]
async fn create_and_upload_refuse_bad_requests() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let wrong = h
        .post(
            "/batches",
            &json!({"input_file_id": "wrong-id", "endpoint": "/v1/responses", "completion_window": "24h"}),
        )
        .await?;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body, fixture("errors/openai_400_invalid_request_error.box_mojito_real.json")?);
    let unknown = h
        .post(
            "/batches",
            &json!({"input_file_id": "file-nope", "endpoint": "/v1/responses", "completion_window": "24h"}),
        )
        .await?;
    assert_eq!(
        (unknown.status, unknown.body["error"]["message"].as_str()),
        (404, Some("No such File object: file-nope"))
    );
    let file = h.upload("batch", "in.jsonl", &responses_file(1).0).await?.body["id"].clone();
    let endpoint = h
        .post("/batches", &json!({"input_file_id": file, "endpoint": "/v1/embeddings", "completion_window": "24h"}))
        .await?;
    assert_eq!((endpoint.status, endpoint.body["error"]["param"].as_str()), (400, Some("endpoint")));
    let window = h
        .post("/batches", &json!({"input_file_id": file, "endpoint": "/v1/responses", "completion_window": "1h"}))
        .await?;
    assert_eq!((window.status, window.body["error"]["code"].as_str()), (400, Some("invalid_value")));
    let missing = h.post("/batches", &json!({"endpoint": "/v1/responses", "completion_window": "24h"})).await?;
    assert_eq!(missing.body["error"]["code"], "missing_required_parameter");

    let not_jsonl = h.upload("batch", "input.csv", "a,b").await?;
    assert_eq!((not_jsonl.status, not_jsonl.body["error"]["param"].as_str()), (400, Some("file")));
    let purpose = h.upload("nonsense", "input.jsonl", "{}").await?;
    assert_eq!((purpose.status, purpose.body["error"]["param"].as_str()), (400, Some("purpose")));
    let not_multipart = h.post("/files", &json!({"purpose": "batch"})).await?;
    assert_eq!(not_multipart.status, 400);
    assert_eq!(keys(&not_multipart.body["error"]), ["code", "message", "param", "type"].map(String::from).into());
    Ok(())
}
