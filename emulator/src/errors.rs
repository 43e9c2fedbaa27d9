//! Error responses in the documented body shapes (reference 0.6).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered to an API client: a status and one of the documented body shapes.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body, or `None` for an empty body.
    pub body: Option<Value>,
    /// `Retry-After` seconds, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, body: Option<Value>) -> Self {
        Self {
            status,
            body,
            retry_after: None,
        }
    }
    /// Shape 1: `{"error":{"code","message"}}`, 400. // documented: 0.6 #1
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }
    /// Shape 1 with any status and code.
    pub fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::new(
            status,
            Some(json!({"error": {"code": code, "message": message.into()}})),
        )
    }
    /// Shape 2, the `pbi.error` form. // documented: 0.6 #2
    pub fn pbi(status: StatusCode, code: &str) -> Self {
        Self::pbi_with(status, code, json!({}))
    }
    /// Shape 2 with parameters.
    pub fn pbi_with(status: StatusCode, code: &str, parameters: Value) -> Self {
        Self::new(
            status,
            Some(json!({"error": {"code": code, "pbi.error": {
                "code": code, "parameters": parameters, "details": [], "exceptionCulprit": 1}}})),
        )
    }
    /// 404 `PowerBIEntityNotFound`: unknown id or no access (existence hidden). // documented: 7.4
    pub fn not_found() -> Self {
        Self::pbi(StatusCode::NOT_FOUND, "PowerBIEntityNotFound")
    }
    /// 404 `ItemNotFound` for a dataset id. // documented: 0.6 #3
    pub fn dataset_not_found(id: &str) -> Self {
        Self::coded(
            StatusCode::NOT_FOUND,
            "ItemNotFound",
            format!(
                "Dataset {id} is not found! please verify datasetId is correct and user have sufficient permissions."
            ),
        )
    }
    /// 401 `PowerBINotAuthorizedException`: not owner / insufficient role. // documented: 7.4
    pub fn not_authorized() -> Self {
        Self::pbi(StatusCode::UNAUTHORIZED, "PowerBINotAuthorizedException")
    }
    /// 401 with an empty body: missing or unknown bearer token. // documented: 0.6 #6
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None)
    }
    /// 403 `TokenExpired`. // documented: 0.6 #4
    pub fn token_expired() -> Self {
        Self::coded(
            StatusCode::FORBIDDEN,
            "TokenExpired",
            "Access token has expired, resubmit with a new access token",
        )
    }
    /// 429 with `Retry-After`. // documented: 7.1
    pub fn throttled(retry_after: u64) -> Self {
        let mut e = Self::coded(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "You have exceeded the amount of requests allowed in the current time frame and further requests will fail.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }
    /// 500/503 `An error has occurred`. // documented: 0.6 #5
    pub fn internal(status: StatusCode) -> Self {
        Self::new(status, Some(json!({"Message": "An error has occurred."})))
    }
    /// 415 for a JSON body without a JSON content type. // documented: 0.2 (observed)
    pub fn unsupported_media() -> Self {
        Self::coded(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The request entity's media type is not supported; send Content-Type: application/json",
        )
    }
    /// 400 for an unbindable credential PATCH body. // guess: reference 5.3 (shape inferred)
    pub fn datasource_delta() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some(
                json!({"error": {"code": "BadRequest", "message": "Bad Request", "details": [
                {"message": "'datasourceDelta' is a required parameter", "target": "datasourceDelta"}]}}),
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = match self.body {
            Some(body) => (self.status, axum::Json(body)).into_response(),
            None => self.status.into_response(),
        };
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert("Retry-After", v);
        }
        resp
    }
}

/// Result type of the API handlers.
pub type ApiResult<T = Response> = Result<T, ApiError>;
