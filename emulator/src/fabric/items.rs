//! Workspaces and items: get workspace, list items (paged with a continuation token), get
//! one, create (through an operation), delete.

use super::definition::{Kind, parse_definition};
use super::error::{FabricError, FabricResult};
use super::state::{CreateWork, HeldName, Work};
use super::{answer, body_json, require};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::routes::Role;
use crate::util::{eq_ci, now_ms};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// An item as the list answers it. // trace: `{id, type, displayName, description, workspaceId}`
#[derive(Debug, Clone)]
pub struct ItemRef {
    /// Id (the dataset or report id).
    pub id: String,
    /// `SemanticModel` or `Report`.
    pub kind: Kind,
    /// Display name.
    pub name: String,
    /// Workspace id.
    pub workspace_id: String,
}

impl ItemRef {
    /// The wire form.
    pub fn json(&self, w: &World) -> Value {
        let description = w
            .model
            .fabric
            .descriptions
            .get(&self.id.to_lowercase())
            .cloned()
            .unwrap_or_default();
        json!({"id": self.id, "type": self.kind.name(), "displayName": self.name,
            "description": description, "workspaceId": self.workspace_id})
    }
}

/// Every semantic model (dataset) and report of a workspace, in creation order.
pub fn items_of(w: &World, ws: &str) -> Vec<ItemRef> {
    let m = &w.model;
    let models = m
        .datasets
        .iter()
        .filter(|d| d.group_id == ws)
        .map(|d| ItemRef {
            id: d.id.clone(),
            kind: Kind::SemanticModel,
            name: d.name.clone(),
            workspace_id: d.group_id.clone(),
        });
    let reports = m
        .reports
        .iter()
        .filter(|r| r.group_id == ws)
        .map(|r| ItemRef {
            id: r.id.clone(),
            kind: Kind::Report,
            name: r.name.clone(),
            workspace_id: r.group_id.clone(),
        });
    models.chain(reports).collect()
}

/// One item of a workspace by id.
pub fn find_item(w: &World, ws: &str, id: &str) -> Result<ItemRef, FabricError> {
    items_of(w, ws)
        .into_iter()
        .find(|i| eq_ci(&i.id, id))
        .ok_or_else(FabricError::item_not_found)
}

/// `GET /v1/workspaces/{ws}`. // trace: keys of the recorded answer
pub async fn workspace(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(ws): Path<String>,
) -> FabricResult {
    app.with(|w| {
        let id = require(&w.model, &ws, &caller, Role::Viewer)?;
        let g = w.model.group(&id).ok_or_else(FabricError::workspace_not_found)?;
        let mut v = json!({"id": g.id, "displayName": g.name, "description": "", "type": "Workspace"});
        if let Some(cap) = &g.capacity_id {
            let region = w.model.tenant.capacities.iter().find(|c| eq_ci(&c.id, cap))
                .map(|c| c.region.clone()).unwrap_or_default();
            v["capacityId"] = json!(cap);
            v["capacityRegion"] = json!(region);
            // guess: endpoints of the emulator itself; nothing behind them
            v["oneLakeEndpoints"] = json!({"blobEndpoint": format!("{}/_onelake/blob", app.base_url),
                "dfsEndpoint": format!("{}/_onelake/dfs", app.base_url)});
            v["capacityAssignmentProgress"] = json!("Completed");
        }
        Ok(answer(StatusCode::OK, Some(v)))
    })
}

/// `GET /v1/workspaces/{ws}/items[?type=][&continuationToken=]`: pages of `itemsPageSize`
/// items with `continuationToken` and `continuationUri` while more remain. // documented:
/// Fabric REST API, List Items (continuation); guess: the token is an opaque offset
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(ws): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> FabricResult {
    let offset = match q.get("continuationToken") {
        None => 0,
        Some(t) => decode_token(t)?,
    };
    app.with(|w| {
        let id = require(&w.model, &ws, &caller, Role::Viewer)?;
        let all: Vec<ItemRef> = items_of(w, &id)
            .into_iter()
            .filter(|i| q.get("type").is_none_or(|t| eq_ci(t, i.kind.name())))
            .collect();
        // guess: the service's page size is not documented; 100 by default
        let size = match w.knobs.items_page_size {
            0 => 100,
            n => n,
        };
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(size)
            .map(|i| i.json(w))
            .collect();
        let mut body = json!({"value": page});
        if offset + size < all.len() {
            let token = encode_token(offset + size);
            let mut uri = format!(
                "{}/v1/workspaces/{id}/items?continuationToken={token}",
                app.base_url
            );
            if let Some(t) = q.get("type") {
                uri.push_str(&format!("&type={t}"));
            }
            body["continuationToken"] = json!(token);
            body["continuationUri"] = json!(uri);
        }
        Ok(answer(StatusCode::OK, Some(body)))
    })
}

fn encode_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Result<usize, FabricError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            FabricError::bad(
                "InvalidContinuationToken",
                "The continuation token is not valid",
            ) // guess: code
        })
}

/// `GET /v1/workspaces/{ws}/items/{id}`.
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((ws, id)): Path<(String, String)>,
) -> FabricResult {
    app.with(|w| {
        let ws = require(&w.model, &ws, &caller, Role::Viewer)?;
        let item = find_item(w, &ws, &id)?;
        Ok(answer(StatusCode::OK, Some(item.json(w))))
    })
}

