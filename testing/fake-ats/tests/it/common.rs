//! Helpers shared by the integration tests.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use bw_fake_ats::{FakeAts, FakeAtsServer};
use serde_json::Value;

pub struct Harness {
    pub fake: FakeAts,
    pub server: FakeAtsServer,
    pub client: reqwest::Client,
}

impl Harness {
    pub async fn start() -> anyhow::Result<Harness> {
        let fake = FakeAts::new();
        let server = fake.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
        Ok(Harness { fake, server, client })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    /// Status, content type and body of a GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String, String)> {
        let response = self.client.get(self.url(path)).send().await.with_context(|| format!("GET {path}"))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, content_type, response.text().await?))
    }

    /// A GET that must answer 200 with JSON.
    pub async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, content_type, body) = self.get(path).await?;
        ensure!(status == 200, "GET {path}: status {status}: {body}");
        ensure!(content_type.starts_with("application/json"), "GET {path}: content type {content_type}");
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// A control request: method, path and raw body; answers status and JSON.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: &str) -> anyhow::Result<(u16, Value)> {
        let response = self.client.request(method, self.url(path)).body(body.to_owned()).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let value = serde_json::from_str(&text).with_context(|| format!("{path}: not JSON: {text}"))?;
        Ok((status, value))
    }
}

pub fn fixture(path: &str) -> anyhow::Result<String> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).with_context(|| format!("reading {full}"))
}

pub fn fixture_json(path: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&fixture(path)?)?)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of the real `template` item is in `item` with the same JSON type (nulls match anything), nested
/// objects included; keys in `optional` (dotted paths) may be missing.
pub fn same_shape(template: &Value, item: &Value, optional: &[&str]) -> anyhow::Result<()> {
    shape_at(template, item, "", optional)
}

fn shape_at(template: &Value, item: &Value, path: &str, optional: &[&str]) -> anyhow::Result<()> {
    let (Value::Object(template), Value::Object(item)) = (template, item) else {
        ensure!(template.is_null() || item.is_null() || type_name(template) == type_name(item), "{path}: type");
        return Ok(());
    };
    for (key, expected) in template {
        let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let Some(actual) = item.get(key) else {
            ensure!(optional.contains(&at.as_str()), "missing `{at}`");
            continue;
        };
        if expected.is_null() || actual.is_null() {
            continue;
        }
        ensure!(
            type_name(expected) == type_name(actual),
            "`{at}` is {} where the real API sends {}",
            type_name(actual),
            type_name(expected)
        );
        shape_at(expected, actual, &at, optional)?;
    }
    Ok(())
}

/// Contents of the `<script type="application/ld+json">` elements of a page.
pub fn ld_json(html: &str) -> Vec<&str> {
    let open = "<script type=\"application/ld+json\">";
    html.split(open).skip(1).filter_map(|rest| rest.split("</script>").next()).collect()
}

/// Sorted top-level keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}
