//! Long-running operations: a 202 becomes an [`OperationHandle`] (its `Location`, checked to be
//! a trusted host of the same cloud, and its `Retry-After`, capped); [`FabricClient::poll`]
//! asks once, [`FabricClient::wait`] sleeps between polls as told. Nothing here holds a step
//! slot: apply waits inside `Slot::idle`.

use std::marker::PhantomData;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::LOCATION;
use reqwest::{Method, Response, StatusCode, Url};

use super::FabricClient;
use super::types::{Definition, DefinitionEnvelope, Item, OperationState};
use crate::client::{RequestBody, check_transport, decode_body, decode_response, request_id_of};
use crate::error::{ApiError, ClientError};
use crate::retry::{Idempotency, redact_url, retry_after};

/// What a mutating call gave: the outcome at once, or an operation to follow.
#[derive(Debug)]
pub enum Started<T> {
    Done(T),
    Pending(OperationHandle<T>),
}

/// What one poll found (same shape as [`Started`]).
pub type Polled<T> = Started<T>;

/// A running operation: where to ask, and when.
#[derive(Debug, Clone)]
pub struct OperationHandle<T> {
    location: Url,
    /// `x-ms-operation-id`, for logs and errors.
    pub operation_id: Option<String>,
    /// How long to wait before the next poll (the service's `Retry-After`, capped).
    pub retry_after: Duration,
    /// What the operation does, for messages.
    pub what: String,
    deadline: Instant,
    _out: PhantomData<fn() -> T>,
}

/// The outcome types of operations: nothing (`()`), an item, a definition.
pub trait Outcome: Sized {
    /// Whether the outcome is read from the operation's `/result`.
    const HAS_RESULT: bool;
    /// Decodes a result (or a synchronous answer's) body.
    fn decode(text: &str) -> Result<Self, serde_json::Error>;
}

impl Outcome for () {
    const HAS_RESULT: bool = false;
    fn decode(_: &str) -> Result<Self, serde_json::Error> {
        Ok(())
    }
}

impl Outcome for Item {
    const HAS_RESULT: bool = true;
    fn decode(text: &str) -> Result<Self, serde_json::Error> {
        decode_body(text)
    }
}

impl Outcome for Definition {
    const HAS_RESULT: bool = true;
    fn decode(text: &str) -> Result<Self, serde_json::Error> {
        let env: DefinitionEnvelope = decode_body(text)?;
        Definition::from_wire(env.definition).map_err(serde::de::Error::custom)
    }
}

/// Host suffixes of each cloud's Power BI / Fabric front ends; an operation `Location` must be
/// on the configured host or under one of its cloud's suffixes (the recording shows
/// `<cluster>-redirect.analysis.windows.net` for `api.powerbi.com`).
const CLOUDS: &[&[&str]] = &[
    &[
        ".powerbi.com",
        ".fabric.microsoft.com",
        ".analysis.windows.net",
    ],
    &[
        ".powerbigov.us",
        ".fabric.microsoft.us",
        ".analysis.usgovcloudapi.net",
    ],
    &[
        ".powerbi.cn",
        ".fabric.microsoft.cn",
        ".analysis.chinacloudapi.cn",
    ],
];

impl FabricClient {
    /// The URL an operation `Location` points at, if the bearer token may go there: https on
    /// the configured host or its cloud's hosts, or plain http to loopback when the client
    /// itself talks to loopback (an emulator).
    pub(crate) fn trusted_location(&self, location: &str) -> Result<Url, ClientError> {
        let target = self
            .base
            .join(location)
            .map_err(|e| ClientError::InvalidUrl {
                url: redact_url(location),
                reason: e.to_string(),
            })?;
        check_transport(&target)?;
        let host = target.host_str().unwrap_or_default().to_ascii_lowercase();
        let base_host = self
            .base
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let same_cloud = CLOUDS.iter().any(|suffixes| {
            let ours = |h: &str| suffixes.iter().any(|s| h.ends_with(s));
            ours(&base_host) && ours(&host)
        });
        let loopback = target.scheme() == "http" && self.base.scheme() == "http";
        let trusted = host == base_host && target.scheme() == self.base.scheme()
            || target.scheme() == "https" && same_cloud
            || loopback;
        if trusted {
            Ok(target)
        } else {
            Err(ClientError::InvalidUrl {
                url: redact_url(target.as_str()),
                reason: format!(
                    "an operation Location outside the service's hosts ({base_host} and its cloud); the bearer token is not sent there"
                ),
            })
        }
    }

