//! Datasets: list, get, delete, TakeOver, parameters, datasources, UpdateParameters,
//! UpdateDatasources, SetAllConnections, gateway discovery and binding. // documented: 3.1-3.12

use super::{Role, collection, entity, ok_empty, require};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::cloud::bind_cloud;
use crate::model::{Dataset, DatasetMode};
use crate::util::{iso, json_body};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The dataset routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/groups/{gid}/datasets", get(list))
        .route(
            "/groups/{gid}/datasets/{did}",
            get(get_one).delete(delete).patch(update),
        )
        .route(
            "/groups/{gid}/datasets/{did}/Default.TakeOver",
            post(take_over),
        )
        .route("/groups/{gid}/datasets/{did}/parameters", get(parameters))
        .route(
            "/groups/{gid}/datasets/{did}/Default.UpdateParameters",
            post(update_parameters),
        )
        .route("/groups/{gid}/datasets/{did}/datasources", get(datasources))
        .route(
            "/groups/{gid}/datasets/{did}/Default.UpdateDatasources",
            post(super::dataset_sources::update_datasources),
        )
        .route(
            "/groups/{gid}/datasets/{did}/Default.SetAllConnections",
            post(super::dataset_sources::set_all_connections),
        )
        .route(
            "/groups/{gid}/datasets/{did}/Default.GetBoundGatewayDatasources",
            get(super::dataset_sources::bound_gateway_datasources),
        )
        .route(
            "/groups/{gid}/datasets/{did}/Default.DiscoverGateways",
            get(super::dataset_sources::discover_gateways),
        )
        .route(
            "/groups/{gid}/datasets/{did}/Default.BindToGateway",
            post(super::dataset_sources::bind_to_gateway),
        )
        .route(
            "/groups/{gid}/datasets/{did}/refreshes",
            get(super::refresh::history).post(super::refresh::refresh),
        )
        .route(
            "/groups/{gid}/datasets/{did}/refreshes/{rid}",
            get(super::refresh::detail),
        )
        .route(
            "/groups/{gid}/datasets/{did}/refreshSchedule",
            get(super::schedule::get_schedule).patch(super::schedule::patch_schedule),
        )
        .route(
            "/groups/{gid}/datasets/{did}/directQueryRefreshSchedule",
            get(super::schedule::get_dq_schedule).patch(super::schedule::patch_dq_schedule),
        )
}

/// Whether a datasource needs an on-premises gateway. // guess: local names, UNC/file paths, File/Folder types
pub fn is_on_prem(ds_type: &str, cd: &Map<String, Value>) -> bool {
    if ["file", "folder"].contains(&ds_type.to_ascii_lowercase().as_str()) {
        return true;
    }
    cd.get("server").and_then(Value::as_str).is_some_and(|s| {
        let l = s.to_ascii_lowercase();
        l.starts_with('.') || l.contains("localhost") || l.contains('\\') || !l.contains('.')
    })
}

/// The wire view of a dataset.
pub fn dataset_json(base: &str, d: &Dataset) -> Value {
    json!({"id": d.id, "name": d.name, "webUrl": format!("{base}/groups/{}/datasets/{}", d.group_id, d.id),
        "addRowsAPIEnabled": false, "configuredBy": d.configured_by,
        "isRefreshable": d.mode == DatasetMode::Import,
        "isEffectiveIdentityRequired": false, "isEffectiveIdentityRolesRequired": false,
        "isOnPremGatewayRequired": d.datasources.iter().any(|s| is_on_prem(&s.datasource_type, &s.connection_details)),
        "targetStorageMode": d.target_storage_mode.as_deref().unwrap_or("Abf"), "createdDate": iso(d.created_ms),
        "createReportEmbedURL": format!("{base}/reportEmbed?datasetId={}", d.id),
        "qnaEmbedURL": format!("{base}/qnaEmbed?datasetId={}", d.id),
        "upstreamDatasets": [], "users": []})
}

