//! Dataset connection operations: UpdateDatasources, SetAllConnections, bound gateway
//! datasources, DiscoverGateways, BindToGateway. // documented: 3.8-3.12

use super::datasets::{find, is_on_prem, require_owner};
use super::{Role, collection, ok_empty};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::cloud::{bind_cloud, same_details};
use crate::util::{eq_ci, json_body};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSources {
    #[serde(default)]
    update_details: Vec<SourceUpdate>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceUpdate {
    datasource_selector: Option<Selector>,
    #[serde(default)]
    connection_details: Map<String, Value>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    #[serde(default)]
    datasource_type: String,
    #[serde(default)]
    connection_details: Map<String, Value>,
}

/// Connection-detail keys each supported type takes. // documented: 3.7-3.8
fn allowed_keys(ty: &str) -> Option<&'static [&'static str]> {
    match ty.to_ascii_lowercase().as_str() {
        "sql" | "analysisservices" | "teradata" | "saphana" => Some(&["server", "database"]),
        "odata" | "sharepointlist" => Some(&["url"]),
        _ => None,
    }
}

/// `POST …/Default.UpdateDatasources` with exact-match selectors. // documented: 3.8, 8.2 #7
pub async fn update_datasources(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: UpdateSources = json_body(&headers, &body)?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        if b.update_details.is_empty() {
            return Err(ApiError::invalid("updateDetails must list at least one datasource update"));
        }
        let sources = w.model.datasets[i].datasources.clone();
        let mut changes = Vec::new();
        for (n, u) in b.update_details.iter().enumerate() {
            let n = n + 1;
            let target = match &u.datasource_selector {
                None if sources.len() == 1 => 0,
                None => return Err(ApiError::invalid(format!("datasourceSelector is mandatory for selector #{n}: the dataset has more than one datasource"))),
                Some(sel) => sources.iter().position(|s| eq_ci(&s.datasource_type, &sel.datasource_type) && same_details(&s.connection_details, &sel.connection_details))
                    .ok_or_else(|| ApiError::invalid(format!("Dataset doesn't contain a datasource that matches selector #{n}")))?,
            };
            let ty = &sources[target].datasource_type;
            let Some(keys) = allowed_keys(ty) else {
                return Err(ApiError::invalid(format!("Operation is not supported for selector #{n}")));
            };
            if u.connection_details.is_empty() || u.connection_details.keys().any(|k| !keys.contains(&k.to_ascii_lowercase().as_str()))
                || u.connection_details.values().any(|v| !v.is_string()) {
                return Err(ApiError::invalid(format!("The given connection details for selector #{n} are invalid")));
            }
            let mut cd = sources[target].connection_details.clone();
            for (k, v) in &u.connection_details {
                cd.insert(k.to_ascii_lowercase(), v.clone());
            }
            changes.push((target, cd));
        }
        for (t, cd) in changes {
            // guess: 8.2 #7 — a re-pointed source is a new datasource without credentials
            let s = &mut w.model.datasets[i].datasources[t];
            s.connection_details = cd;
            s.gateway_id.clear();
            s.datasource_id.clear();
            // guess: the new details are written into the M as literals, so a later
            // parameter change no longer moves this source.
            s.parameter_details.clear();
        }
        w.model.datasets[i].pending_refresh = true;
        bind_cloud(w, i);
        Ok(ok_empty())
    })
}

/// `POST …/Default.SetAllConnections`: deprecated; refused for every dataset the emulator
/// models (all current PBIX have enhanced metadata). // documented: 3.9
pub async fn set_all_connections(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        Err(ApiError::invalid(
            "Invalid dataset. This API can only be called on a DirectQuery dataset",
        ))
    })
}

/// The wire view of a gateway datasource (`connectionDetails` as a JSON string).
pub fn gateway_ds_json(d: &crate::model::GatewayDatasource) -> Value {
    let mut v = json!({"id": d.id, "gatewayId": d.gateway_id, "datasourceType": d.datasource_type,
        "connectionDetails": Value::Object(d.connection_details.clone()).to_string(),
        "datasourceName": d.datasource_name});
    if let Some(c) = &d.credential_type {
        v["credentialType"] = json!(c);
    }
    v
}

