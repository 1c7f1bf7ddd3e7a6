//! The router. API routes are served both under `/v1` (the real base URL is `https://api.openai.com/v1`) and
//! without the prefix, so a client works whether its base URL ends in `/v1` or not.

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::{get, post};
use serde_json::Value;

use crate::errors::ApiError;
use crate::{FakeOpenAi, batch, control, files, responses};

/// Batch input files may be up to 200 MB at the real API.
const BODY_LIMIT: usize = 200 * 1024 * 1024;

pub(crate) fn router(fake: FakeOpenAi) -> Router {
    let api = Router::new()
        .route("/responses", post(responses::routes::create))
        .route("/responses/{id}", get(responses::routes::retrieve))
        .route("/responses/{id}/cancel", post(responses::routes::cancel))
        .route("/files", post(files::upload))
        .route("/files/{id}", get(files::retrieve))
        .route("/files/{id}/content", get(files::content))
        .route("/batches", post(batch::routes::create))
        .route("/batches/{id}", get(batch::routes::retrieve))
        .route("/batches/{id}/cancel", post(batch::routes::cancel));
    Router::new()
        .nest("/v1", api.clone())
        .merge(api)
        .merge(control::router())
        .fallback(invalid_url)
        .method_not_allowed_fallback(invalid_url)
        .layer(middleware::from_fn_with_state(fake.clone(), crate::guard::guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(fake)
}

/// 404 `Invalid URL (METHOD /path)`, as the real API answers an unknown route.
async fn invalid_url(method: Method, uri: Uri) -> ApiError {
    ApiError::invalid_url(method.as_str(), uri.path())
}

/// Parses a JSON body, answering a parse failure as the real API does.
pub(crate) fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_json())
}
