//! Gateways: list/get (with publicKey), datasources list/get/create/delete, status, and the
//! credential PATCH with decryption of on-premises credentials. // documented: 5.1-5.7, 8.2 #11

use super::dataset_sources::{gateway_ds_json, gateway_json};
use super::{collection, entity, ok_empty};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::{GatewayDatasource, StoredCredentials};
use crate::util::{canon, eq_ci};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The gateway routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/gateways", get(list))
        .route("/gateways/{gw}", get(get_one))
        .route(
            "/gateways/{gw}/datasources",
            get(datasources).post(create_datasource),
        )
        .route(
            "/gateways/{gw}/datasources/{ds}",
            get(get_datasource)
                .patch(update_datasource)
                .delete(delete_datasource),
        )
        .route("/gateways/{gw}/datasources/{ds}/status", get(status))
        .route(
            "/gateways/{gw}/datasources/{ds}/users",
            get(users).post(add_user),
        )
        .route(
            "/gateways/{gw}/datasources/{ds}/users/{user}",
            axum::routing::delete(delete_user),
        )
}

/// `GET gateways`.
pub async fn list(State(app): State<Arc<App>>, _c: Caller) -> ApiResult {
    let items = app.with(|w| w.model.gateways.iter().map(gateway_json).collect());
    Ok(collection(&app.base_url, "gateways", items))
}

/// `GET gateways/{id}`; a cloud gateway id is not found. // documented: 3.7 (observed), 8.2 #11
pub async fn get_one(State(app): State<Arc<App>>, _c: Caller, Path(gw): Path<String>) -> ApiResult {
    app.with(|w| {
        let g = w
            .model
            .gateways
            .iter()
            .find(|g| eq_ci(&g.id, &gw))
            .ok_or_else(ApiError::not_found)?;
        Ok(entity(&app.base_url, "gateways", gateway_json(g)))
    })
}

/// `GET gateways/{id}/datasources`.
pub async fn datasources(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path(gw): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let g = w
            .model
            .gateways
            .iter()
            .find(|g| eq_ci(&g.id, &gw))
            .ok_or_else(ApiError::not_found)?;
        Ok(collection(
            &app.base_url,
            "gatewayDatasources",
            g.datasources.iter().map(gateway_ds_json).collect(),
        ))
    })
}

/// `GET gateways/{id}/datasources/{ds}`.
pub async fn get_datasource(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let (d, _) = w
            .model
            .gateway_datasource_mut(&gw, &ds)
            .ok_or_else(ApiError::not_found)?;
        Ok(entity(
            &app.base_url,
            "gatewayDatasources",
            gateway_ds_json(d),
        ))
    })
}

/// `DELETE gateways/{id}/datasources/{ds}`.
pub async fn delete_datasource(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let g = w
            .model
            .gateways
            .iter_mut()
            .find(|g| eq_ci(&g.id, &gw))
            .ok_or_else(ApiError::not_found)?;
        let before = g.datasources.len();
        g.datasources.retain(|d| !eq_ci(&d.id, &ds));
        if g.datasources.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(ok_empty())
    })
}

/// `GET …/status`: 200 when valid credentials are set. // documented: 5.7; guess: error code for missing credentials
pub async fn status(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let reachable = w
            .model
            .gateways
            .iter()
            .find(|g| eq_ci(&g.id, &gw))
            .is_none_or(|g| g.reachable);
        let (d, _) = w
            .model
            .gateway_datasource_mut(&gw, &ds)
            .ok_or_else(ApiError::not_found)?;
        if !reachable {
            return Err(ApiError::pbi(
                StatusCode::BAD_REQUEST,
                "DM_GWPipeline_Client_GatewayUnreachable",
            ));
        }
        if d.credentials.is_none() {
            return Err(ApiError::pbi(
                StatusCode::BAD_REQUEST,
                "DM_GWPipeline_Gateway_InvalidConnectionCredentials",
            ));
        }
        Ok(ok_empty())
    })
}

