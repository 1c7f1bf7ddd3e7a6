//! Helpers: a fake on a manual clock behind a real HTTP server, a client, and shape comparison with the fixtures.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use anyhow::{Context as _, bail, ensure};
use bw_fake_openai::{Clock, FakeConfig, FakeOpenAi, FakeOpenAiServer};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const KEY: &str = "sk-test-fake-openai-0001";

/// One answer: status, headers, JSON body (`Value::Null` when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Harness {
    pub fake: FakeOpenAi,
    pub server: FakeOpenAiServer,
    pub client: reqwest::Client,
}

/// A fake on a manual clock requiring [`KEY`].
pub async fn start(config: FakeConfig) -> anyhow::Result<Harness> {
    let fake = FakeOpenAi::try_new(FakeConfig { api_key: Some(KEY.to_owned()), ..config }, Clock::manual())?;
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let server = fake.serve(addr).await?;
    Ok(Harness { fake, server, client: reqwest::Client::new() })
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
        let response = request.send().await.context("sending to the fake")?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, headers, body, text })
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.send(self.client.post(self.url(path)).bearer_auth(KEY).json(body)).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(self.client.get(self.url(path)).bearer_auth(KEY)).await
    }

    /// Uploads `content` as a multipart form, built by hand as a client library would send it.
    pub async fn upload(&self, purpose: &str, filename: &str, content: &str) -> anyhow::Result<Answer> {
        let boundary = "----fakeopenaiboundary7MA4YWxk";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
        );
        let request = self
            .client
            .post(self.url("/files"))
            .bearer_auth(KEY)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(request).await
    }

    pub fn advance_ms(&self, ms: u64) {
        self.fake.advance(std::time::Duration::from_millis(ms));
    }
}

/// A fixture under `tests/fixtures/openai/`, parsed as JSON.
pub fn fixture(path: &str) -> anyhow::Result<Value> {
    let text = fixture_text(path)?;
    serde_json::from_str(&text).with_context(|| format!("parsing fixture {path}"))
}

/// The first line of a JSONL fixture.
pub fn fixture_line(path: &str) -> anyhow::Result<Value> {
    let text = fixture_text(path)?;
    let line = text.lines().next().context("empty fixture")?;
    Ok(serde_json::from_str(line)?)
}

pub fn fixture_text(path: &str) -> anyhow::Result<String> {
    let full = format!("{}/../../tests/fixtures/openai/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).with_context(|| format!("reading {full}"))
}

pub fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Fails unless `ours` has exactly the fixture's keys at every level, with the same JSON types (integers and
/// floats told apart, nulls where the fixture has nulls); arrays compare their first elements.
pub fn assert_same_shape(ours: &Value, fixture: &Value) -> anyhow::Result<()> {
    same_shape(ours, fixture, "$")
}

fn same_shape(ours: &Value, fixture: &Value, path: &str) -> anyhow::Result<()> {
    ensure!(kind(ours) == kind(fixture), "{path}: ours is {} ({ours}), the fixture's is {}", kind(ours), kind(fixture));
    match (ours, fixture) {
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb) = (keys(ours), keys(fixture));
            if ka != kb {
                bail!(
                    "{path}: keys differ; only ours: {:?}; only the fixture's: {:?}",
                    ka.difference(&kb).collect::<Vec<_>>(),
                    kb.difference(&ka).collect::<Vec<_>>()
                );
            }
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    same_shape(value, other, &format!("{path}.{key}"))?;
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                same_shape(x, y, &format!("{path}[0]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A line of a batch input file.
pub fn input_line(custom_id: &str, url: &str, body: Value) -> String {
    serde_json::json!({"custom_id": custom_id, "method": "POST", "url": url, "body": body}).to_string()
}

/// The lines of a JSONL text, parsed.
pub fn jsonl(text: &str) -> anyhow::Result<Vec<Value>> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| Ok(serde_json::from_str(l)?)).collect()
}
