//! Error answers: statuses and the `{"error": {message, type, param, code}}` envelope of the real API.

use serde_json::{Value, json};

use bw_fake_openai::FakeConfig;

use crate::common::{KEY, assert_same_shape, fixture, fixture_text, keys, start};

fn envelope() -> anyhow::Result<Value> {
    fixture("errors/openai_400_invalid_request_error.box_mojito_real.json")
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let body = json!({"model": "gpt-4o", "input": "x", "background": true});
    let missing = h.send(h.client.post(h.url("/responses")).json(&body)).await?;
    assert_eq!(missing.status, 401);
    assert_eq!(keys(&missing.body), keys(&envelope()?));
    assert_eq!(keys(&missing.body["error"]), keys(&envelope()?["error"]));
    assert!(missing.body["error"]["message"].as_str().is_some_and(|m| m.starts_with("You didn't provide an API key.")));
    assert_eq!(missing.body["error"]["type"], "invalid_request_error");

    let wrong = h.send(h.client.post(h.url("/responses")).bearer_auth("sk-wrong-key-123456").json(&body)).await?;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"]["code"], "invalid_api_key");
    let message = wrong.body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("sk-************3456") && !message.contains("wrong"), "{message}");
    assert_eq!(h.fake.stats().unauthorized, 2);
    assert_eq!(h.fake.stats().responses_created, 0, "refused requests create nothing");
    Ok(())
}

#[tokio::test]
async fn unknown_ids_are_404() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    for (path, message) in [
        ("/responses/resp_missing", "Response with id 'resp_missing' not found."),
        ("/batches/batch_missing", "No batch found with id 'batch_missing'."),
        ("/files/file-missing", "No such File object: file-missing"),
        ("/files/file-missing/content", "No such File object: file-missing"),
    ] {
        let answer = h.get(path).await?;
        assert_eq!(answer.status, 404, "{path}");
        assert_same_shape(&answer.body["error"]["message"], &json!("string"))?;
        assert_eq!(answer.body["error"]["message"], message);
        assert_eq!(answer.body["error"]["type"], "invalid_request_error");
        assert_eq!(keys(&answer.body["error"]), keys(&envelope()?["error"]));
    }
    let route = h.get("/nothing/here").await?;
    assert_eq!(
        (route.status, route.body["error"]["message"].as_str()),
        (404, Some("Invalid URL (GET /v1/nothing/here)"))
    );
    let method = h.send(h.client.delete(h.url("/batches")).bearer_auth(KEY)).await?;
    assert_eq!(
        (method.status, method.body["error"]["message"].as_str()),
        (404, Some("Invalid URL (DELETE /v1/batches)"))
    );
    Ok(())
}

#[tokio::test]
async fn bad_json_and_bad_parameters_are_400() -> anyhow::Result<()> {
    let h = start(FakeConfig::default()).await?;
    let request = h.client.post(h.url("/responses")).bearer_auth(KEY).header("content-type", "application/json");
    let bad = h.send(request.body("{\"model\": ")).await?;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["type"], "invalid_request_error");
    assert!(bad.body["error"]["message"].as_str().is_some_and(|m| m.starts_with("We could not parse the JSON body")));
    assert_eq!((bad.body["error"]["param"].clone(), bad.body["error"]["code"].clone()), (Value::Null, Value::Null));

    let recorded = fixture_text("errors/openai_400_decimal_below_min_value.pydantic_ai_vcr.yaml")?;
    let cold = h.post("/responses", &json!({"model": "gpt-4o", "input": "x", "temperature": -1})).await?;
    assert_eq!(cold.status, 400);
    let message = cold.body["error"]["message"].as_str().unwrap_or("");
    assert!(recorded.contains(&message.replace('\'', "''")), "{message} is not the recorded wording");
    assert_eq!(cold.body["error"]["code"], "decimal_below_min_value");
    assert_eq!(cold.body["error"]["param"], "temperature");

    let no_model = h.post("/responses", &json!({"input": "x"})).await?;
    assert_eq!(
        no_model.body["error"],
        json!({"message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error", "param": "model", "code": "missing_required_parameter"})
    );
    let typed = h.post("/responses", &json!({"model": 5})).await?;
    assert_eq!((typed.status, typed.body["error"]["code"].as_str()), (400, Some("invalid_type")));
    let meta = h.post("/responses", &json!({"model": "m", "metadata": {"k": 1}})).await?;
    assert_eq!(meta.status, 400);
    assert_eq!(h.fake.stats().responses_created, 0);
    Ok(())
}