/// `GET …/Default.GetBoundGatewayDatasources`: the datasources bound to real gateways. // documented: 3.10
pub async fn bound_gateway_datasources(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let mut items = Vec::new();
        for s in &w.model.datasets[i].datasources {
            if let Some(g) = w
                .model
                .gateways
                .iter()
                .find(|g| eq_ci(&g.id, &s.gateway_id))
                && let Some(d) = g
                    .datasources
                    .iter()
                    .find(|d| eq_ci(&d.id, &s.datasource_id))
            {
                items.push(gateway_ds_json(d));
            }
        }
        Ok(collection(&app.base_url, "gatewayDatasources", items))
    })
}

/// The wire view of a gateway.
pub fn gateway_json(g: &crate::model::Gateway) -> Value {
    let (exponent, modulus) = crate::crypto::GatewayKeyPair::from_pkcs8_pem(&g.private_key_pem)
        .map(|k| (k.exponent_base64(), k.modulus_base64()))
        .unwrap_or_default();
    json!({"id": g.id, "name": g.name, "type": "Resource", "gatewayStatus": if g.reachable { "Live" } else { "Offline" },
        "gatewayAnnotation": "{\"gatewayContactInformation\":[],\"gatewayVersion\":\"3000.0.0\",\"gatewayMachine\":\"EMULATOR\"}",
        "publicKey": {"exponent": exponent, "modulus": modulus}})
}

/// `GET …/Default.DiscoverGateways`: gateways holding a matching datasource; when none
/// matches and the dataset needs a gateway, every gateway. // documented: 3.11; guess: matching rule
pub async fn discover_gateways(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let sources = &w.model.datasets[i].datasources;
        let matching: Vec<Value> = w
            .model
            .gateways
            .iter()
            .filter(|g| {
                g.datasources.iter().any(|gd| {
                    sources.iter().any(|s| {
                        eq_ci(&s.datasource_type, &gd.datasource_type)
                            && same_details(&s.connection_details, &gd.connection_details)
                    })
                })
            })
            .map(gateway_json)
            .collect();
        let items = if matching.is_empty()
            && sources
                .iter()
                .any(|s| is_on_prem(&s.datasource_type, &s.connection_details))
        {
            w.model.gateways.iter().map(gateway_json).collect()
        } else {
            matching
        };
        Ok(collection(&app.base_url, "gateways", items))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindBody {
    gateway_object_id: Option<String>,
    #[serde(default)]
    datasource_object_ids: Vec<String>,
}

/// `POST …/Default.BindToGateway`: every datasource must match a datasource of the gateway
/// (restricted to `datasourceObjectIds` when given). // documented: 3.12; guess: 400 when one doesn't match
pub async fn bind_to_gateway(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: BindBody = json_body(&headers, &body)?;
    let gw_id = b
        .gateway_object_id
        .ok_or_else(|| ApiError::invalid("gatewayObjectId is required"))?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        let gw = w.model.gateways.iter().find(|g| eq_ci(&g.id, &gw_id)).ok_or_else(ApiError::not_found)?;
        // guess: 3.12 — an on-premises source needs a match on the gateway (400 otherwise); a
        // cloud source moves to the gateway when it has a match there, else keeps its cloud
        // credentials (the service lets a dataset mix gateway and cloud connections); a bind
        // that maps nothing is a 400.
        let mut binds = Vec::new();
        for (n, s) in w.model.datasets[i].datasources.iter().enumerate() {
            let found = gw.datasources.iter().filter(|d| b.datasource_object_ids.is_empty() || b.datasource_object_ids.iter().any(|x| eq_ci(x, &d.id)))
                .find(|d| eq_ci(&d.datasource_type, &s.datasource_type) && same_details(&d.connection_details, &s.connection_details));
            match found {
                Some(d) => binds.push((n, d.id.clone())),
                None if !is_on_prem(&s.datasource_type, &s.connection_details) => {}
                None => return Err(ApiError::invalid(format!("Gateway {} has no datasource matching {} {}; create it with POST gateways/{{id}}/datasources first",
                    gw.name, s.datasource_type, Value::Object(s.connection_details.clone())))),
            }
        }
        if binds.is_empty() {
            return Err(ApiError::invalid(format!(
                "Gateway {} has no datasource matching any datasource of the dataset; create one with POST gateways/{{id}}/datasources first",
                gw.name
            )));
        }
        let gwid = gw.id.clone();
        let d = &mut w.model.datasets[i];
        for (n, id) in binds {
            d.datasources[n].gateway_id = gwid.clone();
            d.datasources[n].datasource_id = id;
        }
        d.bound_gateway_id = Some(gwid);
        Ok(ok_empty())
    })
}