    /// A handle (202) or the outcome (200/201) of a mutating call's answer.
    pub(crate) async fn started<T: Outcome>(
        &self,
        resp: Response,
        method: &str,
        what: &str,
    ) -> Result<Started<T>, ClientError> {
        let display = resp.url().path().to_string();
        if resp.status() == StatusCode::ACCEPTED {
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ClientError::Redirect {
                    method: method.into(),
                    path: display.clone(),
                    reason: "202 without a Location header".into(),
                })?;
            return Ok(Started::Pending(OperationHandle {
                location: self.trusted_location(location)?,
                operation_id: resp
                    .headers()
                    .get("x-ms-operation-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                retry_after: self.next_wait(&resp),
                what: what.into(),
                deadline: Instant::now() + self.config.operation_timeout,
                _out: PhantomData,
            }));
        }
        let text = body_text(resp, method, &display).await?;
        T::decode(&text)
            .map(Started::Done)
            .map_err(|source| ClientError::Decode {
                method: method.into(),
                path: display,
                source,
            })
    }

    /// `Retry-After` of an answer, capped; the default when absent.
    fn next_wait(&self, resp: &Response) -> Duration {
        retry_after(resp.headers(), SystemTime::now())
            .map_or(self.config.poll_default, |d| d.min(self.config.poll_max))
    }

    /// Asks once how the operation is doing: its outcome when it succeeded (read from its
    /// result when it has one), the handle to ask again when it runs, an error when it failed
    /// (with the service's code, message and request id) or ran out of time.
    pub async fn poll<T: Outcome>(
        &self,
        handle: OperationHandle<T>,
    ) -> Result<Polled<T>, ClientError> {
        let display = format!(
            "/v1/operations/{}",
            handle.operation_id.as_deref().unwrap_or("?")
        );
        let resp = self.get_url(handle.location.clone(), &display).await?;
        let request_id = request_id_of(resp.headers());
        let next_location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let wait = self.next_wait(&resp);
        let status = resp.status();
        let state: OperationState = decode_response(resp, "GET", &display).await?;
        match state.status.as_str() {
            "Succeeded" if T::HAS_RESULT => {
                let result = match next_location {
                    Some(l) if l.trim_end_matches('/').ends_with("/result") => {
                        self.trusted_location(&l)?
                    }
                    _ => self.trusted_location(&format!(
                        "{}/result",
                        handle.location.as_str().trim_end_matches('/')
                    ))?,
                };
                let rdisplay = format!("{display}/result");
                let resp = self.get_url(result, &rdisplay).await?;
                let text = body_text(resp, "GET", &rdisplay).await?;
                T::decode(&text)
                    .map(Started::Done)
                    .map_err(|source| ClientError::Decode {
                        method: "GET".into(),
                        path: rdisplay,
                        source,
                    })
            }
            "Succeeded" => T::decode("")
                .map(Started::Done)
                .map_err(|source| ClientError::Decode {
                    method: "GET".into(),
                    path: display,
                    source,
                }),
            "Failed" | "Cancelled" => {
                let err = state.error.unwrap_or_default();
                Err(ClientError::OperationFailed {
                    what: handle.what.clone(),
                    operation: handle.operation_id.clone().unwrap_or_default(),
                    api: Box::new(ApiError {
                        status,
                        code: err.error_code.or(Some(state.status.clone())),
                        message: err.message,
                        request_id,
                        method: "GET".into(),
                        path: display,
                    }),
                })
            }
            _ if Instant::now() >= handle.deadline => Err(ClientError::Timeout {
                what: handle.what.clone(),
                after: self.config.operation_timeout,
            }),
            _ => {
                let location = match next_location {
                    Some(l) => self.trusted_location(&l)?,
                    None => handle.location.clone(),
                };
                Ok(Started::Pending(OperationHandle {
                    location,
                    retry_after: wait,
                    ..handle
                }))
            }
        }
    }

