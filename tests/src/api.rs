//! The API in-process for tests of its HTTP behaviour (auth, validation, scoping, paging, the document): its router
//! over a fresh PostgreSQL database with in-memory seams (`bw-test-support`), called without a socket. No
//! LocalStack, no ingestion; [`crate::app::TestApp`] is the whole system for the end-to-end tests.

use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Body;
use bw_messages::Database;
use bw_test_support::{MemoryBoards, MemoryOps, MemoryQueue};
use reqwest::Method;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::app::{test_keys, token_for};
use crate::client::Api;
use crate::db::TestDb;

/// The API's router with in-memory seams over its own database.
pub struct TestApi {
    pub db: TestDb,
    pub queue: Arc<MemoryQueue>,
    pub boards: Arc<MemoryBoards>,
    pub ops: Arc<MemoryOps>,
    router: axum::Router,
}

/// A raw answer: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl TestApi {
    pub async fn spawn() -> anyhow::Result<Self> {
        crate::init_logging();
        let db = TestDb::new().await?;
        let (queue, boards, ops) =
            (Arc::new(MemoryQueue::default()), Arc::new(MemoryBoards::default()), Arc::new(MemoryOps::new("bw-")));
        let state = bw_api::AppState {
            pool: db.pool.clone(),
            queue: queue.clone(),
            database: Database::Primary,
            boards: boards.clone(),
            keys: test_keys(),
            ops: ops.clone(),
            live: None,
            webhook_secret: Some(crate::webhook_secret()),
        };
        Ok(Self { db, queue, boards, ops, router: bw_api::router(state) })
    }

    /// Sends `request` through the router.
    pub async fn send(&self, request: axum::http::Request<Body>) -> anyhow::Result<Answer> {
        let response = self.router.clone().oneshot(request).await.context("the router failed")?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.context("reading the body")?;
        Ok(Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() })
    }

    /// A request to `path`, with `token` as a bearer token when given.
    pub fn request(method: Method, path: &str, token: Option<&str>) -> axum::http::request::Builder {
        let builder = axum::http::Request::builder().method(method).uri(path);
        match token {
            Some(token) => builder.header("authorization", format!("Bearer {token}")),
            None => builder,
        }
    }

    /// `method path` without a token.
    pub async fn anonymous(&self, method: Method, path: &str) -> anyhow::Result<Answer> {
        self.send(Self::request(method, path, None).body(Body::empty())?).await
    }

    /// Serves the router on an ephemeral port of 127.0.0.1 until the returned guard drops, for a tool that needs a
    /// socket (schemathesis); answers its base URL.
    pub async fn serve(&self) -> anyhow::Result<(String, Served)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = self.router.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((url, Served(task)))
    }
}

/// Stops a served router when dropped.
pub struct Served(tokio::task::JoinHandle<()>);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Api for TestApi {
    async fn call(&self, user: &str, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let token = token_for(user, user == "ops");
        let builder = Self::request(method, path, Some(&token));
        let request = match body {
            Some(body) => builder.header("content-type", "application/json").body(Body::from(body.to_string()))?,
            None => builder.body(Body::empty())?,
        };
        let answer = self.send(request).await?;
        Ok((answer.status, serde_json::from_str(&answer.text).unwrap_or(Value::Null)))
    }
}
