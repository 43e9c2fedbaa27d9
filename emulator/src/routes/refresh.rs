//! Refreshes (POST + history) and the refresh schedule. // documented: 3.13, 3.14, 3.16

use super::datasets::{find, require_owner};
use super::{Role, collection, ok, ok_empty};
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

const NOTIFY: &[&str] = &["NoNotification", "MailOnFailure", "MailOnCompletion"];
const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

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

/// `GET …/refreshSchedule`. // documented: 3.16
pub async fn get_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let mut v =
            serde_json::to_value(&w.model.datasets[i].refresh_schedule).unwrap_or(Value::Null);
        v["@odata.context"] = json!(format!(
            "{}/v1.0/myorg/$metadata#Microsoft.PowerBI.ServiceContracts.Api.RefreshSchedule",
            app.base_url
        ));
        Ok(ok(v))
    })
}

/// `PATCH …/refreshSchedule` with `{"value": {partial}}`. // documented: 3.16 (rules); guess: :00/:30 only
pub async fn patch_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = json_body(&headers, &body)?;
    let patch = b
        .get("value")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid("The body must wrap the schedule in 'value': {\"value\": {...}}")
        })?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        if w.model.datasets[i].mode != DatasetMode::Import {
            return Err(ApiError::invalid(
                "Only Import-mode datasets have a refresh schedule; use directQueryRefreshSchedule",
            ));
        }
        if patch.get("enabled") == Some(&Value::Bool(false)) && patch.len() > 1 {
            return Err(ApiError::invalid(
                "A request that disables the schedule must contain nothing else",
            ));
        }
        let premium = w
            .model
            .group(&w.model.datasets[i].group_id)
            .is_some_and(|g| g.capacity_id.is_some());
        let mut s = w.model.datasets[i].refresh_schedule.clone();
        let strings = |k: &str| -> Result<Option<Vec<String>>, ApiError> {
            match patch.get(k) {
                None => Ok(None),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str().map(str::to_string).ok_or_else(|| {
                            ApiError::invalid(format!("'{k}' must be a list of strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(ApiError::invalid(format!(
                    "'{k}' must be a list of strings"
                ))),
            }
        };
        if let Some(days) = strings("days")? {
            s.days = days
                .iter()
                .map(|d| {
                    canon(d, DAYS)
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::invalid(format!("Invalid day '{d}'")))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(times) = strings("times")? {
            let limit = if premium { 48 } else { 8 };
            if times.len() > limit {
                return Err(ApiError::invalid(format!(
                    "At most {limit} refresh times per day are allowed on this capacity"
                )));
            }
            for t in &times {
                let ok = t.len() == 5
                    && t.as_bytes()[2] == b':'
                    && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
                    && (&t[3..] == "00" || &t[3..] == "30");
                if !ok {
                    return Err(ApiError::invalid(format!(
                        "Invalid time '{t}': use HH:mm on the hour or half hour"
                    )));
                }
            }
            s.times = times;
        }
        if let Some(e) = patch.get("enabled") {
            s.enabled = e
                .as_bool()
                .ok_or_else(|| ApiError::invalid("'enabled' must be a boolean"))?;
        }
        if let Some(tz) = patch.get("localTimeZoneId") {
            s.local_time_zone_id = tz
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid("'localTimeZoneId' must be a Windows time zone id")
                })?
                .to_string();
        }
        if let Some(n) = patch
            .get("notifyOption")
            .or_else(|| patch.get("NotifyOption"))
        {
            let n = n
                .as_str()
                .and_then(|n| canon(n, NOTIFY))
                .ok_or_else(|| ApiError::invalid("Invalid notifyOption"))?;
            if caller.principal_type == "App" && n != "NoNotification" {
                return Err(ApiError::invalid(format!(
                    "Invalid NotifyOption value '{n}' for app only owner requests"
                )));
            }
            s.notify_option = n.into();
        }
        if s.enabled && s.days.is_empty() {
            return Err(ApiError::invalid(
                "At least one day must be set to enable the schedule",
            ));
        }
        if s.enabled && s.times.is_empty() {
            s.times = vec!["00:00".into()];
        } // documented: no times ⇒ one default time
        w.model.datasets[i].refresh_schedule = s;
        Ok(ok_empty())
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
