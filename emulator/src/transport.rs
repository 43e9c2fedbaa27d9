//! Transport realism: `RequestId` on every response, latency and jitter, a token bucket per
//! principal (429 + Retry-After), injected faults (500/503, dropped connections) and the
//! request log. Control API (`/_emulator/`) requests skip all of it.

use crate::app::{App, RequestRecord};
use crate::errors::ApiError;
use crate::util::now_ms;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the dice decided for one request.
enum Fate {
    Serve,
    Throttle(u64),
    Fail(StatusCode),
    Drop,
}

/// The transport middleware.
pub async fn layer(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let control = path.starts_with("/_emulator");
    let fabric = path.starts_with("/v1/");
    let is_token = path.ends_with("/oauth2/v2.0/token");
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let (principal, fate, delay) = app.with(|w| {
        let principal = token
            .as_ref()
            .and_then(|t| w.model.tokens.get(t))
            .map(|t| t.client_id.clone());
        let k = w.knobs.clone();
        let jitter = if k.jitter_ms > 0 {
            (w.roll() * k.jitter_ms as f64) as u64
        } else {
            0
        };
        if control {
            return (principal, Fate::Serve, 0);
        }
        let mut fate = Fate::Serve;
        if let Some(rule) = w
            .knobs
            .fail_next
            .iter_mut()
            .find(|r| !is_token && r.matches(&method, &path))
        {
            rule.count -= 1;
            fate = Fate::Fail(
                StatusCode::from_u16(rule.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
            w.knobs.fail_next.retain(|r| r.count > 0);
            return (principal, fate, k.latency_ms + jitter);
        }
        if k.throttle_rps > 0.0 && !is_token {
            // documented: 7.1 (429 + Retry-After); guess: the budget is a token bucket of one second's worth
            let key = principal.clone().unwrap_or_else(|| "anonymous".into());
            let now = now_ms();
            let cap = k.throttle_rps.max(1.0);
            let (tokens, last) = w.buckets.get(&key).copied().unwrap_or((cap, now));
            let tokens =
                (tokens + (now.saturating_sub(last) as f64 / 1000.0) * k.throttle_rps).min(cap);
            if tokens >= 1.0 {
                w.buckets.insert(key, (tokens - 1.0, now));
            } else {
                w.buckets.insert(key, (tokens, now));
                let wait = ((1.0 - tokens) / k.throttle_rps).ceil() as u64;
                fate = Fate::Throttle(wait.max(1));
            }
        }
        if matches!(fate, Fate::Serve) && k.fault_rate > 0.0 && !is_token && w.roll() < k.fault_rate
        {
            // guess: faults split evenly between 500, 503 and a dropped connection
            fate = match (w.roll() * 3.0) as u32 {
                0 => Fate::Fail(StatusCode::INTERNAL_SERVER_ERROR),
                1 => Fate::Fail(StatusCode::SERVICE_UNAVAILABLE),
                _ => Fate::Drop,
            };
        }
        (principal, fate, k.latency_ms + jitter)
    });
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut resp = match fate {
        Fate::Serve => next.run(req).await,
        Fate::Drop => dropped_connection(),
        refused => {
            // guess: the service reads the whole request before refusing it. Refusing in
            // the middle of a streamed upload would let the client see its write fail (an
            // unknown outcome) instead of the status, depending on timing.
            drain(req).await;
            match refused {
                Fate::Throttle(secs) if fabric => {
                    crate::fabric::error::FabricError::throttled(secs).into_response()
                }
                Fate::Throttle(secs) => ApiError::throttled(secs).into_response(),
                Fate::Fail(status) if fabric => crate::fabric::error::FabricError::new(
                    status,
                    if status.is_client_error() {
                        "InvalidInput"
                    } else {
                        "InternalError"
                    },
                    "Refused by an emulator fault",
                )
                .into_response(),
                Fate::Fail(status) if status.is_client_error() => {
                    ApiError::coded(status, "InvalidRequest", "Refused by an emulator fail rule")
                        .into_response()
                }
                Fate::Fail(status) => ApiError::internal(status).into_response(),
                Fate::Serve | Fate::Drop => dropped_connection(), // answered above
            }
        }
    };
    // A Fabric error names its request id in its body too: keep the one it set.
    let set_by_handler = resp
        .headers()
        .get("RequestId")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let request_id = match set_by_handler {
        Some(id) => id,
        None => app.with(|w| w.new_id()),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("RequestId", v); // documented: 0.5
    }
    if !control {
        app.record(RequestRecord {
            method,
            path,
            query,
            status: resp.status().as_u16(),
            duration_ms: started.elapsed().as_millis() as u64,
            principal,
            request_id,
        });
    }
    resp
}

/// Reads and discards the request body, frame by frame.
async fn drain(req: Request) {
    use futures_util::StreamExt;
    let mut frames = req.into_body().into_data_stream();
    while let Some(Ok(_)) = frames.next().await {}
}

/// A response whose body fails after the headers: the client sees the connection drop
/// before the message completes.
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "emulator fault: connection dropped",
        ))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut()
        .insert("content-length", HeaderValue::from_static("64"));
    resp
}
