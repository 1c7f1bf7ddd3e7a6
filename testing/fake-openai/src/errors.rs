//! OpenAI's error envelope, `{"error": {"message", "type", "param", "code"}}`, with the statuses and wording the
//! real API uses (see `tests/fixtures/openai/errors/`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer; `param` and `code` may be null, as in the real envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
    /// `Retry-After` in seconds, for 429s that waiting can fix.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), kind: kind.to_owned(), param: None, code: None, retry_after_secs: None }
    }

    fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// 400 `invalid_request_error` with the given param and code.
    pub fn invalid(message: impl Into<String>, param: Option<&str>, code: Option<&str>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        error.param = param.map(str::to_owned);
        error.code = code.map(str::to_owned);
        error
    }

    /// 400 for a body that is not JSON, worded as the real API words it.
    pub fn bad_json() -> Self {
        Self::invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP \
             library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you \
             have trouble figuring out how to fix this, please contact us through our help center at \
             help.openai.com.)",
            None,
            None,
        )
    }

    /// 400 `missing_required_parameter`.
    pub fn missing(param: &str) -> Self {
        Self::invalid(
            format!("Missing required parameter: '{param}'."),
            Some(param),
            Some("missing_required_parameter"),
        )
    }

    /// 400 `invalid_type`; `expected` like "a string", `got` like "an integer".
    pub fn invalid_type(param: &str, expected: &str, value: &Value) -> Self {
        Self::invalid(
            format!("Invalid type for '{param}': expected {expected}, but got {} instead.", json_kind(value)),
            Some(param),
            Some("invalid_type"),
        )
    }

    /// 400 `invalid_value` for a value outside an enumeration.
    pub fn invalid_value(param: &str, value: &str, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        Self::invalid(
            format!("Invalid value: '{value}'. Supported values are: {list}."),
            Some(param),
            Some("invalid_value"),
        )
    }

    /// 404 for an id the fake does not know.
    pub fn not_found(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut error = Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message);
        error.param = param.map(str::to_owned);
        error
    }

    /// 404 for a path no route serves: `Invalid URL (GET /v1/nope)`.
    pub fn invalid_url(method: &str, path: &str) -> Self {
        Self::not_found(format!("Invalid URL ({method} {path})"), None)
    }

    /// 401 for a request without a bearer token.
    pub fn missing_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer \
             auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're \
             accessing the API from your browser and are prompted for a username and password. You can obtain an API \
             key from https://platform.openai.com/account/api-keys.",
        )
    }

    /// 401 `invalid_api_key`, showing the key masked as the real API does.
    pub fn invalid_api_key(key: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            format!(
                "Incorrect API key provided: {}. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                mask(key)
            ),
        )
        .code("invalid_api_key")
    }

    /// 429 `rate_limit_exceeded` of type `requests`, with `Retry-After`.
    pub fn rate_limited(limit: u32, retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "requests",
            format!(
                "Rate limit reached in organization org-fake on requests per min (RPM): Limit {limit}, Used {limit}, \
                 Requested 1. Please try again in {retry_after_secs}s. Visit \
                 https://platform.openai.com/account/rate-limits to learn more."
            ),
        )
        .code("rate_limit_exceeded");
        error.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// 429 `insufficient_quota`, which waiting does not fix (so no `Retry-After`).
    pub fn insufficient_quota() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details. For more information on \
             this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        )
        .code("insufficient_quota")
    }

    /// An injected 5xx with the body the real API sends for that status.
    pub fn server_error(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match status.as_u16() {
            502 => "Bad gateway.",
            503 => "The server is overloaded or not ready yet.",
            _ => "The server had an error while processing your request. Sorry about that!",
        };
        Self::new(status, "server_error", message)
    }

    /// The envelope as JSON.
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Shows the first three and last four characters of a key, the rest as `*`.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars.iter().take(3).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// How the real API names a JSON value's type in `invalid_type` messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keys() {
        assert_eq!(mask("sk-abcdefghijkl"), "sk-********ijkl");
        assert_eq!(mask("short"), "*****");
    }

    #[test]
    fn envelope_has_the_four_fields() {
        let body = ApiError::missing("model").body();
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(body["error"]["code"], "missing_required_parameter");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(ApiError::bad_json().body()["error"]["code"], Value::Null);
    }
}
