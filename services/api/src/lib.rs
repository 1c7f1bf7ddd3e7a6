//! The HTTP API: companies, ingestion runs (start, list, show, abort, dry run, logs, live progress), LLM screening
//! jobs, the operators' queue routes; the web UI over them; and the OpenAPI document of it all, built from the same
//! declarations as the router. Every query is scoped to the caller; another user's objects answer 404. Errors are
//! JSON naming the problem.

use std::sync::Arc;

use axum::Extension;
use axum::http::Uri;

pub mod auth;
pub mod error;
pub mod extract;
pub mod live;
pub mod routes;
pub mod seams;
pub mod settings;
pub mod state;
pub mod ui;

pub use state::AppState;

/// The API's router over `state`.
pub fn router(state: AppState) -> axum::Router {
    let (api, doc) = routes::api().split_for_parts();
    api.merge(ui::router())
        .layer(Extension(Arc::new(doc)))
        .layer(axum::middleware::map_request(auth::token_from_query))
        .fallback(no_route)
        .with_state(state)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api().into_openapi()
}

/// Any path no route matches: a JSON 404 like every other error.
async fn no_route(uri: Uri) -> error::ApiError {
    error::ApiError::NotFound(format!("no route {}", uri.path()))
}
