//! Reports: list, get, Rebind, delete. // documented: 4.1-4.4

use super::{Role, collection, entity, ok_empty, require};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::Report;
use crate::util::{eq_ci, json_body};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// The report routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/groups/{gid}/reports", get(list))
        .route("/groups/{gid}/reports/{rid}", get(get_one).delete(delete))
        .route("/groups/{gid}/reports/{rid}/Rebind", post(rebind))
}

fn report_json(base: &str, r: &Report, caller: Option<&Caller>) -> Value {
    json!({"id": r.id, "reportType": "PowerBIReport", "name": r.name,
        "webUrl": format!("{base}/groups/{}/reports/{}", r.group_id, r.id),
        "embedUrl": format!("{base}/reportEmbed?reportId={}&groupId={}", r.id, r.group_id),
        "isFromPbix": true, "isOwnedByMe": caller.is_some(),
        "datasetId": r.dataset_id, "datasetWorkspaceId": r.dataset_workspace_id, "users": [], "subscriptions": []})
}

/// `GET groups/{gid}/reports`.
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let items = w
            .model
            .reports
            .iter()
            .filter(|r| r.group_id == id)
            .map(|r| report_json(&app.base_url, r, Some(&caller)))
            .collect();
        Ok(collection(&app.base_url, "reports", items))
    })
}

/// `GET groups/{gid}/reports/{rid}`.
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, rid)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let i = w
            .model
            .report_idx(&id, &rid)
            .ok_or_else(ApiError::not_found)?;
        Ok(entity(
            &app.base_url,
            "reports",
            report_json(&app.base_url, &w.model.reports[i], Some(&caller)),
        ))
    })
}

/// `DELETE groups/{gid}/reports/{rid}`.
pub async fn delete(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, rid)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Contributor)?;
        let i = w
            .model
            .report_idx(&id, &rid)
            .ok_or_else(ApiError::not_found)?;
        w.model.reports.remove(i);
        Ok(ok_empty())
    })
}

/// `POST groups/{gid}/reports/{rid}/Rebind` `{"datasetId"}`: the target may be in another
/// workspace the caller can reach. // documented: 4.4
pub async fn rebind(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, rid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = json_body(&headers, &body)?;
    let target = b
        .get("datasetId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("datasetId is required"))?
        .to_string();
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Contributor)?;
        let i = w
            .model
            .report_idx(&id, &rid)
            .ok_or_else(ApiError::not_found)?;
        let d = w
            .model
            .datasets
            .iter()
            .find(|d| eq_ci(&d.id, &target))
            .cloned()
            .ok_or_else(|| ApiError::dataset_not_found(&target))?;
        if super::role_in(&w.model, &d.group_id, &caller).is_none() {
            return Err(ApiError::dataset_not_found(&target)); // guess: Build permission = workspace membership
        }
        let r = &mut w.model.reports[i];
        r.dataset_id = d.id;
        r.dataset_workspace_id = d.group_id;
        Ok(ok_empty())
    })
}
