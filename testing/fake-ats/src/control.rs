//! HTTP control API under `/_fake/`, for the demo and for benchmarks running in other processes.
//!
//! Bodies are JSON (no content type required); bad input answers 400 with `{"error": "..."}` naming the problem,
//! an unknown board or posting 404. `{kind}` is `greenhouse`, `lever`, `ashby`, `jsonld`, `workday`, `workable`,
//! `smartrecruiters`, `teamtailor`, `recruitee`, `personio` or `bamboohr`; a Workday `{token}` is `{tenant}.{site}`.
//! A posting id with `/` in it (Workday's `externalPath`) is percent-encoded in a path (`%2Fjob%2F…`).
//!
//! - `GET /_fake/boards`: every board with its posting count, source, failure and delay
//! - `POST /_fake/boards/{kind}/{token}` `{"count": N, "seed": S}` (seed defaults to 0): generate the board
//! - `GET /_fake/boards/{kind}/{token}`: its posting ids; `DELETE` removes the board
//! - `POST /_fake/boards/{kind}/{token}/fixture` `{"fixture": "greenhouse/gh_airbnb_board_jobs_content_true.json"}`
//! - `POST /_fake/boards/{kind}/{token}/failure` `{"failure": "not_found"|"server_error"|"malformed"|"hang"|null}`
//! - `POST /_fake/boards/{kind}/{token}/delay` `{"delay_ms": N}`
//! - `POST /_fake/boards/{kind}/{token}/rate_limit` `{"per_second": N|null}`: past N requests within a second, 429
//! - `POST /_fake/boards/{kind}/{token}/postings` `{"count": N}`: add postings, answers their ids
//! - `POST /_fake/boards/{kind}/{token}/change/{id}`, `DELETE /_fake/boards/{kind}/{token}/postings/{id}`
//! - `GET /_fake/requests?prefix=/v1/`: requests received under a path prefix

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::routes::App;
use crate::{Failure, Kind};

/// More postings than this in one request is a mistake, not a benchmark.
pub(crate) const MAX_COUNT: usize = 100_000;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/_fake/boards", get(list))
        .route("/_fake/boards/{kind}/{token}", post(generate).get(ids).delete(remove_board))
        .route("/_fake/boards/{kind}/{token}/fixture", post(fixture))
        .route("/_fake/boards/{kind}/{token}/failure", post(failure))
        .route("/_fake/boards/{kind}/{token}/delay", post(delay))
        .route("/_fake/boards/{kind}/{token}/rate_limit", post(rate_limit))
        .route("/_fake/boards/{kind}/{token}/postings", post(add))
        .route("/_fake/boards/{kind}/{token}/postings/{id}", delete(remove_posting))
        .route("/_fake/boards/{kind}/{token}/change/{id}", post(change))
        .route("/_fake/requests", get(requests))
}

