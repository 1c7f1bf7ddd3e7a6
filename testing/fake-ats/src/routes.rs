//! The routes the real services answer on.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::watch;

use crate::render::{self, Missing, View};
use crate::{Failure, FakeAts, HANG, Kind};

#[derive(Clone)]
pub(crate) struct App {
    pub fake: FakeAts,
    /// Turns true when the server handle is dropped, so waiting requests give up.
    pub shutdown: watch::Receiver<bool>,
}

impl App {
    /// Sleeps unless the server shuts down first; false if it did.
    async fn wait(&self, duration: Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = shutdown.wait_for(|stop| *stop) => false,
        }
    }
}

/// Marks a request to the EU hosts of Greenhouse and Lever, served under `/eu`: it reads the boards whose keys
/// [`crate::eu`] made.
#[derive(Clone, Copy)]
struct EuHost;

/// The key of the board a request names: its `{token}`, or on the EU hosts the token's EU key.
struct BoardKey(String);

impl<S: Send + Sync> FromRequestParts<S> for BoardKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token = params.get("token").cloned().unwrap_or_default();
        Ok(Self(if parts.extensions.get::<EuHost>().is_some() { crate::eu(&token) } else { token }))
    }
}

pub(crate) fn router(fake: FakeAts, shutdown: watch::Receiver<bool>) -> Router {
    let app = App { fake, shutdown };
    let eu_hosts = Router::new()
        .route("/v1/boards/{token}/jobs", get(greenhouse_list))
        .route("/v1/boards/{token}/jobs/{id}", get(greenhouse_job))
        .route("/v0/postings/{token}", get(lever))
        .route_layer(middleware::from_fn(conditional))
        .layer(Extension(EuHost));
    Router::new()
        .route("/v1/boards/{token}/jobs", get(greenhouse_list))
        .route("/v1/boards/{token}/jobs/{id}", get(greenhouse_job))
        .route("/v0/postings/{token}", get(lever))
        .route("/posting-api/job-board/{token}", get(ashby))
        .route("/careers/{token}", get(careers))
        .merge(crate::ats::routes())
        .route_layer(middleware::from_fn(conditional))
        .nest("/eu", eu_hosts)
        .merge(crate::control::routes())
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(app.clone(), count_request))
        .with_state(app)
}

async fn count_request(State(app): State<App>, request: Request, next: Next) -> Response {
    app.fake.state.record_request(request.uri().path());
    next.run(request).await
}

/// What the boards' web servers do for conditional requests: a `200` answer carries a weak `ETag` of its body (as
/// Rails and Express, which serve these APIs, send by default), and a request whose `If-None-Match` names the
/// current one gets `304 Not Modified` with no body.
async fn conditional(request: Request, next: Next) -> Response {
    let wanted = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::hash::DefaultHasher::new();
        bytes.hash(&mut hasher);
        format!("W/\"{:016x}-{:x}\"", hasher.finish(), bytes.len())
    };
    let Ok(value) = header::HeaderValue::from_str(&etag) else { return Response::from_parts(parts, Body::from(bytes)) };
    parts.headers.insert(header::ETAG, value.clone());
    let matches = wanted
        .and_then(|w| w.to_str().ok().map(str::to_owned))
        .is_some_and(|w| w.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    if matches {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        not_modified.headers_mut().insert(header::ETAG, value);
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn no_route(request: Request) -> Response {
    let message = format!("no route for {} {}", request.method(), request.uri().path());
    (StatusCode::NOT_FOUND, axum::Json(json!({ "error": message }))).into_response()
}

pub(crate) type Params = Query<HashMap<String, String>>;

pub(crate) fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

async fn greenhouse_list(State(app): State<App>, BoardKey(token): BoardKey, Query(params): Params) -> Response {
    let view = View::GreenhouseList { content: flag(&params, "content"), pay: flag(&params, "pay_transparency") };
    respond(&app, &token, view).await
}

async fn greenhouse_job(
    State(app): State<App>,
    BoardKey(token): BoardKey,
    Path((_, id)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    respond(&app, &token, View::GreenhouseJob { id, pay: flag(&params, "pay_transparency") }).await
}

async fn lever(State(app): State<App>, BoardKey(token): BoardKey, Query(params): Params) -> Response {
    if params.get("mode").is_some_and(|mode| mode != "json") {
        return bad_request(Kind::Lever, "Only mode=json is faked");
    }
    let number = |name: &str| params.get(name).map(|value| value.parse::<usize>());
    let skip = match number("skip") {
        None => 0,
        Some(Ok(skip)) => skip,
        Some(Err(_)) => return bad_number("skip"),
    };
    let limit = match number("limit") {
        None => None,
        Some(Ok(limit)) => Some(limit),
        Some(Err(_)) => return bad_number("limit"),
    };
    respond(&app, &token, View::Lever { skip, limit }).await
}

fn bad_number(name: &str) -> Response {
    bad_request(Kind::Lever, &format!("Invalid `{name}`: expected a non-negative integer"))
}

async fn ashby(State(app): State<App>, Path(token): Path<String>, Query(params): Params) -> Response {
    respond(&app, &token, View::Ashby { compensation: flag(&params, "includeCompensation") }).await
}

async fn careers(State(app): State<App>, Path(token): Path<String>) -> Response {
    respond(&app, &token, View::Careers).await
}

fn reply(content_type: &'static str, status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

/// An error answer in the service's content type.
pub(crate) fn failed(kind: Kind, status: StatusCode, body: impl Into<Body>) -> Response {
    reply(render::error_content_type(kind), status, body)
}

/// A 400 in the service's error form, naming the problem.
pub(crate) fn bad_request(kind: Kind, message: &str) -> Response {
    failed(kind, StatusCode::BAD_REQUEST, render::error(kind, StatusCode::BAD_REQUEST, message))
}

fn shutting_down(kind: Kind) -> Response {
    failed(kind, StatusCode::SERVICE_UNAVAILABLE, render::server_error(kind))
}

/// Applies the board's rate limit, delay and failure, then answers from the board.
pub(crate) async fn respond(app: &App, token: &str, view: View) -> Response {
    let kind = view.kind();
    if !app.fake.state.admit(kind, token) {
        let mut response = failed(kind, StatusCode::TOO_MANY_REQUESTS, render::rate_limited(kind));
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    let settings = app.fake.state.settings(kind, token);
    if view.is_list() && !settings.delay.is_zero() && !app.wait(settings.delay).await {
        return shutting_down(kind);
    }
    match settings.failure {
        Some(Failure::NotFound) => {
            return failed(kind, StatusCode::NOT_FOUND, render::not_found(kind, Missing::Board));
        }
        Some(Failure::ServerError) => {
            return failed(kind, StatusCode::INTERNAL_SERVER_ERROR, render::server_error(kind));
        }
        Some(Failure::Hang) if !app.wait(HANG).await => return shutting_down(kind),
        _ => {}
    }
    let malformed = settings.failure == Some(Failure::Malformed);
    match app.fake.state.answer(token, &view) {
        Ok(body) if malformed => reply(view.content_type(), StatusCode::OK, render::malformed(kind, &body)),
        Ok(body) => reply(view.content_type(), StatusCode::OK, body),
        Err(missing) => failed(kind, StatusCode::NOT_FOUND, render::not_found(kind, missing)),
    }
}