/// Finds a dataset the caller may act on with role `min`: (workspace id, index).
pub fn find(
    w: &World,
    gid: &str,
    did: &str,
    caller: &Caller,
    min: Role,
) -> Result<usize, ApiError> {
    let gid = require(&w.model, gid, caller, min)?;
    w.model
        .dataset_idx(&gid, did)
        .ok_or_else(|| ApiError::dataset_not_found(did))
}

/// Owner check for owner-only operations. // documented: 3 (ownership), 8.2 #5
pub fn require_owner(w: &World, idx: usize, caller: &Caller) -> Result<(), ApiError> {
    if caller.is(&w.model.datasets[idx].owner_object_id) {
        Ok(())
    } else {
        Err(ApiError::not_authorized())
    }
}

/// `GET groups/{gid}/datasets`.
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let items = w
            .model
            .datasets
            .iter()
            .filter(|d| d.group_id == id)
            .map(|d| dataset_json(&app.base_url, d))
            .collect();
        Ok(collection(&app.base_url, "datasets", items))
    })
}

/// `GET groups/{gid}/datasets/{did}`.
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        Ok(entity(
            &app.base_url,
            "datasets",
            dataset_json(&app.base_url, &w.model.datasets[i]),
        ))
    })
}

/// `DELETE groups/{gid}/datasets/{did}`: also removes the workspace's reports bound to it.
/// documented: 3.3; guess: bound reports removed (UI behaviour)
pub async fn delete(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        let d = w.model.datasets.remove(i);
        w.model
            .reports
            .retain(|r| !(r.group_id == d.group_id && r.dataset_id == d.id));
        Ok(ok_empty())
    })
}

/// `POST …/Default.TakeOver`: the caller becomes owner; cloud credentials are cleared.
/// documented: 3.4; guess: 8.2 #5 (credential clearing)
pub async fn take_over(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        {
            let d = &mut w.model.datasets[i];
            d.configured_by = caller.client_id.clone();
            d.owner_object_id = caller.object_id.clone();
        }
        bind_cloud(w, i);
        let cloud: Vec<String> = w.model.datasets[i]
            .datasources
            .iter()
            .map(|s| s.datasource_id.clone())
            .collect();
        for c in w
            .model
            .cloud_datasources
            .iter_mut()
            .filter(|c| cloud.contains(&c.id))
        {
            c.credentials = None;
            c.credential_type = None;
        }
        Ok(ok_empty())
    })
}

/// `GET …/parameters`. // documented: 3.5
pub async fn parameters(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let items = w.model.datasets[i]
            .parameters
            .iter()
            .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
            .collect();
        Ok(collection(&app.base_url, "parameters", items))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateParams {
    #[serde(default)]
    update_details: Vec<ParamUpdate>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParamUpdate {
    name: String,
    new_value: Option<Value>,
}

/// Whether `v` parses as a value of the M parameter type.
fn value_fits(ty: &str, v: &str) -> bool {
    match ty.to_ascii_lowercase().as_str() {
        "number" | "decimal" | "int64" | "double" => v.trim().parse::<f64>().is_ok(),
        "logical" => ["true", "false"].contains(&v.trim().to_ascii_lowercase().as_str()),
        "date" | "datetime" | "datetimezone" | "time" | "duration" => {
            v.chars().any(|c| c.is_ascii_digit())
        }
        _ => true,
    }
}

/// `POST …/Default.UpdateParameters`. // documented: 3.6 (every rule)
pub async fn update_parameters(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: UpdateParams = json_body(&headers, &body)?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        let d = &w.model.datasets[i];
        if d.mode == DatasetMode::LiveConnection {
            return Err(ApiError::invalid(
                "Parameters cannot be updated on a live connection dataset",
            ));
        }
        if b.update_details.is_empty() {
            return Err(ApiError::invalid(
                "updateDetails must list at least one parameter",
            ));
        }
        if b.update_details.len() > 100 {
            return Err(ApiError::invalid(
                "At most 100 parameters can be updated per request",
            ));
        }
        let mut values = Vec::new();
        for (n, u) in b.update_details.iter().enumerate() {
            if b.update_details[..n].iter().any(|o| o.name == u.name) {
                return Err(ApiError::invalid(format!(
                    "Parameter '{}' is listed more than once",
                    u.name
                )));
            }
            let Some(p) = d.parameters.iter().find(|p| p.name == u.name) else {
                return Err(ApiError::invalid(format!(
                    "Dataset has no parameter named '{}' (names are case-sensitive)",
                    u.name
                )));
            };
            if ["any", "binary"].contains(&p.param_type.to_ascii_lowercase().as_str()) {
                return Err(ApiError::invalid(format!(
                    "Parameter '{}' is of type {} and cannot be updated",
                    p.name, p.param_type
                )));
            }
            let v = match &u.new_value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if v.is_empty() && p.is_required {
                return Err(ApiError::invalid(format!(
                    "Parameter '{}' is required and cannot be empty",
                    p.name
                )));
            }
            if !v.is_empty() && !value_fits(&p.param_type, &v) {
                return Err(ApiError::invalid(format!(
                    "Value '{v}' is not a valid {} for parameter '{}'",
                    p.param_type, p.name
                )));
            }
            values.push((u.name.clone(), v));
        }
        let d = &mut w.model.datasets[i];
        for (name, v) in values {
            if let Some(p) = d.parameters.iter_mut().find(|p| p.name == name) {
                p.current_value = v;
            }
        }
        d.pending_refresh = true;
        if repoint_from_parameters(d) {
            bind_cloud(w, i);
        }
        Ok(ok_empty())
    })
}