/// A refused control request: its status and a message naming the problem.
pub(crate) struct Problem {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> Problem {
    Problem { status: StatusCode::BAD_REQUEST, message: message.into() }
}

fn missing(message: impl Into<String>) -> Problem {
    Problem { status: StatusCode::NOT_FOUND, message: message.into() }
}

type Answer = Result<Json<Value>, Problem>;

/// The board a path names, checked.
fn board(kind: &str, token: &str) -> Result<Kind, Problem> {
    let Some(kind) = Kind::parse(kind) else {
        let known: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
        return Err(bad(format!("unknown kind `{kind}`: expected one of {}", known.join(", "))));
    };
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if token.is_empty() || token.len() > 100 || !token.chars().all(fine) {
        return Err(bad(format!("invalid board token `{token}`: use 1 to 100 of A-Z a-z 0-9 - _ .")));
    }
    let workday = token.split_once('.').is_some_and(|(tenant, site)| !tenant.is_empty() && !site.is_empty());
    if kind == Kind::Workday && !workday {
        return Err(bad(format!("invalid workday token `{token}`: a Workday board is `{{tenant}}.{{site}}`")));
    }
    Ok(kind)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

fn count(count: usize) -> Result<usize, Problem> {
    if count > MAX_COUNT {
        return Err(bad(format!("`count` {count} is more than the limit of {MAX_COUNT}")));
    }
    Ok(count)
}

fn no_board(kind: Kind, token: &str) -> Problem {
    missing(format!("no {kind} board `{token}`"))
}

fn no_posting(kind: Kind, token: &str, id: &str) -> Problem {
    missing(format!("no posting `{id}` on {kind} board `{token}`"))
}

async fn list(State(app): State<App>) -> Json<Value> {
    Json(json!({ "boards": app.fake.boards() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    count: usize,
    #[serde(default)]
    seed: u64,
}

async fn generate(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let request: Generate = parse(&body)?;
    let postings = count(request.count)?;
    app.fake.generate_board(kind, &token, postings, request.seed);
    Ok(Json(json!({ "kind": kind, "token": token, "postings": postings, "seed": request.seed })))
}

async fn ids(State(app): State<App>, Path((kind, token)): Path<(String, String)>) -> Answer {
    let kind = board(&kind, &token)?;
    if !app.fake.state.has_board(kind, &token) {
        return Err(no_board(kind, &token));
    }
    Ok(Json(json!({ "kind": kind, "token": token, "ids": app.fake.posting_ids(kind, &token) })))
}

async fn remove_board(State(app): State<App>, Path((kind, token)): Path<(String, String)>) -> Answer {
    let kind = board(&kind, &token)?;
    if !app.fake.state.remove_board(kind, &token) {
        return Err(no_board(kind, &token));
    }
    Ok(Json(json!({ "kind": kind, "token": token, "removed": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    fixture: String,
}

async fn fixture(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let request: Fixture = parse(&body)?;
    let postings = app.fake.load_fixture_board(kind, &token, &request.fixture).map_err(|e| bad(format!("{e:#}")))?;
    Ok(Json(json!({ "kind": kind, "token": token, "postings": postings, "fixture": request.fixture })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFailure {
    failure: Option<Failure>,
}

async fn failure(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let value: Value = parse(&body)?;
    if value.get("failure").is_none() {
        return Err(bad("missing field `failure`: give not_found, server_error, malformed, hang or null"));
    }
    let request: SetFailure = serde_json::from_value(value).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    app.fake.set_failure(kind, &token, request.failure);
    let exists = app.fake.state.has_board(kind, &token);
    Ok(Json(json!({ "kind": kind, "token": token, "failure": request.failure, "board_exists": exists })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDelay {
    delay_ms: u64,
}

async fn delay(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let request: SetDelay = parse(&body)?;
    app.fake.set_delay(kind, &token, Duration::from_millis(request.delay_ms));
    let exists = app.fake.state.has_board(kind, &token);
    Ok(Json(json!({ "kind": kind, "token": token, "delay_ms": request.delay_ms, "board_exists": exists })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRateLimit {
    per_second: Option<u32>,
}

async fn rate_limit(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let value: Value = parse(&body)?;
    if value.get("per_second").is_none() {
        return Err(bad("missing field `per_second`: give the requests allowed per second, or null"));
    }
    let request: SetRateLimit = serde_json::from_value(value).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    app.fake.set_rate_limit(kind, &token, request.per_second);
    let exists = app.fake.state.has_board(kind, &token);
    Ok(Json(json!({ "kind": kind, "token": token, "per_second": request.per_second, "board_exists": exists })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Add {
    count: usize,
}

async fn add(State(app): State<App>, Path((kind, token)): Path<(String, String)>, body: Bytes) -> Answer {
    let kind = board(&kind, &token)?;
    let request: Add = parse(&body)?;
    let ids = app.fake.add_postings(kind, &token, count(request.count)?);
    Ok(Json(json!({ "kind": kind, "token": token, "ids": ids })))
}

async fn remove_posting(State(app): State<App>, Path((kind, token, id)): Path<(String, String, String)>) -> Answer {
    let kind = board(&kind, &token)?;
    if !app.fake.remove_posting(kind, &token, &id) {
        return Err(no_posting(kind, &token, &id));
    }
    Ok(Json(json!({ "kind": kind, "token": token, "removed": id })))
}

async fn change(State(app): State<App>, Path((kind, token, id)): Path<(String, String, String)>) -> Answer {
    let kind = board(&kind, &token)?;
    if !app.fake.change_posting(kind, &token, &id) {
        return Err(no_posting(kind, &token, &id));
    }
    Ok(Json(json!({ "kind": kind, "token": token, "changed": id })))
}

async fn requests(State(app): State<App>, Query(params): Query<HashMap<String, String>>) -> Json<Value> {
    let prefix = params.get("prefix").map(String::as_str).unwrap_or("/");
    Json(json!({ "prefix": prefix, "count": app.fake.request_count(prefix) }))
}
