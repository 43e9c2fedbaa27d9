//! Groups (workspaces): list with `$filter`/`$top`/`$skip`, create, get, update, delete,
//! users, capacity assignment. // documented: 1.1-1.9

use super::{Role, collection, entity, ok, ok_empty, require, role_in};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::{CapacityAssignment, Group, GroupUser};
use crate::util::{eq_ci, iso, json_body, now_ms};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The wire view of a group.
pub fn group_json(g: &Group) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "isReadOnly": false,
        "isOnDedicatedCapacity": g.capacity_id.is_some(), "type": "Workspace"});
    if let Some(c) = &g.capacity_id {
        v["capacityId"] = json!(c);
        v["defaultDatasetStorageFormat"] = json!("Small");
    }
    v
}

fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let num = |k: &str, d: usize| -> Result<usize, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::invalid(format!("{k} must be a non-negative integer, got '{v}'"))
                })
            })
            .unwrap_or(Ok(d))
    };
    Ok((num("$skip", 0)?, num("$top", usize::MAX)?))
}

/// `GET groups`. // documented: 1.1, 0.4
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let filter = match q.get("$filter") {
        Some(f) => Some(
            super::odata::parse(f)
                .map_err(|e| ApiError::invalid(format!("Invalid $filter '{f}': {e}")))?,
        ),
        None => None,
    };
    let (skip, top) = paging(&q)?;
    let items: Vec<Value> = app.with(|w| {
        w.model
            .groups
            .iter()
            .filter(|g| role_in(&w.model, &g.id, &caller).is_some())
            .map(group_json)
            .filter(|v| filter.as_ref().is_none_or(|f| super::odata::eval(f, v)))
            .skip(skip)
            .take(top)
            .collect()
    });
    Ok(ok(
        json!({"@odata.context": format!("{}/v1.0/myorg/$metadata#groups", app.base_url),
        "@odata.count": items.len(), "value": items}),
    ))
}

#[derive(Deserialize)]
struct NameBody {
    name: Option<String>,
}

/// `POST groups?workspaceV2=True`. // documented: 1.3; guess: 409 PowerBIEntityAlreadyExists
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: NameBody = json_body(&headers, &body)?;
    let name = b
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("The workspace name is required: send {\"name\": \"...\"}")
        })?;
    app.with(|w| {
        if w.model.groups.iter().any(|g| eq_ci(&g.name, &name)) {
            return Err(ApiError::coded(
                StatusCode::CONFLICT,
                "PowerBIEntityAlreadyExists",
                format!("Workspace name '{name}' already exists"),
            ));
        }
        let g = Group {
            id: w.new_id(),
            name,
            capacity_id: None,
            users: vec![GroupUser {
                identifier: caller.object_id.clone(),
                principal_type: caller.principal_type.clone(),
                group_user_access_right: "Admin".into(),
                email_address: None,
                display_name: None,
            }],
            capacity_assignment: None,
        };
        let v = group_json(&g);
        w.model.groups.push(g);
        Ok(entity(&app.base_url, "groups", v))
    })
}

/// `GET groups/{id}`. // documented: 1.2
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        require(&w.model, &gid, &caller, Role::Viewer)?;
        let g = w.model.group(&gid).ok_or_else(ApiError::not_found)?;
        Ok(entity(&app.base_url, "groups", group_json(g)))
    })
}

/// `PATCH groups/{id}` (rename). // documented: 1.4
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: NameBody = json_body(&headers, &body)?;
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Admin)?;
        if let Some(name) = b.name {
            if w.model
                .groups
                .iter()
                .any(|g| eq_ci(&g.name, &name) && g.id != id)
            {
                return Err(ApiError::coded(
                    StatusCode::CONFLICT,
                    "PowerBIEntityAlreadyExists",
                    format!("Workspace name '{name}' already exists"),
                ));
            }
            if let Some(g) = w.model.groups.iter_mut().find(|g| g.id == id) {
                g.name = name;
            }
        }
        Ok(ok_empty())
    })
}

/// `DELETE groups/{id}`: removes the workspace and its content. // documented: 1.4
pub async fn delete(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Admin)?;
        w.model.groups.retain(|g| g.id != id);
        w.model.datasets.retain(|d| d.group_id != id);
        w.model.reports.retain(|r| r.group_id != id);
        w.model.imports.retain(|i| i.group_id != id);
        Ok(ok_empty())
    })
}

/// `GET groups/{id}/users`. // documented: 1.5
pub async fn users(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let (skip, top) = paging(&q)?;
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let g = w.model.group(&id).ok_or_else(ApiError::not_found)?;
        let items = g
            .users
            .iter()
            .skip(skip)
            .take(top)
            .map(|u| serde_json::to_value(u).unwrap_or(Value::Null))
            .collect();
        Ok(collection(&app.base_url, "groups/users", items))
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UserBody {
    identifier: Option<String>,
    email_address: Option<String>,
    group_user_access_right: Option<String>,
    principal_type: Option<String>,
    display_name: Option<String>,
}

fn parse_user(b: UserBody) -> Result<GroupUser, ApiError> {
    let identifier = b
        .identifier
        .clone()
        .or(b.email_address.clone())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "Send 'identifier' (object id for App/Group) or 'emailAddress' (User)",
            )
        })?;
    let right = b
        .group_user_access_right
        .as_deref()
        .and_then(|r| crate::util::canon(r, &["Admin", "Member", "Contributor", "Viewer", "None"]))
        .ok_or_else(|| {
            ApiError::invalid(
                "groupUserAccessRight must be one of Admin, Member, Contributor, Viewer",
            )
        })?;
    let ptype = match b.principal_type.as_deref() {
        None => "User",
        Some(p) => crate::util::canon(p, &["User", "Group", "App", "None"])
            .ok_or_else(|| ApiError::invalid(format!("Unknown principalType '{p}'")))?,
    };
    Ok(GroupUser {
        identifier,
        principal_type: ptype.into(),
        group_user_access_right: right.into(),
        email_address: b.email_address,
        display_name: b.display_name,
    })
}

