//! Long-running operations: starting one (202 with `Location`, `x-ms-operation-id` and
//! `Retry-After`, or the synchronous answer when the `lroSync` knob is set), completing due
//! ones, and `GET /v1/operations/{op}` and `/result`.

use super::error::{FabricError, FabricResult};
use super::state::{Operation, Work};
use super::{answer, require, time_utc};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::routes::Role;
use crate::util::{eq_ci, now_ms};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// Starts `work` in workspace `ws`. Synchronous mode runs it now: create answers 201 with the
/// item, update 200 empty, getDefinition 200 with the definition (documented: the API may
/// answer any of these at once). Otherwise the operation completes `lroDelayMs` later and the
/// answer is 202. // trace: the 202 headers
pub fn start(w: &mut World, base: &str, ws: &str, work: Work) -> Response {
    if w.knobs.lro_sync {
        let status = match &work {
            Work::Create(_) => StatusCode::CREATED,
            _ => StatusCode::OK,
        };
        return match run(w, work) {
            Ok(Value::Null) => super::definition::ok_empty(),
            Ok(v) => answer(status, Some(v)),
            Err(e) => axum::response::IntoResponse::into_response(e),
        };
    }
    let now = now_ms();
    let id = w.new_id();
    let delay = w.knobs.lro_delay_ms;
    w.model.fabric.operations.push(Operation {
        id: id.clone(),
        workspace_id: ws.into(),
        created_ms: now,
        ready_ms: now + delay,
        status: "Running".into(),
        work: Some(work),
        ..Operation::default()
    });
    // Bounded history: the oldest finished operations go first. // guess
    while w.model.fabric.operations.len() > 10_000 {
        let Some(n) = w
            .model
            .fabric
            .operations
            .iter()
            .position(|o| o.work.is_none())
        else {
            break;
        };
        w.model.fabric.operations.remove(n);
    }
    let mut resp = answer(StatusCode::ACCEPTED, None);
    let h = resp.headers_mut();
    set(h, "Location", &format!("{base}/v1/operations/{id}"));
    set(h, "x-ms-operation-id", &id);
    set(h, "Retry-After", &retry_after_secs(delay).to_string());
    set(
        h,
        "Access-Control-Expose-Headers",
        "RequestId,Location,Retry-After,x-ms-operation-id",
    );
    resp
}

/// `Retry-After` for a wait of `ms`: whole seconds, rounded up. // guess: the recording's
/// service says 20 for operations of ~4-20 s; the emulator says how long it will really take
fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

fn set(h: &mut axum::http::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Does the work; `Value::Null` when it has no result.
fn run(w: &mut World, work: Work) -> Result<Value, FabricError> {
    match work {
        Work::Create(c) => super::definition::complete_create(w, c),
        Work::Update(u) => super::definition::complete_update(w, u),
        Work::Read { body } => Ok(body),
    }
}

/// Completes every operation whose delay has passed (called before each request is served).
pub fn finish_due(w: &mut World, now: u64) {
    let due: Vec<usize> = w
        .model
        .fabric
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| o.work.is_some() && o.ready_ms <= now)
        .map(|(n, _)| n)
        .collect();
    for n in due {
        let Some(work) = w.model.fabric.operations[n].work.take() else {
            continue;
        };
        let outcome = run(w, work);
        let op = &mut w.model.fabric.operations[n];
        match outcome {
            Ok(v) => {
                op.status = "Succeeded".into();
                op.result = (!v.is_null()).then_some(v);
            }
            Err(e) => {
                op.status = "Failed".into();
                op.error = Some(e.operation_error());
            }
        }
    }
}

/// The operation `op`, if the caller may read it (a member of its workspace). // guess
fn find<'a>(w: &'a World, op: &str, caller: &Caller) -> Result<&'a Operation, FabricError> {
    let o = w
        .model
        .fabric
        .operations
        .iter()
        .find(|o| eq_ci(&o.id, op))
        .ok_or_else(|| {
            FabricError::new(
                StatusCode::NOT_FOUND,
                "OperationNotFound",
                "The requested operation was not found",
            )
        })?;
    require(&w.model, &o.workspace_id, caller, Role::Viewer).map_err(|_| {
        FabricError::new(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            "The requested operation was not found",
        )
    })?;
    Ok(o)
}

/// `GET /v1/operations/{op}`: 200 `{status, createdTimeUtc, lastUpdatedTimeUtc,
/// percentComplete, error}`; while running `Location` (itself) and `Retry-After`; once
/// succeeded with a result, `Location` is `/result`. // trace: both forms
pub async fn state(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(op): Path<String>,
) -> FabricResult {
    app.with(|w| {
        let o = find(w, &op, &caller)?;
        let now = now_ms();
        let running = o.work.is_some();
        let (updated, percent) = if running {
            (o.created_ms, Value::Null)
        } else {
            (o.ready_ms, json!(100))
        };
        let body = json!({"status": o.status, "createdTimeUtc": time_utc(o.created_ms),
            "lastUpdatedTimeUtc": time_utc(updated), "percentComplete": percent,
            "error": o.error.clone().unwrap_or(Value::Null)});
        let mut resp = answer(StatusCode::OK, Some(body));
        let h = resp.headers_mut();
        let me = format!("{}/v1/operations/{}", app.base_url, o.id);
        set(h, "x-ms-operation-id", &o.id);
        if running {
            set(h, "Location", &me);
            set(
                h,
                "Retry-After",
                &retry_after_secs(o.ready_ms.saturating_sub(now))
                    .max(1)
                    .to_string(),
            );
            set(
                h,
                "Access-Control-Expose-Headers",
                "RequestId,Location,Retry-After,x-ms-operation-id",
            );
        } else if o.result.is_some() {
            set(h, "Location", &format!("{me}/result"));
            set(
                h,
                "Access-Control-Expose-Headers",
                "RequestId,Location,x-ms-operation-id",
            );
        } else {
            set(
                h,
                "Access-Control-Expose-Headers",
                "RequestId,x-ms-operation-id",
            );
        }
        Ok(resp)
    })
}

/// `GET /v1/operations/{op}/result`: the created item or the definition. Before success, 400
/// `OperationNotSucceeded`. // trace: results; guess: the early answer
pub async fn result(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(op): Path<String>,
) -> FabricResult {
    app.with(|w| {
        let o = find(w, &op, &caller)?;
        match &o.result {
            Some(v) => Ok(answer(StatusCode::OK, Some(v.clone()))),
            None => Err(FabricError::bad(
                "OperationNotSucceeded",
                format!("Operation {} has no result (status {})", o.id, o.status),
            )),
        }
    })
}
