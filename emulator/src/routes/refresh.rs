//! Refreshes (POST, history, details). // documented: 3.13, 3.14, 3.15

use super::datasets::find;
use super::{Role, collection};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::{DatasetMode, Refresh};
use crate::util::{canon, eq_ci, iso, json_body, now_ms};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Who gets mail about a refresh, for refreshes and schedules. // documented: 3.13, 3.16
pub(super) const NOTIFY: &[&str] = &["NoNotification", "MailOnFailure", "MailOnCompletion"];

/// `POST …/refreshes` (classic). // documented: 3.13, 8.2 #9
pub async fn refresh(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = json_body(&headers, &body)?;
    let delay = app.knobs().import_delay_ms;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        let notify = match b.get("notifyOption").and_then(Value::as_str) {
            None => "NoNotification",
            Some(n) => canon(n, NOTIFY).ok_or_else(|| ApiError::invalid(format!("Invalid NotifyOption value '{n}'")))?,
        };
        if caller.principal_type == "App" && notify != "NoNotification" {
            return Err(ApiError::invalid(format!("Invalid NotifyOption value '{notify}' for app only owner requests")));
        }
        let on_capacity = w.model.group(&w.model.datasets[i].group_id).is_some_and(|g| g.capacity_id.is_some());
        let enhanced = b.as_object().is_some_and(|o| o.keys().any(|k| k != "notifyOption"));
        if enhanced && !on_capacity {
            return Err(ApiError::invalid("Enhanced refresh (type, commitMode, objects, ...) needs a Premium capacity; send only notifyOption"));
        }
        let d = &w.model.datasets[i];
        if d.mode == DatasetMode::LiveConnection {
            return Err(ApiError::invalid("A live connection dataset cannot be refreshed")); // guess
        }
        let now = now_ms();
        if d.refreshes.iter().any(|r| r.end_ms > now) && enhanced {
            return Err(ApiError::coded(StatusCode::CONFLICT, "Conflict", "Another refresh is in progress for this dataset")); // documented: 3.13
        }
        let today = d.refreshes.iter().filter(|r| r.start_ms + 86_400_000 > now).count();
        if !on_capacity && today >= 8 {
            return Err(ApiError::invalid("The dataset exceeded the limit of 8 refreshes per day on shared capacity")); // documented limit; guess: code
        }
        let missing = d.datasources.iter().any(|s| !has_credentials(w, &s.gateway_id, &s.datasource_id));
        let request_id = w.new_id();
        let d = &mut w.model.datasets[i];
        d.refreshes.insert(0, Refresh { request_id: request_id.clone(), refresh_type: if enhanced { "ViaEnhancedApi".into() } else { "ViaApi".into() },
            start_ms: now, end_ms: now + delay.max(1),
            final_status: if missing { "Failed".into() } else { "Completed".into() },
            error_code: missing.then(|| "ModelRefreshFailed_CredentialsNotSpecified".into()) });
        d.refreshes.truncate(60);
        if !missing { d.pending_refresh = false; }
        let mut resp = StatusCode::ACCEPTED.into_response();
        if enhanced && let Ok(v) = request_id.parse() {
            resp.headers_mut().insert("x-ms-request-id", v);
        }
        Ok(resp)
    })
}

/// Whether a (gateway, datasource) pair has credentials set.
pub fn has_credentials(w: &crate::app::World, gw: &str, ds: &str) -> bool {
    let real = w
        .model
        .gateways
        .iter()
        .find(|g| eq_ci(&g.id, gw))
        .and_then(|g| g.datasources.iter().find(|d| eq_ci(&d.id, ds)));
    let cloud = w.model.cloud_datasources.iter().find(|d| eq_ci(&d.id, ds));
    real.or(cloud).is_some_and(|d| d.credentials.is_some())
}

/// `GET …/refreshes?$top=`. // documented: 3.14
pub async fn history(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let top = match q.get("$top") {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("$top must be a positive integer"))?,
        None => 60,
    };
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let now = now_ms();
        let items = w.model.datasets[i].refreshes.iter().take(top).map(|r| {
            let mut v = json!({"requestId": r.request_id, "id": r.start_ms, "refreshType": r.refresh_type, "startTime": iso(r.start_ms)});
            if r.end_ms <= now {
                v["endTime"] = json!(iso(r.end_ms));
                v["status"] = json!(r.final_status);
                if let Some(code) = &r.error_code {
                    let exc = json!({"errorCode": code}).to_string();
                    v["serviceExceptionJson"] = json!(exc);
                    v["refreshAttempts"] = json!([{"attemptId": 1, "startTime": iso(r.start_ms), "endTime": iso(r.end_ms), "serviceExceptionJson": exc, "type": "Data"}]);
                }
            } else {
                v["status"] = json!("Unknown");
            }
            v
        }).collect();
        Ok(collection(&app.base_url, "refreshes", items))
    })
}

/// `GET …/refreshes/{refreshId}`: 202 while running, 200 when finished. // documented: 3.15
pub async fn detail(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did, rid)): Path<(String, String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let r = w.model.datasets[i].refreshes.iter().find(|r| eq_ci(&r.request_id, &rid)).ok_or_else(ApiError::not_found)?;
        let done = r.end_ms <= now_ms();
        let mut v = json!({"startTime": iso(r.start_ms), "type": "Full", "commitMode": "Transactional", "numberOfAttempts": 1,
            "status": if done { r.final_status.as_str() } else { "Unknown" },
            "extendedStatus": if done { r.final_status.as_str() } else { "InProgress" }, "objects": [], "messages": []});
        if done {
            v["endTime"] = json!(iso(r.end_ms));
            if let Some(code) = &r.error_code {
                v["messages"] = json!([{"code": code, "message": code, "type": "Error"}]);
            }
        }
        let status = if done { StatusCode::OK } else { StatusCode::ACCEPTED };
        Ok((status, axum::Json(v)).into_response())
    })
}
