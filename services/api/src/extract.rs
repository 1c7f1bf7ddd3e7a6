//! Extractors whose rejections are JSON errors naming the problem.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `axum::Json`, with a 400 naming the missing or mistyped field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::BadRequest(json_problem(&rejection))),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::JsonDataError(e) => format!(
            "invalid request body: {}",
            e.body_text().replace("Failed to deserialize the JSON body into the target type: ", "")
        ),
        JsonRejection::JsonSyntaxError(_) => "request body is not valid JSON".to_owned(),
        JsonRejection::MissingJsonContentType(_) => {
            "request body must be JSON (Content-Type: application/json)".to_owned()
        }
        other => format!("invalid request body: {}", other.body_text()),
    }
}

/// `axum::extract::Path` with a 400 saying which path segment is invalid.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e: PathRejection| ApiError::BadRequest(format!("invalid path: {}", e.body_text())))
    }
}

/// `axum::extract::Query` with a 400 naming the bad parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))
    }
}

/// Query of the list routes (`?limit=`).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size: 1-100, default 20.
    pub limit: Option<i64>,
}

/// A page size from a query: `default` when absent, an error naming the bounds when outside 1..=`max`.
pub fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!("limit must be between 1 and {max}")))
    }
}
