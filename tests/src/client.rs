//! What a test asks of the API, whether it runs in-process ([`crate::api::TestApi`]) or listens on a port
//! ([`crate::app::TestApp`]): one raw call, and typed helpers over it that read the API's own view types.

use std::time::Duration;

use anyhow::Context as _;
use bw_api::routes::runs::{EventsPage, RunView};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A test's way to the API.
pub trait Api: Sync {
    /// Sends a request as `user` (an operator when the user is `ops`) and returns the status and the JSON body
    /// (`Null` when the body is not JSON).
    fn call(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = anyhow::Result<(u16, Value)>> + Send;

    /// `GET path` as `user`, expecting 200 and a body of type `T`.
    fn get<T: DeserializeOwned>(&self, user: &str, path: &str) -> impl Future<Output = anyhow::Result<T>> + Send {
        async move {
            let (status, body) = self.call(user, Method::GET, path, None).await?;
            anyhow::ensure!(status == 200, "GET {path} answered {status}: {body}");
            serde_json::from_value(body.clone())
                .with_context(|| format!("GET {path} answered an unexpected body: {body}"))
        }
    }

    /// Adds a company; returns its id.
    fn add_company(
        &self,
        user: &str,
        name: &str,
        kind: &str,
        token: &str,
    ) -> impl Future<Output = anyhow::Result<String>> + Send {
        async move {
            let body = json!({ "name": name, "board_kind": kind, "board_token": token });
            let (status, body) = self.call(user, Method::POST, "/api/companies", Some(body)).await?;
            anyhow::ensure!(status == 201, "adding company {name} answered {status}: {body}");
            body["id"].as_str().map(str::to_owned).context("company without id")
        }
    }

    /// Starts a run; returns its id.
    fn start_run(&self, user: &str) -> impl Future<Output = anyhow::Result<String>> + Send {
        async move {
            let (status, body) = self.call(user, Method::POST, "/api/ingestion/runs", None).await?;
            anyhow::ensure!(status == 202, "starting a run answered {status}: {body}");
            let run: RunView = serde_json::from_value(body).context("a started run's body")?;
            Ok(run.id.to_string())
        }
    }

    /// The run as the API shows it.
    fn run(&self, user: &str, id: &str) -> impl Future<Output = anyhow::Result<RunView>> + Send {
        async move { self.get(user, &format!("/api/ingestion/runs/{id}")).await }
    }

    /// Waits until the run reaches a terminal status and returns it.
    fn wait_for_end(
        &self,
        user: &str,
        id: &str,
        timeout: Duration,
    ) -> impl Future<Output = anyhow::Result<RunView>> + Send {
        async move {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let run = self.run(user, id).await?;
                if run.status.is_terminal() {
                    return Ok(run);
                }
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "run {id} did not end within {timeout:?}: {run:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Event messages of the run, oldest first.
    fn event_messages(&self, user: &str, id: &str) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send {
        async move {
            let page: EventsPage = self.get(user, &format!("/api/ingestion/runs/{id}/events?limit=1000")).await?;
            Ok(page.events.into_iter().map(|e| e.message).collect())
        }
    }
}
