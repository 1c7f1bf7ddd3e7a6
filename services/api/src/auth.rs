//! Identity from `Authorization: Bearer <token>`. (JWT replaces the static token map in a later change.)

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct User(pub String);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing Authorization header (expected `Bearer <token>`)"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized("Authorization header is not `Bearer <token>`"))?;
        state.tokens.get(token.trim()).map(|user| User(user.clone())).ok_or(ApiError::Unauthorized("unknown token"))
    }
}