/// Validates `credentialDetails` and returns what to store. `key_pem` is the gateway's key for
/// on-premises sources (None: a cloud source).
fn check_credentials(
    cd: &Map<String, Value>,
    key_pem: Option<&str>,
    caller: &Caller,
) -> Result<StoredCredentials, ApiError> {
    let s = |k: &str| cd.get(k).and_then(Value::as_str);
    let ctype = s("credentialType")
        .and_then(|c| {
            canon(
                c,
                &["Basic", "Windows", "Anonymous", "OAuth2", "Key", "SAS"],
            )
        })
        .ok_or_else(|| {
            ApiError::invalid(
                "credentialType must be one of Basic, Windows, Anonymous, OAuth2, Key, SAS",
            )
        })?;
    let caller_identity = matches!(cd.get("useCallerAADIdentity"), Some(Value::Bool(true)))
        || s("useCallerAADIdentity").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if caller_identity && ctype != "OAuth2" {
        return Err(ApiError::invalid(
            "Specifying UseCallerOAuthIdentity requires credential type to be OAuth2",
        )); // guess: 5.3 trigger
    }
    let alg = s("encryptionAlgorithm")
        .and_then(|a| canon(a, &["None", "RSA-OAEP"]))
        .ok_or_else(|| ApiError::invalid("encryptionAlgorithm must be None or RSA-OAEP"))?;
    let privacy = s("privacyLevel")
        .and_then(|p| canon(p, &["None", "Public", "Organizational", "Private"]))
        .ok_or_else(|| {
            ApiError::invalid("privacyLevel must be None, Public, Organizational or Private")
        })?;
    let enc_conn = s("encryptedConnection")
        .and_then(|p| canon(p, &["Encrypted", "NotEncrypted"]))
        .ok_or_else(|| {
            ApiError::invalid("encryptedConnection must be Encrypted or NotEncrypted")
        })?;
    let want = if key_pem.is_some() {
        "RSA-OAEP"
    } else {
        "None"
    };
    if alg != want {
        // guess: 5.3 — RSA-OAEP for gateway sources, None for cloud sources
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            "DMTS_InvalidEncryptionAlgorithmError",
            format!(
                "encryptionAlgorithm must be {want} for this datasource ({})",
                if key_pem.is_some() {
                    "on-premises gateway: encrypt with the gateway public key"
                } else {
                    "cloud: send plain credentials"
                }
            ),
        ));
    }
    let mut stored = StoredCredentials {
        credential_type: ctype.into(),
        privacy_level: privacy.into(),
        encrypted_connection: enc_conn.into(),
        use_caller_aad_identity: caller_identity,
        set_by: caller.client_id.clone(),
        credentials_json: String::new(),
    };
    if caller_identity {
        return Ok(stored);
    }
    let raw = match cd.get("credentials") {
        Some(Value::String(c)) => c.clone(),
        _ => return Err(ApiError::datasource_delta()), // documented: 5.3 (credentials must be a JSON string)
    };
    let plain = match key_pem {
        Some(pem) => {
            let key = crate::crypto::GatewayKeyPair::from_pkcs8_pem(pem)
                .map_err(|_| ApiError::internal(StatusCode::INTERNAL_SERVER_ERROR))?;
            key.decrypt_credentials(&raw).map_err(|e| {
                ApiError::invalid(format!(
                    "The credentials do not decrypt with the gateway key: {e}"
                ))
            })?
        }
        None => raw,
    };
    let parsed: Value = serde_json::from_str(&plain).map_err(|_| {
        ApiError::invalid("The credentials are not valid JSON {\"credentialData\": ...}")
    })?;
    let data = parsed
        .get("credentialData")
        .ok_or_else(|| ApiError::invalid("The credentials JSON has no 'credentialData'"))?;
    let names: Vec<&str> = data
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let needs: &[&str] = match ctype {
        "Basic" | "Windows" => &["username", "password"],
        "Key" => &["key"],
        "OAuth2" => &["accessToken"],
        "SAS" => &["token"],
        _ => &[],
    };
    if let Some(missing) = needs.iter().find(|n| !names.contains(n)) {
        return Err(ApiError::invalid(format!(
            "{ctype} credentials need a credentialData entry named '{missing}'"
        )));
    }
    stored.credentials_json = plain;
    Ok(stored)
}

