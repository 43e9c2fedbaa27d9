//! Errors of the Power BI client: the service's own error (status, code, message, request id)
//! parsed from any of the body shapes the service is known to send, plus transport, auth and
//! decoding failures. One enum, [`ClientError`], so callers match in one place.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::auth::AuthError;

/// Longest raw (non-JSON) error body kept in a message; the rest is cut so that an HTML error
/// page does not flood the log.
const MAX_RAW_MESSAGE: usize = 400;

/// An error answer from the service, with everything support will ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// `error.code`, else `error["pbi.error"].code`.
    pub code: Option<String>,
    /// `error.message`, else `Message`, else details, else the raw body text.
    pub message: Option<String>,
    /// The `RequestId` (or `x-ms-request-id`) response header.
    pub request_id: Option<String>,
    pub method: String,
    /// Path after `/v1.0/myorg` (or a redacted URL for blob storage calls).
    pub path: String,
}

impl ApiError {
    /// Builds the error from the response parts; never fails whatever the body holds.
    pub fn from_parts(
        method: &str,
        path: &str,
        status: StatusCode,
        request_id: Option<String>,
        body: &str,
    ) -> Self {
        let (code, message) = parse_error_body(body);
        Self {
            status,
            code,
            message,
            request_id,
            method: method.to_owned(),
            path: path.to_owned(),
        }
    }

    /// True when the service code (case-insensitive) equals `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.status.as_u16())?;
        match (&self.code, &self.message) {
            (Some(code), Some(msg)) => write!(f, " {code}: {msg}")?,
            (Some(code), None) => write!(f, " {code}")?,
            (None, Some(msg)) => write!(f, " {msg}")?,
            (None, None) => {
                if let Some(reason) = self.status.canonical_reason() {
                    write!(f, " {reason}")?;
                }
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Extracts `(code, message)` from an error body: `error.code` → `error["pbi.error"].code` →
/// `Message` → raw text (see the reference, section 0.6).
pub fn parse_error_body(body: &str) -> (Option<String>, Option<String>) {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return (None, None);
    }
    let Ok(json) = serde_json::from_str::<Value>(trimmed) else {
        return (None, Some(truncate(trimmed)));
    };
    let error = json.get("error");
    let pbi = error.and_then(|e| e.get("pbi.error"));
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .or_else(|| pbi.and_then(|p| p.get("code")).and_then(Value::as_str))
        .or_else(|| error.and_then(Value::as_str))
        .or_else(|| json.get("errorCode").and_then(Value::as_str))
        .map(str::to_owned);
    let base = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| string_field(&json, &["Message", "message"]));
    let details = error
        .and_then(details_text)
        .or_else(|| pbi.and_then(details_text))
        .or_else(|| fabric_details(&json));
    let message = match (base, details) {
        (Some(b), Some(d)) => Some(format!("{b}: {d}")),
        (b, d) => b.or(d),
    }
    .or_else(|| string_field(&json, &["error_description"]));
    let message = match (&code, message) {
        (None, None) if error.is_none() => Some(truncate(trimmed)),
        (_, m) => m,
    };
    (code, message)
}

fn string_field(json: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| json.get(*n).and_then(Value::as_str))
        .map(str::to_owned)
}

/// Joins the readable parts of `details[]`: `{"message": …}` items and pbi.error
/// `{"detail": {"value": …}}` items.
fn details_text(container: &Value) -> Option<String> {
    let details = container.get("details")?.as_array()?;
    let parts: Vec<&str> = details
        .iter()
        .filter_map(|d| {
            d.get("message")
                .and_then(Value::as_str)
                .or_else(|| d.get("detail")?.get("value")?.as_str())
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The Fabric shape's `moreDetails[].message`.
fn fabric_details(json: &Value) -> Option<String> {
    let parts: Vec<&str> = json
        .get("moreDetails")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("message").and_then(Value::as_str))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn truncate(text: &str) -> String {
    if text.len() <= MAX_RAW_MESSAGE {
        return text.to_owned();
    }
    let mut end = MAX_RAW_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// No answer: connection refused or dropped, TLS failure, timeout.
    #[error("{method} {path}: {source}")]
    Transport {
        method: String,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// The request may or may not have taken effect (connection dropped or 5xx after a
    /// non-idempotent request was sent). Check the service before doing it again.
    #[error(
        "{method} {path}: outcome unknown ({cause}); the service may have done it, check before retrying"
    )]
    Ambiguous {
        method: String,
        path: String,
        cause: Box<ClientError>,
    },
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The answer was not the JSON expected.
    #[error("{method} {path}: unexpected response body: {source}")]
    Decode {
        method: String,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// A URL (configured service URL, redirect target, upload location) cannot be used.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Plain HTTP to a host that is not a loopback address.
    #[error(
        "refusing plain http:// to {url}: only https is allowed except for loopback addresses (127.0.0.1, ::1, localhost); use an https:// URL"
    )]
    InsecureUrl { url: String },
    /// A local file (the PBIX to upload) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An import finished in a failed state.
    #[error("import {import_id} failed: {code}{}", details.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ImportFailed {
        import_id: String,
        code: String,
        details: Option<String>,
    },
    /// A Fabric long-running operation ended in a failed state; `api` holds the service's
    /// code and message and the request id of the answer that said so.
    #[error("{what} failed (operation {operation}): {}", operation_error_text(api))]
    OperationFailed {
        what: String,
        operation: String,
        api: Box<ApiError>,
    },
    /// Something did not finish within the time allowed.
    #[error("{what} did not finish within {after:?}; raise the timeout or check the service")]
    Timeout { what: String, after: Duration },
    /// The service redirected badly (no `Location`, too many hops).
    #[error("{method} {path}: {reason}")]
    Redirect {
        method: String,
        path: String,
        reason: String,
    },
    /// The client could not be built from its configuration.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The service error, when this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            Self::OperationFailed { api, .. } => Some(api),
            Self::Ambiguous { cause, .. } => cause.api(),
            _ => None,
        }
    }

    /// The HTTP status of a service error.
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|e| e.status)
    }

    /// True for a 404 from the service (useful for "delete if present").
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// `code: message (request id …)` of a failed operation.
fn operation_error_text(api: &ApiError) -> String {
    let mut s = match (&api.code, &api.message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => "no error details".into(),
    };
    if let Some(id) = &api.request_id {
        s.push_str(&format!(" (request id {id})"));
    }
    s
}

