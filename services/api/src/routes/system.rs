//! `GET /healthz`, `GET /api/openapi.json`, `GET /api/me`.

use std::sync::Arc;

use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use crate::auth::Claims;
use crate::error::ErrorBody;

/// Liveness: answers `ok` without touching the database.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, body = String)))]
pub async fn health() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}

/// Who the token names.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Me {
    pub user: String,
    /// Whether the operators' routes are open to this token.
    pub operator: bool,
}

/// The caller, as its token says.
#[utoipa::path(get, path = "/api/me", tag = "system",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(Claims(claims): Claims) -> Json<Me> {
    Json(Me { user: claims.sub, operator: claims.operator })
}
