//! The Blob REST calls the ledger needs, on reqwest, behind a blocking interface: ledger
//! stores are called from plain threads and from inside tokio (checkpoints in
//! `block_in_place`), so requests run on a small runtime of their own and the caller waits
//! on a channel. Counts every request sent, so tests and benches can hold the lock's cost to
//! its bar.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::auth::Credential;
use super::location::BlobLocation;

/// The Blob service version sent; Azurite runs with `--skipApiVersionCheck` in tests.
const API_VERSION: &str = "2023-11-03";
/// Per-request deadline; a ledger is small.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts for a request that may be repeated safely.
const ATTEMPTS: u32 = 3;

/// A request to the blob (or with `container`, to its container).
#[derive(Debug, Default)]
pub struct Call {
    pub method: Method,
    pub container: bool,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Safe to send again after a transport error or a 5xx (reads, lease renewals).
    pub idempotent: bool,
    /// The largest response body accepted.
    pub max_body: u64,
}

/// A response with its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The service's error code (`x-ms-error-code`).
    pub fn code(&self) -> &str {
        self.header("x-ms-error-code").unwrap_or_default()
    }

    /// The service's error as the user sees it: status, code, message and request id.
    pub fn error(&self, what: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let message = text
            .split_once("<Message>")
            .and_then(|(_, r)| r.split_once("</Message>"))
            .map(|(m, _)| m.lines().next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let mut out = format!("{what} failed: HTTP {}", self.status.as_u16());
        if !self.code().is_empty() {
            out.push_str(&format!(" {}", self.code()));
        }
        if !message.is_empty() {
            out.push_str(&format!(": {message}"));
        }
        if let Some(id) = self.header("x-ms-request-id") {
            out.push_str(&format!(" (request id {id})"));
        }
        if let Some(hint) = hint(self.status, self.code()) {
            out.push_str(&format!("; {hint}"));
        }
        out
    }
}

fn hint(status: StatusCode, code: &str) -> Option<&'static str> {
    Some(match (status.as_u16(), code) {
        (404, "ContainerNotFound") => {
            "create the container first (pbideploy creates blobs, never containers)"
        }
        (403, "AuthorizationPermissionMismatch") => {
            "the identity needs the Storage Blob Data Contributor role on the container or account"
        }
        (403, _) => {
            "check the state credential (connection string, SAS with read/write/list rights, or the identity's Storage Blob Data Contributor role)"
        }
        _ => return None,
    })
}

/// A client for one ledger blob.
pub struct BlobClient {
    runtime: Option<tokio::runtime::Runtime>,
    http: reqwest::Client,
    pub location: BlobLocation,
    credential: Credential,
    sent: AtomicU64,
}

impl Drop for BlobClient {
    /// Dropping a runtime may not block inside another runtime: let its thread wind down.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl BlobClient {
    /// A client for `location`, authorised by `credential`.
    pub fn new(location: BlobLocation, credential: Credential) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pbideploy-azblob")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Azure Blob client: {e}"))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("pbideploy/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the Azure Blob client: {e}"))?;
        location.blob_url()?;
        Ok(Self {
            runtime: Some(runtime),
            http,
            location,
            credential,
            sent: AtomicU64::new(0),
        })
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Sends `call` and waits for its reply (any status); `Err` only when no response came.
    pub fn send(self: &Arc<Self>, call: Call) -> Result<Reply, String> {
        let Some(rt) = &self.runtime else {
            return Err("the Azure Blob client is shut down".into());
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let me = self.clone();
        rt.spawn(async move {
            let _ = tx.send(me.send_async(call).await);
        });
        rx.recv()
            .map_err(|_| "the Azure Blob client stopped while sending".to_owned())?
    }

    async fn send_async(&self, call: Call) -> Result<Reply, String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            match self.attempt(&call).await {
                Ok(reply) if call.idempotent && reply.status.is_server_error() => {
                    last = reply.error("the request");
                }
                Ok(reply) => return Ok(reply),
                Err((e, connect)) => {
                    last = e;
                    if !(call.idempotent || connect) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    /// One attempt; `Err((reason, nothing_was_sent))`.
    async fn attempt(&self, call: &Call) -> Result<Reply, (String, bool)> {
        let fail = |e: String| (e, false);
        let mut url: Url = if call.container {
            self.location.container_url()
        } else {
            self.location.blob_url()
        }
        .map_err(fail)?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let mut put = |k: &str, v: &str| -> Result<(), (String, bool)> {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| fail(e.to_string()))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| fail(format!("the header {k} has a character HTTP cannot carry")))?;
            headers.insert(name, value);
            Ok(())
        };
        put("x-ms-date", &date)?;
        put("x-ms-version", API_VERSION)?;
        let length = call.body.len().to_string();
        if call.method == Method::PUT {
            put("content-length", &length)?;
        }
        for (k, v) in &call.headers {
            put(k, v)?;
        }
        self.credential
            .authorize(call.method.as_str(), &mut url, &mut headers)
            .await
            .map_err(|e| fail(format!("cannot authorise the request: {e}")))?;
        self.sent.fetch_add(1, Ordering::SeqCst);
        let response = self
            .http
            .request(call.method.clone(), url)
            .headers(headers)
            .body(call.body.clone())
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_bounded(response, call.max_body.max(64 << 10))
            .await
            .map_err(fail)?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A transport error without its URL (which may carry a SAS), with its causes.
fn transport_error(e: reqwest::Error) -> (String, bool) {
    let connect = e.is_connect();
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    (out, connect)
}

async fn read_bounded(response: reqwest::Response, max: u64) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(format!("the response is larger than {max} bytes"));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| format!("reading the response failed: {}", e.without_url()))?;
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(format!("the response is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
