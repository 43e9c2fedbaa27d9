//! The Fabric REST API (`/v1`) for semantic models and reports, on the same server and the
//! same model as the Power BI API: a workspace is a Power BI group (same id), a semantic model
//! item is a Power BI dataset (same id), a report item a Power BI report. Built from
//! the Fabric REST API reference (learn.microsoft.com: Items, Long running operations, item
//! definitions) and a recording of real Fabric traffic published with `microsoft/fabric-cicd`
//! (`tests/fixtures/http_trace.json.gz`); each behaviour is marked `// trace:` (seen in the
//! recording), `// documented:` (the Fabric docs) or `// guess:`.

pub mod definition;
pub mod error;
pub mod items;
pub mod live;
pub mod operations;
pub mod semantic;
pub mod state;

use crate::app::App;
use crate::auth::Caller;
use crate::model::Model;
use crate::routes::Role;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::FabricError;
use serde_json::Value;
use std::sync::Arc;

/// The `/v1` routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/v1/workspaces/{ws}", get(items::workspace))
        .route(
            "/v1/workspaces/{ws}/items",
            get(items::list).post(items::create),
        )
        .route(
            "/v1/workspaces/{ws}/items/{id}",
            get(items::get_one).delete(items::delete),
        )
        .route(
            "/v1/workspaces/{ws}/items/{id}/updateDefinition",
            post(definition::update),
        )
        .route(
            "/v1/workspaces/{ws}/items/{id}/getDefinition",
            post(definition::get),
        )
        .route("/v1/operations/{op}", get(operations::state))
        .route("/v1/operations/{op}/result", get(operations::result))
}

/// The caller's access to a workspace with Fabric error shapes: unknown or not a member is
/// 404 `WorkspaceNotFound`, a lower role 403. // guess: same rule as the Power BI routes
pub fn require(model: &Model, ws: &str, caller: &Caller, min: Role) -> Result<String, FabricError> {
    crate::routes::require(model, ws, caller, min).map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            FabricError::workspace_not_found()
        } else {
            FabricError::insufficient()
        }
    })
}

/// Parses a JSON request body; malformed JSON is 400 `InvalidInput`. // guess: code
pub fn body_json(body: &[u8]) -> Result<Value, FabricError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        FabricError::bad(
            "InvalidInput",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

/// A JSON answer with the headers every `/v1` answer carries. // trace: `Access-Control-Expose-Headers`
pub fn answer(status: StatusCode, body: Option<Value>) -> Response {
    let mut resp = match body {
        Some(b) => (status, axum::Json(b)).into_response(),
        None => status.into_response(),
    };
    resp.headers_mut().insert(
        "Access-Control-Expose-Headers",
        HeaderValue::from_static("RequestId"),
    );
    resp
}

/// The `timeUtc` form of the recording (`2026-06-25T11:15:43.5469603`: seven fraction digits,
/// no zone). // trace: operation state
pub fn time_utc(ms: u64) -> String {
    let iso = crate::util::iso(ms);
    format!("{}0000", iso.trim_end_matches('Z'))
}