/// `POST groups/{id}/users`: add; an existing member is an error. // documented: 1.6; guess: 409 on existing
pub async fn add_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let user = parse_user(json_body(&headers, &body)?)?;
    app.with(|w| {
        let min = if user.group_user_access_right == "Admin" {
            Role::Admin
        } else {
            Role::Member
        };
        let id = require(&w.model, &gid, &caller, min)?;
        let g = w
            .model
            .groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(ApiError::not_found)?;
        if g.users
            .iter()
            .any(|u| eq_ci(&u.identifier, &user.identifier))
        {
            return Err(ApiError::coded(
                StatusCode::CONFLICT,
                "AddingAlreadyExistsGroupUserNotSupportedError",
                format!(
                    "'{}' is already a member of the workspace; use PUT to change its role",
                    user.identifier
                ),
            ));
        }
        g.users.push(user);
        Ok(ok_empty())
    })
}

/// `PUT groups/{id}/users`: change an existing member's role. // documented: 1.7
pub async fn update_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let user = parse_user(json_body(&headers, &body)?)?;
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Admin)?;
        let g = w
            .model
            .groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(ApiError::not_found)?;
        let Some(u) = g
            .users
            .iter_mut()
            .find(|u| eq_ci(&u.identifier, &user.identifier))
        else {
            return Err(ApiError::pbi(
                StatusCode::NOT_FOUND,
                "PowerBIEntityNotFound",
            ));
        };
        u.group_user_access_right = user.group_user_access_right;
        Ok(ok_empty())
    })
}

/// `DELETE groups/{id}/users/{user}`; the last Admin cannot be removed. // documented: 1.8; guess: last-admin rule
pub async fn delete_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, user)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Admin)?;
        let g = w
            .model
            .groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(ApiError::not_found)?;
        let Some(pos) = g.users.iter().position(|u| eq_ci(&u.identifier, &user)) else {
            return Err(ApiError::not_found());
        };
        let admins = g
            .users
            .iter()
            .filter(|u| u.group_user_access_right == "Admin")
            .count();
        if g.users[pos].group_user_access_right == "Admin" && admins == 1 {
            return Err(ApiError::invalid(
                "Cannot remove the last Admin of the workspace",
            ));
        }
        g.users.remove(pos);
        Ok(ok_empty())
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CapacityBody {
    capacity_id: Option<String>,
}

/// `POST groups/{id}/AssignToCapacity`: asynchronous, completes after the import delay.
/// documented: 1.9
pub async fn assign_capacity(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let b: CapacityBody = json_body(&headers, &body)?;
    let cap = b
        .capacity_id
        .ok_or_else(|| ApiError::invalid("capacityId is required"))?;
    let delay = app.knobs().import_delay_ms;
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Admin)?;
        let unassign = eq_ci(&cap, ZERO_GUID);
        let known = w
            .model
            .tenant
            .capacities
            .iter()
            .find(|c| eq_ci(&c.id, &cap))
            .map(|c| c.id.clone());
        if !unassign && known.is_none() {
            return Err(ApiError::pbi(
                StatusCode::NOT_FOUND,
                "PowerBIEntityNotFound",
            )); // guess
        }
        let activity = w.new_id();
        let now = now_ms();
        let g = w
            .model
            .groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(ApiError::not_found)?;
        g.capacity_id = known;
        g.capacity_assignment = Some(CapacityAssignment {
            capacity_id: cap.clone(),
            start_ms: now,
            done_ms: now + delay,
            activity_id: activity,
        });
        Ok(ok_empty())
    })
}

/// `GET groups/{id}/CapacityAssignmentStatus`. // documented: 1.9
pub async fn assignment_status(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let g = w.model.group(&id).ok_or_else(ApiError::not_found)?;
        let Some(a) = &g.capacity_assignment else {
            return Ok(ok(json!({"status": "CompletedSuccessfully", "capacityId": g.capacity_id.clone().unwrap_or(ZERO_GUID.into())})));
        };
        let done = now_ms() >= a.done_ms;
        let mut v = json!({"status": if done { "CompletedSuccessfully" } else { "InProgress" },
            "startTime": iso(a.start_ms), "capacityId": a.capacity_id, "activityId": a.activity_id});
        if done { v["endTime"] = json!(iso(a.done_ms)); }
        Ok(ok(v))
    })
}

/// `GET capacities`. // documented: 1.9
pub async fn capacities(State(app): State<Arc<App>>, _caller: Caller) -> ApiResult {
    let items = app.with(|w| w.model.tenant.capacities.iter().map(|c| json!({"id": c.id, "displayName": c.display_name,
        "sku": c.sku, "state": c.state, "region": c.region, "admins": [], "capacityUserAccessRight": "Admin"})).collect());
    Ok(collection(&app.base_url, "capacities", items))
}
