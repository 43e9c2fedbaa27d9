//! Fabric API errors in the service's shape. // trace: the recording of real Fabric traffic
//! in `microsoft/fabric-cicd` (`tests/fixtures/http_trace.json.gz`, its 400 answers): body `{requestId, errorCode, message,
//! moreDetails?, isRetriable}`, header `x-ms-public-api-error-code`; operation errors are
//! `{errorCode, message}` inside the operation state.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered by a `/v1` endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct FabricError {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorCode`.
    pub code: String,
    /// `message`.
    pub message: String,
    /// `Retry-After` seconds (429, held names).
    pub retry_after: Option<u64>,
}

impl FabricError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }
    /// 400 with a code.
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 404 `WorkspaceNotFound`. // guess: code from the Fabric docs' common errors; status 404
    pub fn workspace_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "WorkspaceNotFound",
            "The requested workspace was not found",
        )
    }
    /// 404 `ItemNotFound`. // guess: code from the Fabric docs' common errors
    pub fn item_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ItemNotFound",
            "The requested item was not found",
        )
    }
    /// 403 `InsufficientPrivileges`: a member whose role is too low. // guess
    pub fn insufficient() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "InsufficientPrivileges",
            "The caller does not have sufficient permissions to perform this operation",
        )
    }
    /// 429 with `Retry-After`. // guess: Fabric's throttling code is `RequestBlocked`
    pub fn throttled(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RequestBlocked",
            "Request is blocked by the upstream service until the time in Retry-After",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }
    /// Whether a client may retry (`isRetriable`). // guess: 429, 5xx and held names
    fn retriable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status.is_server_error()
            || self.code == "ItemDisplayNameNotAvailableYet"
    }
    /// The `{errorCode, message}` an operation reports when it fails.
    pub fn operation_error(&self) -> Value {
        json!({"errorCode": self.code, "message": self.message})
    }
}

impl IntoResponse for FabricError {
    fn into_response(self) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = json!({"requestId": request_id, "errorCode": self.code,
            "message": self.message, "isRetriable": self.retriable()});
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            h.insert("x-ms-public-api-error-code", v);
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("RequestId", v);
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert("Retry-After", v);
        }
        resp
    }
}

/// Result type of the `/v1` handlers.
pub type FabricResult<T = Response> = Result<T, FabricError>;
