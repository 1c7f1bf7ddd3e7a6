//! Identity from a JWT (HS256, see [`bw_auth`]) in `Authorization: Bearer <token>`, or in a `token` query parameter
//! for clients that cannot set headers (`EventSource`). [`token_from_query`] moves the parameter into the header
//! before routing, so handlers' query types never see it and request logs never carry it.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Uri};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller: the token's `sub`.
#[derive(Clone, Debug)]
pub struct User(pub String);

/// The whole verified token.
#[derive(Clone, Debug)]
pub struct Claims(pub bw_auth::Claims);

impl FromRequestParts<AppState> for Claims {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        claims(parts, state).map(Self)
    }
}

/// An authenticated caller whose token carries the operator role; anyone else gets 403.
#[derive(Clone, Debug)]
pub struct Operator(pub String);

fn claims(parts: &Parts, state: &AppState) -> Result<bw_auth::Claims, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("missing token: send `Authorization: Bearer <token>` or `?token=<token>`".into())
    })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("Authorization header is not `Bearer <token>`".into()))?;
    state.keys.verify(token.trim()).map_err(|e| ApiError::Unauthorized(e.to_string()))
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        claims(parts, state).map(|c| Self(c.sub))
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let claims = claims(parts, state)?;
        if !claims.operator {
            return Err(ApiError::Forbidden(format!("user {} is not an operator", claims.sub)));
        }
        Ok(Self(claims.sub))
    }
}

/// Middleware: a `token` query parameter becomes `Authorization: Bearer <token>` (unless the request has one) and
/// leaves the URI.
pub async fn token_from_query(mut request: Request) -> Request {
    let Some(query) = request.uri().query() else { return request };
    let mut token = None;
    let rest: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            if k == "token" {
                token = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    let Some(token) = token else { return request };
    if !request.headers().contains_key(AUTHORIZATION)
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(rest).finish();
    let path_and_query =
        if query.is_empty() { request.uri().path().to_owned() } else { format!("{}?{query}", request.uri().path()) };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
