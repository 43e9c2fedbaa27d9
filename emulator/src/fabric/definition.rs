//! Item definitions: parsing the `{parts}` envelope, the required-part and binding rules of
//! semantic models and reports, updateDefinition and getDefinition, and what a completed
//! create or update does to the Power BI side of the model.

use super::error::{FabricError, FabricResult};
use super::items::find_item;
use super::state::{CreateWork, StoredDefinition, StoredPart, UpdateWork, Work};
use super::{answer, body_json, require};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::model::{Dataset, Report};
use crate::routes::Role;
use crate::util::{eq_ci, now_ms};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The item types the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A semantic model (a Power BI dataset).
    SemanticModel,
    /// A report.
    Report,
}

impl Kind {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SemanticModel => "SemanticModel",
            Self::Report => "Report",
        }
    }
    /// Parses a wire name. // guess: case-insensitive, like the Power BI API's enums
    pub fn parse(s: &str) -> Option<Self> {
        [Self::SemanticModel, Self::Report]
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
    }
}

/// Most parts a definition may have, and most bytes in all. // guess: bounds of the emulator
const MAX_PARTS: usize = 10_000;

/// Parses `{format?, parts: [{path, payload, payloadType: "InlineBase64"}]}`; anything else is
/// 400 `InvalidDefinitionFormat` at once. // documented: Fabric REST API, item definition (part shape); guess: code
pub fn parse_definition(v: &Value) -> Result<StoredDefinition, FabricError> {
    let bad = |m: String| FabricError::bad("InvalidDefinitionFormat", m);
    let parts = v.get("parts").and_then(Value::as_array).ok_or_else(|| {
        bad("definition.parts must be an array of {path, payload, payloadType}".into())
    })?;
    if parts.len() > MAX_PARTS {
        return Err(bad(format!("A definition has at most {MAX_PARTS} parts")));
    }
    let mut out = Vec::with_capacity(parts.len());
    for (n, p) in parts.iter().enumerate() {
        let path = p.get("path").and_then(Value::as_str).unwrap_or("");
        let payload = p.get("payload").and_then(Value::as_str).unwrap_or("");
        let kind = p.get("payloadType").and_then(Value::as_str).unwrap_or("");
        if path.is_empty()
            || path.starts_with('/')
            || path.split('/').any(|s| s == ".." || s.is_empty())
        {
            return Err(bad(format!(
                "parts[{n}].path '{path}' must be a relative path with '/' separators"
            )));
        }
        if !kind.eq_ignore_ascii_case("InlineBase64") {
            return Err(bad(format!(
                "parts[{n}] ({path}): payloadType must be InlineBase64"
            )));
        }
        if base64::engine::general_purpose::STANDARD
            .decode(payload)
            .is_err()
        {
            return Err(bad(format!(
                "parts[{n}] ({path}): payload is not valid base64"
            )));
        }
        if out
            .iter()
            .any(|q: &StoredPart| q.path.eq_ignore_ascii_case(path))
        {
            return Err(bad(format!("parts[{n}]: the path '{path}' appears twice")));
        }
        out.push(StoredPart {
            path: path.into(),
            payload: payload.into(),
        });
    }
    Ok(StoredDefinition {
        format: v.get("format").and_then(Value::as_str).map(str::to_string),
        parts: out,
    })
}

/// The decoded bytes of a part (parts were checked on arrival).
pub fn part(def: &StoredDefinition, path: &str) -> Option<Vec<u8>> {
    def.parts
        .iter()
        .find(|p| p.path.eq_ignore_ascii_case(path))
        .and_then(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(&p.payload)
                .ok()
        })
}

/// A content error: the operation fails with it. // documented: public reports of
/// `Workload_FailedToParseFile` ("Cannot read 'definition.pbir'…") as an operation error
fn unreadable(file: &str, why: &str) -> FabricError {
    FabricError::bad(
        "Workload_FailedToParseFile",
        format!("Cannot read '{file}'. {why}"),
    )
}

/// Required parts of a report: `definition.pbir` and either `report.json` (PBIR-Legacy) or
/// `definition/report.json`, `definition/version.json` and at least one page (PBIR).
/// documented: Fabric REST API, report definition; public reports of "Definition contains no pages"
pub fn check_report_parts(def: &StoredDefinition) -> Result<(), FabricError> {
    let has = |p: &str| def.parts.iter().any(|x| x.path.eq_ignore_ascii_case(p));
    if !has("definition.pbir") {
        return Err(unreadable(
            "definition.pbir",
            "A report definition needs definition.pbir.",
        ));
    }
    let pages = def.parts.iter().any(|p| {
        let l = p.path.to_lowercase();
        l.starts_with("definition/pages/") && l.ends_with("/page.json")
    });
    let pbir = has("definition/report.json") && has("definition/version.json");
    if has("report.json") || (pbir && pages) {
        return Ok(());
    }
    if pbir {
        return Err(FabricError::bad(
            "Report_Import_FailedToImportReport",
            "Error while reading ReportDefinition. Definition contains no pages.",
        ));
    }
    Err(unreadable(
        "report.json",
        "A report needs report.json (PBIR-Legacy) or definition/report.json and definition/version.json (PBIR).",
    ))
}

