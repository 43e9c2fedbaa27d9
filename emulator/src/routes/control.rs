//! The control API: reset, state snapshot, request log, run-time faults.

use crate::app::{App, FailRule, Knobs};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// The control routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/faults", post(faults).get(get_faults))
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    Json(json!({"reset": true})).into_response()
}

async fn state(State(app): State<Arc<App>>) -> Response {
    Json(app.snapshot()).into_response()
}

async fn requests(State(app): State<Arc<App>>) -> Response {
    let log = app.log.lock().map(|l| l.clone()).unwrap_or_default();
    Json(json!({"value": log})).into_response()
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    Json(app.knobs()).into_response()
}

/// `POST /_emulator/faults` with any of latencyMs, jitterMs, importDelayMs, throttleRps,
/// faultRate, tokenLifetimeSecs, lroDelayMs, lroSync, itemsPageSize, nameHoldMs, and `failNext` (a list of [`FailRule`]s to add); fields left
/// out keep their value.
async fn faults(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Response {
    let knobs = app.with(|w| {
        let k = &mut w.knobs;
        let f = |n: &str| body.get(n).and_then(Value::as_f64);
        if let Some(v) = f("latencyMs") {
            k.latency_ms = v as u64;
        }
        if let Some(v) = f("jitterMs") {
            k.jitter_ms = v as u64;
        }
        if let Some(v) = f("importDelayMs") {
            k.import_delay_ms = v as u64;
        }
        if let Some(v) = f("throttleRps") {
            k.throttle_rps = v.max(0.0);
            w.buckets.clear();
        }
        if let Some(v) = f("faultRate") {
            k.fault_rate = v.clamp(0.0, 1.0);
        }
        if let Some(v) = f("lroDelayMs") {
            k.lro_delay_ms = v as u64;
        }
        if let Some(v) = body.get("lroSync").and_then(Value::as_bool) {
            k.lro_sync = v;
        }
        if let Some(v) = f("itemsPageSize") {
            k.items_page_size = v as usize;
        }
        if let Some(v) = f("nameHoldMs") {
            k.name_hold_ms = v as u64;
        }
        if let Some(v) = f("tokenLifetimeSecs") {
            w.model.tenant.token_lifetime_secs = v as u64;
        }
        if let Some(rules) = body.get("failNext") {
            match serde_json::from_value::<Vec<FailRule>>(rules.clone()) {
                Ok(rules) => k
                    .fail_next
                    .extend(rules.into_iter().filter(|r| r.count > 0)),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(w.knobs.clone())
    });
    match knobs {
        Ok(knobs) => Json::<Knobs>(knobs).into_response(),
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("failNext: {e}")})),
        )
            .into_response(),
    }
}