/// `POST /v1/workspaces/{ws}/items` `{displayName, type, description?, folderId?, definition}`:
/// 201 with the item (synchronous mode) or 202 and an operation. Shape errors answer at once;
/// content errors (missing parts, `byPath`) fail the operation. // trace: 202 + Location,
/// x-ms-operation-id, Retry-After; documented: Fabric REST API, Create Item
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(ws): Path<String>,
    body: Bytes,
) -> FabricResult {
    let body = body_json(&body)?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() || name.chars().count() > 256 {
        // documented: displayName is required, at most 256 characters; guess: code
        return Err(FabricError::bad(
            "InvalidInput",
            "displayName is required and at most 256 characters long",
        ));
    }
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(Kind::parse)
        .ok_or_else(|| {
            FabricError::bad(
                "UnsupportedItemType",
                "The emulator serves the item types SemanticModel and Report",
            ) // guess: code
        })?;
    let definition = body.get("definition").ok_or_else(|| {
        // documented: semantic models and reports are created from a definition
        FabricError::bad(
            "InvalidInput",
            format!(
                "A {} is created with a definition: send definition.parts",
                kind.name()
            ),
        )
    })?;
    let definition = parse_definition(definition)?;
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = name.to_string();
    app.with(|w| {
        let ws = require(&w.model, &ws, &caller, Role::Contributor)?;
        name_available(w, &ws, kind, &name)?;
        let work = CreateWork {
            workspace_id: ws.clone(),
            item_type: kind.name().into(),
            display_name: name,
            description,
            definition,
            owner: (caller.client_id.clone(), caller.object_id.clone()),
        };
        Ok(super::operations::start(
            w,
            &app.base_url,
            &ws,
            Work::Create(work),
        ))
    })
}

/// A new item's name must be free: not used by an item of the same type, not being created
/// by a running operation, not held after a delete. // guess: 400 `ItemDisplayNameAlreadyInUse`
/// (seen handled as 400 in public scripts), 409 `ItemDisplayNameNotAvailableYet` (measured
/// by a public client's notes: "Requested 'X' is not available yet and is expected to become
/// available in the upcoming minutes.")
fn name_available(w: &World, ws: &str, kind: Kind, name: &str) -> Result<(), FabricError> {
    let used = items_of(w, ws)
        .iter()
        .any(|i| i.kind == kind && eq_ci(&i.name, name))
        || w.model.fabric.operations.iter().any(|o| {
            matches!(&o.work, Some(Work::Create(c)) if c.workspace_id == ws
                && c.item_type == kind.name() && eq_ci(&c.display_name, name))
        });
    if used {
        return Err(FabricError::bad(
            "ItemDisplayNameAlreadyInUse",
            format!("Requested '{name}' is already in use"),
        ));
    }
    let now = now_ms();
    let held = w.model.fabric.held_names.iter().any(|h| {
        h.workspace_id == ws
            && h.item_type == kind.name()
            && h.name == name.to_lowercase()
            && h.until_ms > now
    });
    if held {
        return Err(FabricError::new(
            StatusCode::CONFLICT,
            "ItemDisplayNameNotAvailableYet",
            format!(
                "Requested '{name}' is not available yet and is expected to become available in the upcoming minutes."
            ),
        ));
    }
    Ok(())
}

/// `DELETE /v1/workspaces/{ws}/items/{id}[?hardDelete=true]`: 200. A semantic model takes its
/// reports with it, as in Power BI. // documented: Fabric REST API, Delete Item; guess: the recycle bin
/// (soft delete) is not modelled, both forms delete
pub async fn delete(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((ws, id)): Path<(String, String)>,
) -> FabricResult {
    app.with(|w| {
        let ws = require(&w.model, &ws, &caller, Role::Contributor)?;
        let item = find_item(w, &ws, &id)?;
        let hold = w.knobs.name_hold_ms;
        let mut gone = vec![item.clone()];
        if item.kind == Kind::SemanticModel {
            // Its reports go too, in whatever workspace they live (as in Power BI).
            gone.extend(
                w.model
                    .reports
                    .iter()
                    .filter(|r| eq_ci(&r.dataset_id, &item.id))
                    .map(|r| ItemRef {
                        id: r.id.clone(),
                        kind: Kind::Report,
                        name: r.name.clone(),
                        workspace_id: r.group_id.clone(),
                    }),
            );
            w.model.datasets.retain(|d| d.id != item.id);
        }
        let now = now_ms();
        for g in gone {
            w.model.reports.retain(|r| r.id != g.id);
            let key = g.id.to_lowercase();
            w.model.fabric.definitions.remove(&key);
            w.model.fabric.descriptions.remove(&key);
            if hold > 0 {
                w.model.fabric.held_names.push(HeldName {
                    workspace_id: g.workspace_id.clone(),
                    item_type: g.kind.name().into(),
                    name: g.name.to_lowercase(),
                    until_ms: now + hold,
                });
            }
        }
        w.model.fabric.held_names.retain(|h| h.until_ms > now);
        Ok(answer(StatusCode::OK, None))
    })
}