/// The semantic model a report's `definition.pbir` binds to: `byConnection` only, by the
/// `semanticmodelid=` of the 2.0.0 connection string or the 1.0.0 `pbiModelDatabaseName`.
/// A `byPath` reference is refused. // documented: Fabric REST API, report definition (only
/// `byConnection` is accepted); guess: the refusal's code and wording
pub fn report_target(def: &StoredDefinition) -> Result<String, FabricError> {
    let bytes = part(def, "definition.pbir").unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| unreadable("definition.pbir", &format!("It is not valid JSON: {e}.")))?;
    let r = v.get("datasetReference").cloned().unwrap_or(Value::Null);
    let by_conn = r.get("byConnection").filter(|c| !c.is_null());
    let Some(c) = by_conn else {
        if r.get("byPath").is_some_and(|p| !p.is_null()) {
            return Err(unreadable(
                "definition.pbir",
                "datasetReference.byPath is not supported by the items API: rewrite it to byConnection with the deployed semantic model's id.",
            ));
        }
        return Err(unreadable(
            "definition.pbir",
            "Either byPath or byConnection must be populated in 'definition.pbir'.",
        ));
    };
    let from_cs = c
        .get("connectionString")
        .and_then(Value::as_str)
        .and_then(|cs| {
            cs.split(';').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("semanticmodelid")
                    .then(|| v.trim().to_string())
            })
        });
    let id = from_cs.or_else(|| {
        c.get("pbiModelDatabaseName")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    id.filter(|s| !s.is_empty()).ok_or_else(|| {
        unreadable("definition.pbir", "byConnection names no semantic model (semanticmodelid= in connectionString, or pbiModelDatabaseName).")
    })
}

/// Runs a completed create: the dataset or report appears in the Power BI model.
pub fn complete_create(w: &mut World, c: CreateWork) -> Result<Value, FabricError> {
    let kind = Kind::parse(&c.item_type)
        .ok_or_else(|| FabricError::bad("UnsupportedItemType", "unknown item type"))?;
    let id = match kind {
        Kind::SemanticModel => {
            let view = super::semantic::derive(&c.definition)?;
            let id = w.new_id();
            w.model.datasets.push(Dataset {
                id: id.clone(),
                name: c.display_name.clone(),
                group_id: c.workspace_id.clone(),
                configured_by: c.owner.0.clone(),
                owner_object_id: c.owner.1.clone(),
                created_ms: now_ms(),
                ..Dataset::default()
            });
            let idx = w.model.datasets.len() - 1;
            view.apply(w, idx);
            id
        }
        Kind::Report => {
            check_report_parts(&c.definition)?;
            let target = report_target(&c.definition)?;
            let (ds_id, ds_ws) = dataset_location(w, &target)?;
            let id = w.new_id();
            w.model.reports.push(Report {
                id: id.clone(),
                name: c.display_name.clone(),
                group_id: c.workspace_id.clone(),
                dataset_id: ds_id,
                dataset_workspace_id: ds_ws,
            });
            id
        }
    };
    let key = id.to_lowercase();
    w.model.fabric.definitions.insert(key.clone(), c.definition);
    w.model
        .fabric
        .descriptions
        .insert(key, c.description.clone());
    Ok(
        json!({"id": id, "type": kind.name(), "displayName": c.display_name,
        "description": c.description, "workspaceId": c.workspace_id}),
    )
}

/// The dataset a report binds to, anywhere in the tenant. // guess: code and wording
fn dataset_location(w: &World, id: &str) -> Result<(String, String), FabricError> {
    w.model
        .datasets
        .iter()
        .find(|d| eq_ci(&d.id, id))
        .map(|d| (d.id.clone(), d.group_id.clone()))
        .ok_or_else(|| {
            FabricError::bad(
                "Report_Import_FailedToImportReport",
                format!("The semantic model {id} that definition.pbir binds to does not exist."),
            )
        })
}

/// Runs a completed updateDefinition. A model's update that drops a table or a column of an
/// Import table fails with `Alm_InvalidRequest_PurgeRequired`. // documented:
/// Fabric REST API, Update Item Definition; message from public reports ("Dataset <id> changes will cause data
/// deletion."); guess: a model imported from a PBIX (no stored definition) is not checked
pub fn complete_update(w: &mut World, u: UpdateWork) -> Result<Value, FabricError> {
    let item = find_item(w, &u.workspace_id, &u.item_id)?;
    let key = item.id.to_lowercase();
    match item.kind {
        Kind::SemanticModel => {
            let view = super::semantic::derive(&u.definition)?;
            if let Some(old) = w.model.fabric.definitions.get(&key)
                && let Ok(old) = super::semantic::derive(old)
                && old.loses_data(&view)
            {
                return Err(FabricError::bad(
                    "Alm_InvalidRequest_PurgeRequired",
                    format!("Dataset {} changes will cause data deletion.", item.id),
                ));
            }
            let idx = w
                .model
                .datasets
                .iter()
                .position(|d| d.id == item.id)
                .ok_or_else(FabricError::item_not_found)?;
            view.apply(w, idx);
        }
        Kind::Report => {
            check_report_parts(&u.definition)?;
            let target = report_target(&u.definition)?;
            let (ds_id, ds_ws) = dataset_location(w, &target)?;
            if let Some(r) = w.model.reports.iter_mut().find(|r| r.id == item.id) {
                r.dataset_id = ds_id;
                r.dataset_workspace_id = ds_ws;
            }
        }
    }
    if u.update_metadata {
        rename_from_platform(w, &item.id, &u.definition);
    }
    w.model.fabric.definitions.insert(key, u.definition);
    Ok(Value::Null)
}

/// `updateMetadata=true` with a `.platform` part: display name and description from its
/// `metadata`. // documented: Fabric docs (updateMetadata)
fn rename_from_platform(w: &mut World, id: &str, def: &StoredDefinition) {
    let Some(meta) = part(def, ".platform")
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("metadata").cloned())
    else {
        return;
    };
    if let Some(name) = meta
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    {
        if let Some(d) = w.model.datasets.iter_mut().find(|d| d.id == id) {
            d.name = name.into();
        }
        if let Some(r) = w.model.reports.iter_mut().find(|r| r.id == id) {
            r.name = name.into();
        }
    }
    if let Some(desc) = meta.get("description").and_then(Value::as_str) {
        w.model
            .fabric
            .descriptions
            .insert(id.to_lowercase(), desc.into());
    }
}