    /// Polls until the operation ends, sleeping the service's `Retry-After` (capped) between
    /// polls. Run it without holding a step slot.
    pub async fn wait<T: Outcome>(&self, mut handle: OperationHandle<T>) -> Result<T, ClientError> {
        loop {
            let remaining = handle.deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(handle.retry_after.min(remaining)).await;
            match self.poll(handle).await? {
                Started::Done(v) => return Ok(v),
                Started::Pending(next) => handle = next,
            }
        }
    }

    async fn get_url(&self, url: Url, display: &str) -> Result<Response, ClientError> {
        let call = self.call(
            Method::GET,
            url,
            display.to_string(),
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        self.send(call).await
    }
}

/// The body of an answer as text.
async fn body_text(resp: Response, method: &str, display: &str) -> Result<String, ClientError> {
    resp.text().await.map_err(|source| ClientError::Transport {
        method: method.into(),
        path: display.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::super::FabricConfig;
    use super::*;
    use crate::auth::{AccessToken, TokenFuture, TokenProvider};
    use crate::client::{ClientConfig, PowerBiClient};
    use std::sync::Arc;

    struct NoToken;
    impl TokenProvider for NoToken {
        fn token(&self) -> TokenFuture<'_> {
            Box::pin(async {
                Ok(AccessToken {
                    token: secrecy::SecretString::from("t"),
                    expires_at: SystemTime::now(),
                })
            })
        }
        fn method(&self) -> &'static str {
            "none"
        }
    }

    fn client(base: &str) -> FabricClient {
        let config = ClientConfig {
            api_base_url: base.into(),
            ..ClientConfig::default()
        };
        let pb = PowerBiClient::new(config, Arc::new(NoToken)).unwrap();
        FabricClient::new(pb, FabricConfig::default()).unwrap()
    }

    #[test]
    fn locations_are_trusted_only_on_the_same_cloud_or_loopback() {
        let public = client("https://api.powerbi.com");
        for ok in [
            "https://df-msit-scus-redirect.analysis.windows.net/v1/operations/1",
            "https://api.fabric.microsoft.com/v1/operations/1",
            "/v1/operations/1",
        ] {
            assert!(public.trusted_location(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://attacker.example.net/v1/operations/1",
            "http://df-msit-scus-redirect.analysis.windows.net/v1/operations/1",
            "https://x.analysis.usgovcloudapi.net/v1/operations/1",
            "https://analysis.windows.net.attacker.net/v1/operations/1",
            "http://127.0.0.1:9/v1/operations/1",
        ] {
            assert!(public.trusted_location(bad).is_err(), "{bad}");
        }
        let gov = client("https://api.powerbigov.us");
        assert!(
            gov.trusted_location("https://x.analysis.usgovcloudapi.net/v1/operations/1")
                .is_ok()
        );
        assert!(
            gov.trusted_location("https://x.analysis.windows.net/v1/operations/1")
                .is_err()
        );
        let local = client("http://127.0.0.1:8080");
        assert!(
            local
                .trusted_location("http://127.0.0.1:8080/v1/operations/1")
                .is_ok()
        );
        assert!(
            local
                .trusted_location("http://10.0.0.1/v1/operations/1")
                .is_err()
        );
        assert!(
            local
                .trusted_location("https://evil.example.com/v1/operations/1")
                .is_err()
        );
    }
}
