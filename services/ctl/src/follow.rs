//! Following a run or a job until it ends (`ctl runs follow`, `ctl jobs follow`): the run's state and its log,
//! page by page (each line once, in order), or the job's state, every `every`.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::api::{Api, ApiError, Job, LogsPage, Run, read};

/// The most log lines one page asks for.
const PAGE: usize = 1000;
/// A follow outlasts a restart of the API or a blip of the network: an unreachable API or a 5xx is asked again,
/// up to this many times in a row, a second more apart each time.
const TRIES: u32 = 5;

/// `GET path`, asked again while the API cannot be reached or answers a 5xx.
async fn get(api: &Api, path: &str) -> Result<Value, ApiError> {
    let mut tried = 1;
    loop {
        match api.get(path).await {
            Err(e)
                if tried < TRIES
                    && e.status().is_none_or(|s| s >= 500)
                    && !matches!(e, ApiError::Unexpected { .. }) =>
            {
                tokio::time::sleep(Duration::from_secs(u64::from(tried))).await;
                tried += 1;
            }
            answer => return answer,
        }
    }
}

/// What following a run shows as it goes.
pub enum RunUpdate<'a> {
    /// A new line of the run's log, as the API gives it.
    Line(&'a Value),
    /// The run as it stands.
    State(&'a Run),
}

/// Follows run `id` until it has ended and its last log line has been shown; answers the run as it ended (typed
/// and as the API gave it).
pub async fn run(
    api: &Api,
    id: Uuid,
    every: Duration,
    mut on: impl FnMut(RunUpdate<'_>),
) -> Result<(Run, Value), ApiError> {
    let path = format!("/api/ingestion/runs/{id}");
    let mut next_token: Option<String> = None;
    loop {
        // The run first, then its log: the round that sees the run ended also gets its last line, committed with
        // the end.
        let raw = get(api, &path).await?;
        let state: Run = read("GET", &path, "a run", raw.clone())?;
        on(RunUpdate::State(&state));
        let logs_path = match &next_token {
            Some(token) => format!("/api/ingestion/logs/{id}?limit={PAGE}&next_token={token}"),
            None => format!("/api/ingestion/logs/{id}?limit={PAGE}"),
        };
        let page: LogsPage = read("GET", &logs_path, "a page of log lines", get(api, &logs_path).await?)?;
        for line in &page.logs {
            on(RunUpdate::Line(line));
        }
        let full = page.logs.len() >= PAGE;
        next_token = Some(page.next_token);
        if state.status.is_terminal() && !full {
            return Ok((state, raw));
        }
        if !full {
            tokio::time::sleep(every).await;
        }
    }
}

/// Follows job `id` until it is resolved, calling `on` with the job each time it changed; answers the job as it
/// ended (typed and as the API gave it).
pub async fn job(
    api: &Api,
    id: Uuid,
    every: Duration,
    mut on: impl FnMut(&Job, &Value),
) -> Result<(Job, Value), ApiError> {
    let path = format!("/api/llm-jobs/{id}");
    let mut last: Option<Value> = None;
    loop {
        let raw = get(api, &path).await?;
        let job: Job = read("GET", &path, "a job", raw.clone())?;
        if last.as_ref() != Some(&raw) {
            on(&job, &raw);
        }
        if job.status.is_resolved() {
            return Ok((job, raw));
        }
        last = Some(raw);
        tokio::time::sleep(every).await;
    }
}