/// `POST …/items/{id}/updateDefinition[?updateMetadata=true]` `{definition}`: 200 (synchronous
/// mode) or 202 and an operation. // documented: Fabric REST API, Update Item Definition
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((ws, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> FabricResult {
    let body = body_json(&body)?;
    let def = body.get("definition").ok_or_else(|| {
        FabricError::bad(
            "InvalidInput",
            "updateDefinition needs {\"definition\": {\"parts\": [...]}}",
        )
    })?;
    let definition = parse_definition(def)?;
    let update_metadata = q
        .get("updateMetadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    app.with(|w| {
        let ws = require(&w.model, &ws, &caller, Role::Contributor)?;
        let item = find_item(w, &ws, &id)?;
        let work = UpdateWork {
            workspace_id: ws.clone(),
            item_id: item.id,
            definition,
            update_metadata,
        };
        Ok(super::operations::start(
            w,
            &app.base_url,
            &ws,
            Work::Update(work),
        ))
    })
}

/// `POST …/items/{id}/getDefinition`: 200 `{definition}` (synchronous mode) or 202 and an
/// operation whose result is the definition. An item with no stored definition (imported from
/// a PBIX) cannot be exported by the emulator. // documented: Fabric REST API, Get Item Definition; guess:
/// the refusal's code
pub async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((ws, id)): Path<(String, String)>,
) -> FabricResult {
    app.with(|w| {
        let ws = require(&w.model, &ws, &caller, Role::Contributor)?;
        let item = find_item(w, &ws, &id)?;
        let def = w.model.fabric.definitions.get(&item.id.to_lowercase()).ok_or_else(|| {
            FabricError::bad("OperationNotSupportedForItem",
                "The emulator exports only definitions uploaded through the items API; this item was imported from a PBIX")
        })?;
        let def = super::live::live_definition(w, &item, def);
        let parts: Vec<Value> = def
            .parts
            .iter()
            .map(|p| json!({"path": p.path, "payload": p.payload, "payloadType": "InlineBase64"}))
            .collect();
        let body = json!({"definition": {"parts": parts}});
        Ok(super::operations::start(w, &app.base_url, &ws, Work::Read { body }))
    })
}

/// 200 with no body, for synchronous updates.
pub fn ok_empty() -> axum::response::Response {
    answer(StatusCode::OK, None)
}