/// `PATCH gateways/{gw}/datasources/{ds}` `{"credentialDetails": {...}}`. // documented: 5.3
pub async fn update_datasource(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gw, ds)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let parsed: Option<Value> = if crate::util::is_json(&headers) {
        serde_json::from_slice(&body).ok()
    } else {
        None
    };
    let cd = parsed
        .as_ref()
        .and_then(|v| v.get("credentialDetails"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(ApiError::datasource_delta)?;
    app.with(|w| {
        let key = w
            .model
            .gateways
            .iter()
            .find(|g| eq_ci(&g.id, &gw))
            .map(|g| g.private_key_pem.clone());
        // documented: 5.3 — cloud sources: the caller must own a dataset using the datasource
        let owner_ok = key.is_some()
            || w.model.datasets.iter().any(|d| {
                caller.is(&d.owner_object_id)
                    && d.datasources.iter().any(|s| eq_ci(&s.datasource_id, &ds))
            });
        let (d, _) = w
            .model
            .gateway_datasource_mut(&gw, &ds)
            .ok_or_else(ApiError::not_found)?;
        if !owner_ok {
            return Err(ApiError::not_authorized());
        }
        let stored = check_credentials(&cd, key.as_deref(), &caller)?;
        d.credential_type = Some(stored.credential_type.clone());
        d.credentials = Some(stored);
        Ok(ok_empty())
    })
}

/// `POST gateways/{gw}/datasources`: encrypted credentials required, OAuth2 refused. // documented: 5.5
pub async fn create_datasource(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = crate::util::json_body(&headers, &body)?;
    let get_ci = |k: &str| {
        b.as_object().and_then(|o| {
            o.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        })
    };
    let ds_type = get_ci("dataSourceType")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| ApiError::invalid("dataSourceType is required"))?;
    let details_str = get_ci("connectionDetails").and_then(|v| v.as_str().map(str::to_string)).ok_or_else(|| ApiError::invalid("connectionDetails must be a JSON string, e.g. \"{\\\"server\\\":\\\"MyServer\\\",\\\"database\\\":\\\"MyDatabase\\\"}\""))?;
    let details: Map<String, Value> = serde_json::from_str(&details_str)
        .map_err(|_| ApiError::invalid("connectionDetails is not a JSON object string"))?;
    let name = get_ci("dataSourceName")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let cd = get_ci("credentialDetails")
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| ApiError::invalid("credentialDetails is required"))?;
    if cd
        .get("credentialType")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("OAuth2"))
    {
        return Err(ApiError::invalid(
            "OAuth2 credentials are not supported for gateway datasources",
        ));
    }
    if !cd
        .get("encryptedConnection")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("Encrypted"))
    {
        return Err(ApiError::invalid(
            "Create Datasource requires encryptedConnection Encrypted",
        ));
    }
    app.with(|w| {
        let g = w.model.gateways.iter().find(|g| eq_ci(&g.id, &gw)).ok_or_else(ApiError::not_found)?;
        let stored = check_credentials(&cd, Some(&g.private_key_pem), &caller)?;
        let gid = g.id.clone();
        let id = w.new_id();
        let ds = GatewayDatasource { id, gateway_id: gid.clone(), datasource_name: name, datasource_type: ds_type,
            connection_details: details, credential_type: Some(stored.credential_type.clone()), credentials: Some(stored),
            users: vec![json!({"datasourceAccessRight": "Read", "identifier": caller.object_id, "principalType": caller.principal_type})] };
        let v = gateway_ds_json(&ds);
        if let Some(g) = w.model.gateways.iter_mut().find(|g| g.id == gid) { g.datasources.push(ds); }
        Ok((StatusCode::CREATED, axum::Json(v)).into_response())
    })
}

/// `GET gateways/{gw}/datasources/{ds}/users`. // documented: 5.8
pub async fn users(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let (d, _) = w
            .model
            .gateway_datasource_mut(&gw, &ds)
            .ok_or_else(ApiError::not_found)?;
        Ok(collection(
            &app.base_url,
            "datasourceUsers",
            d.users.clone(),
        ))
    })
}

/// `POST gateways/{gw}/datasources/{ds}/users`: grant or update. // documented: 5.8
pub async fn add_user(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: Value = crate::util::json_body(&headers, &body)?;
    let s = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let identifier = s("identifier")
        .or(s("emailAddress"))
        .ok_or_else(|| ApiError::invalid("Send 'identifier' (object id) or 'emailAddress'"))?;
    let right = s("datasourceAccessRight")
        .as_deref()
        .and_then(|r| canon(r, &["None", "Read", "ReadOverrideEffectiveIdentity"]))
        .ok_or_else(|| {
            ApiError::invalid(
                "datasourceAccessRight must be Read, ReadOverrideEffectiveIdentity or None",
            )
        })?;
    let ptype = s("principalType").unwrap_or_else(|| "User".into());
    if ptype.eq_ignore_ascii_case("Group") {
        return Err(ApiError::invalid(
            "Adding groups to a gateway datasource is not supported through the API",
        )); // documented: 5.8
    }
    app.with(|w| {
        let (d, _) = w.model.gateway_datasource_mut(&gw, &ds).ok_or_else(ApiError::not_found)?;
        d.users.retain(|u| !u.get("identifier").and_then(Value::as_str).is_some_and(|i| eq_ci(i, &identifier)));
        if right != "None" {
            let mut u = json!({"identifier": identifier, "datasourceAccessRight": right, "principalType": ptype});
            if let Some(e) = s("emailAddress") { u["emailAddress"] = json!(e); }
            d.users.push(u);
        }
        Ok(ok_empty())
    })
}

/// `DELETE gateways/{gw}/datasources/{ds}/users/{user}`. // documented: 5.8
pub async fn delete_user(
    State(app): State<Arc<App>>,
    _c: Caller,
    Path((gw, ds, user)): Path<(String, String, String)>,
) -> ApiResult {
    app.with(|w| {
        let (d, _) = w
            .model
            .gateway_datasource_mut(&gw, &ds)
            .ok_or_else(ApiError::not_found)?;
        let before = d.users.len();
        d.users.retain(|u| {
            !u.get("identifier")
                .and_then(Value::as_str)
                .is_some_and(|i| eq_ci(i, &user))
        });
        if d.users.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(ok_empty())
    })
}
