//! A scripted local HTTP server standing in for OpenAI: it answers requests in order from a script and records
//! what it received.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use bw_config::Secret;
use bw_openai::{OpenAi, OpenAiConfig};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// One scripted answer.
#[derive(Clone)]
pub struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Answer {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    received: Vec<Received>,
}

/// A running fake; dropped with the test's runtime.
pub struct Fake {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl Fake {
    /// Starts a server on 127.0.0.1:0 answering with `script` in order (500 once the script runs out).
    pub async fn start(script: Vec<Answer>) -> Result<Self, std::io::Error> {
        let state = Arc::new(Mutex::new(State { script: script.into(), received: Vec::new() }));
        let shared = Arc::clone(&state);
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let shared = Arc::clone(&shared);
            async move {
                let at = Instant::now();
                let answer = shared.lock().ok().and_then(|mut s| {
                    s.received.push(Received { method, path: uri.path().to_owned(), headers, body, at });
                    s.script.pop_front()
                });
                let answer = answer.unwrap_or_else(|| Answer::new(500, r#"{"error":{"message":"script ran out"}}"#));
                tokio::time::sleep(answer.delay).await;
                let mut response =
                    (StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), answer.body)
                        .into_response();
                response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("application/json"));
                for (name, value) in answer.headers {
                    if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                        response.headers_mut().insert(name, value);
                    }
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { base_url, state })
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().map(|s| s.received.clone()).unwrap_or_default()
    }
}

/// Settings for tests: short timeouts and backoffs.
pub fn config(base_url: &str) -> OpenAiConfig {
    OpenAiConfig {
        base_url: base_url.to_owned(),
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_secs(3),
        ..OpenAiConfig::new(Secret::new("sk-test-key"))
    }
}

/// A client for the fake.
pub fn client(fake: &Fake) -> Result<OpenAi, bw_openai::OpenAiError> {
    OpenAi::new(config(&fake.base_url))
}

/// A real fixture's text.
pub fn fixture(path: &str) -> Result<String, std::io::Error> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openai").join(path))
}