impl From<ApiError> for ClientError {
    fn from(e: ApiError) -> Self {
        Self::Api(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> (Option<String>, Option<String>) {
        parse_error_body(body)
    }

    #[test]
    fn generic_shape() {
        let (c, m) = parse(r#"{"error":{"code":"InvalidRequest","message":"bad selector #4"}}"#);
        assert_eq!(c.as_deref(), Some("InvalidRequest"));
        assert_eq!(m.as_deref(), Some("bad selector #4"));
    }

    #[test]
    fn pbi_error_shape_without_message() {
        let body = r#"{"error":{"pbi.error":{"code":"PowerBIEntityNotFound","parameters":{},"details":[],"exceptionCulprit":1}}}"#;
        let (c, m) = parse(body);
        assert_eq!(c.as_deref(), Some("PowerBIEntityNotFound"));
        assert_eq!(m, None);
    }

    #[test]
    fn pbi_error_details_become_message() {
        let body = r#"{"error":{"code":"DM_GWPipeline_Gateway_InvalidConnectionCredentials","pbi.error":{"code":"X","details":[{"code":"DM_ErrorDetailNameCode_UnderlyingErrorMessage","detail":{"type":1,"value":"Login failed"}}]}}}"#;
        let (c, m) = parse(body);
        assert_eq!(
            c.as_deref(),
            Some("DM_GWPipeline_Gateway_InvalidConnectionCredentials")
        );
        assert_eq!(m.as_deref(), Some("Login failed"));
    }

    #[test]
    fn aspnet_message_shape() {
        let (c, m) = parse(r#"{"Message":"API is not accessible for application"}"#);
        assert_eq!(c, None);
        assert_eq!(m.as_deref(), Some("API is not accessible for application"));
    }

    #[test]
    fn bad_request_details_shape() {
        let body = r#"{"error":{"code":"BadRequest","message":"Bad Request","details":[{"message":"'datasourceDelta' is a required parameter","target":"datasourceDelta"}]}}"#;
        let (c, m) = parse(body);
        assert_eq!(c.as_deref(), Some("BadRequest"));
        assert_eq!(
            m.as_deref(),
            Some("Bad Request: 'datasourceDelta' is a required parameter")
        );
        let (c, m) = parse(
            r#"{"error":{"code":"BadRequest","details":[{"message":"'datasourceDelta' is a required parameter"}]}}"#,
        );
        assert_eq!(c.as_deref(), Some("BadRequest"));
        assert_eq!(
            m.as_deref(),
            Some("'datasourceDelta' is a required parameter")
        );
    }

    #[test]
    fn fabric_shape_gives_error_code_and_more_details() {
        let body = r#"{"requestId":"r-9","errorCode":"BadRequest","moreDetails":[{"errorCode":"RequestBodyValidationFailed","message":"Target path doesn't exist"}],"message":"The request could not be processed due to missing or invalid information","isRetriable":false}"#;
        let (c, m) = parse(body);
        assert_eq!(c.as_deref(), Some("BadRequest"));
        assert_eq!(
            m.as_deref(),
            Some(
                "The request could not be processed due to missing or invalid information: Target path doesn't exist"
            )
        );
    }

    #[test]
    fn raw_text_and_empty() {
        assert_eq!(
            parse("An error has occurred"),
            (None, Some("An error has occurred".into()))
        );
        assert_eq!(parse("   "), (None, None));
        let long = "x".repeat(5000);
        assert!(parse(&long).1.is_some_and(|m| m.len() < 500));
    }

    #[test]
    fn display_has_method_path_status_code_message_request_id() {
        let e = ApiError::from_parts(
            "POST",
            "/groups/g1/imports",
            StatusCode::CONFLICT,
            Some("r-1".into()),
            r#"{"error":{"code":"MoreThanOneDuplicatePackageFoundError","message":"two"}}"#,
        );
        assert_eq!(
            e.to_string(),
            "POST /groups/g1/imports: 409 MoreThanOneDuplicatePackageFoundError: two (request id r-1)"
        );
        let e = ApiError::from_parts("GET", "/groups", StatusCode::NOT_FOUND, None, "");
        assert_eq!(e.to_string(), "GET /groups: 404 Not Found");
    }
}