/// Recomputes the details built from parameters; a source whose details change is a new
/// datasource, without its gateway binding or credentials (as after `Update Datasources`).
/// Returns whether any changed. // documented: 3.12 (parameters re-point sources); guess:
/// the binding is dropped the same way as for Update Datasources.
fn repoint_from_parameters(d: &mut crate::model::Dataset) -> bool {
    let params = d.parameters.clone();
    let current = |name: &str| {
        params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.current_value.clone())
    };
    let mut changed = false;
    for s in &mut d.datasources {
        for (key, pieces) in &s.parameter_details {
            let text = Value::String(crate::pbix::join_pieces(pieces, current));
            if s.connection_details.get(key) != Some(&text) {
                s.connection_details.insert(key.clone(), text);
                s.gateway_id.clear();
                s.datasource_id.clear();
                changed = true;
            }
        }
    }
    changed
}

/// `GET …/datasources`. // documented: 3.7
pub async fn datasources(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let items = w.model.datasets[i].datasources.iter().map(|s| json!({"datasourceType": s.datasource_type,
            "connectionDetails": s.connection_details, "datasourceId": s.datasource_id, "gatewayId": s.gateway_id})).collect();
        Ok(collection(&app.base_url, "datasources", items))
    })
}

/// 400 with a status — used by siblings.
pub fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, "InvalidRequest", msg)
}

/// `PATCH groups/{gid}/datasets/{did}`: owner only; `targetStorageMode` (Abf | PremiumFiles)
/// and `queryScaleOutSettings` are validated and accepted. // documented: 3.2
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = json_body(&headers, &body)?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        if let Some(m) = b.get("targetStorageMode")
            && m.as_str()
                .and_then(|m| crate::util::canon(m, &["Abf", "PremiumFiles"]))
                .is_none()
        {
            return Err(ApiError::invalid(
                "targetStorageMode must be Abf or PremiumFiles",
            ));
        }
        if let Some(n) = b.pointer("/queryScaleOutSettings/maxReadOnlyReplicas")
            && !n.as_i64().is_some_and(|n| (-1..=64).contains(&n))
        {
            return Err(ApiError::invalid(
                "maxReadOnlyReplicas must be -1 (automatic) or 0..64",
            ));
        }
        if let Some(m) = b
            .get("targetStorageMode")
            .and_then(Value::as_str)
            .and_then(|m| crate::util::canon(m, &["Abf", "PremiumFiles"]))
        {
            w.model.datasets[i].target_storage_mode = Some(m.to_string());
        }
        Ok(ok_empty())
    })
}
