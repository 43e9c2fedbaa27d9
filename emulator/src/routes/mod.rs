//! The HTTP routes and the helpers they share (access checks, response envelopes).

pub mod blob;
pub mod control;
pub mod dataset_sources;
pub mod datasets;
pub mod gateways;
pub mod groups;
pub mod imports;
pub mod odata;
pub mod refresh;
pub mod reports;
pub mod schedule;

use crate::app::App;
use crate::auth::Caller;
use crate::errors::ApiError;
use crate::model::Model;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use serde_json::{Value, json};
use std::sync::Arc;

/// Builds the whole router: token endpoint, REST API, blob store, control API, behind a
/// rewrite that makes the REST path's fixed segments case-insensitive.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback_service(routes(app))
        .layer(axum::middleware::from_fn(canonical_path))
}

/// The fixed segments of REST paths, in the case the routes use.
const SEGMENTS: &[&str] = &[
    "groups",
    "datasets",
    "reports",
    "imports",
    "gateways",
    "datasources",
    "users",
    "parameters",
    "refreshes",
    "refreshSchedule",
    "directQueryRefreshSchedule",
    "status",
    "capacities",
    "createTemporaryUploadLocation",
    "Rebind",
    "AssignToCapacity",
    "CapacityAssignmentStatus",
    "Default.TakeOver",
    "Default.UpdateParameters",
    "Default.UpdateDatasources",
    "Default.SetAllConnections",
    "Default.GetBoundGatewayDatasources",
    "Default.DiscoverGateways",
    "Default.BindToGateway",
];

/// Rewrites `/v1.0/myorg/...` segments to their canonical case before routing. // guess: the
/// service (ASP.NET routing) matches paths case-insensitively, and its own documents disagree
/// on case (swagger `Default.GetBoundGatewayDatasources`, docs `…DataSources`).
async fn canonical_path(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    if path.len() > 12 && path[..12].eq_ignore_ascii_case("/v1.0/myorg/") {
        let rest: Vec<&str> = path[12..]
            .split('/')
            .map(|seg| {
                SEGMENTS
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(seg))
                    .copied()
                    .unwrap_or(seg)
            })
            .collect();
        let mut pq = format!("/v1.0/myorg/{}", rest.join("/"));
        if let Some(q) = req.uri().query() {
            pq.push('?');
            pq.push_str(q);
        }
        let mut parts = req.uri().clone().into_parts();
        if let Ok(v) = pq.parse() {
            parts.path_and_query = Some(v);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

/// The routes themselves.
fn routes(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/groups", get(groups::list).post(groups::create))
        .route(
            "/groups/{gid}",
            get(groups::get_one)
                .delete(groups::delete)
                .patch(groups::update),
        )
        .route(
            "/groups/{gid}/users",
            get(groups::users)
                .post(groups::add_user)
                .put(groups::update_user),
        )
        .route(
            "/groups/{gid}/users/{user}",
            axum::routing::delete(groups::delete_user),
        )
        .route(
            "/groups/{gid}/AssignToCapacity",
            post(groups::assign_capacity),
        )
        .route(
            "/groups/{gid}/CapacityAssignmentStatus",
            get(groups::assignment_status),
        )
        .route("/capacities", get(groups::capacities))
        .route("/datasets", any(my_workspace))
        .route("/datasets/{*rest}", any(my_workspace))
        .route("/reports", any(my_workspace))
        .route("/reports/{*rest}", any(my_workspace))
        .route("/imports", any(my_workspace))
        .route("/imports/{*rest}", any(my_workspace))
        .merge(imports::routes())
        .merge(datasets::routes())
        .merge(reports::routes())
        .merge(gateways::routes());
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(crate::auth::token))
        .nest("/v1.0/myorg", api)
        .route("/_blob/{id}", put(blob::put))
        .merge(control::routes())
        .merge(crate::fabric::routes())
        .fallback(|| async {
            ApiError::coded(
                StatusCode::NOT_FOUND,
                "NotFound",
                "No such endpoint in the emulator",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::transport::layer,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

/// Workspace roles in increasing power. // documented: 1 (roles); guess: 8.2 #2 (what each may do)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read only.
    Viewer,
    /// Import, refresh, rebind.
    Contributor,
    /// Add users.
    Member,
    /// Everything.
    Admin,
}

impl Role {
    /// Parses a `groupUserAccessRight`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "viewer" => Some(Self::Viewer),
            "contributor" => Some(Self::Contributor),
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The caller's role in a workspace, if a member.
pub fn role_in(model: &Model, gid: &str, caller: &Caller) -> Option<Role> {
    let g = model.group(gid)?;
    g.users
        .iter()
        .filter(|u| caller.is(&u.identifier))
        .filter_map(|u| Role::parse(&u.group_user_access_right))
        .max()
}

/// Checks that the workspace exists and the caller has at least `min` there. Non-members get
/// 404 (existence hidden), members with a lower role 401. // guess: 8.2 #2 (one choice, kept everywhere)
pub fn require(model: &Model, gid: &str, caller: &Caller, min: Role) -> Result<String, ApiError> {
    let g = model.group(gid).ok_or_else(ApiError::not_found)?;
    match role_in(model, gid, caller) {
        None => Err(ApiError::not_found()),
        Some(r) if r < min => Err(ApiError::not_authorized()),
        Some(_) => Ok(g.id.clone()),
    }
}

/// 200 with a JSON body.
pub fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// 200 with an empty body. // documented: 0.3 (many mutating calls)
pub fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

/// A collection envelope with `@odata.context`. // documented: 0.3 (observed)
pub fn collection(base: &str, ctx: &str, items: Vec<Value>) -> Response {
    ok(json!({"@odata.context": format!("{base}/v1.0/myorg/$metadata#{ctx}"), "value": items}))
}

/// A single entity with `@odata.context`.
pub fn entity(base: &str, ctx: &str, mut item: Value) -> Response {
    if let Value::Object(map) = &mut item {
        map.insert(
            "@odata.context".into(),
            json!(format!("{base}/v1.0/myorg/$metadata#{ctx}/$entity")),
        );
    }
    ok(item)
}

/// My-workspace forms (`/v1.0/myorg/datasets…`): service principals have no My workspace and
/// get 401 `API is not accessible for application` (guess: 8.2 #1); users get 404 because the
/// emulator does not model My workspace.
async fn my_workspace(caller: Caller) -> ApiError {
    if caller.principal_type == "App" {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            body: Some(json!({"Message": "API is not accessible for application"})),
            retry_after: None,
        }
    } else {
        ApiError::coded(
            StatusCode::NOT_FOUND,
            "NotFound",
            "My workspace is not emulated; use /v1.0/myorg/groups/{groupId}/...",
        )
    }
}
