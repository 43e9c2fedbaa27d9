//! The Power BI HTTP client: configuration, URL building, the request loop with retries and
//! the `preferClientRouting` 307 redirect, and JSON decoding. The typed endpoint methods live
//! in the submodules, one per API area, all in the groups form (`/v1.0/myorg/groups/{id}/…`),
//! because service principals have no "My workspace".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use super::auth::TokenProvider;
use super::error::{ApiError, ClientError};
use super::limiter::Limiter;
use super::retry::{
    Decision, Idempotency, Retries, RetryPolicy, classify_status, classify_transport, redact_url,
    retry_after,
};
use super::types::ODataList;
use super::upload::UploadSource;

mod datasets;
mod gateways;
mod groups;
mod imports;
mod reports;

/// How the client talks to the service. `Default` gives production values.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The service root, e.g. `https://api.powerbi.com` or an emulator's
    /// `http://127.0.0.1:8080`; the client appends `/v1.0/myorg/…`.
    pub api_base_url: String,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response (no total deadline, so long uploads
    /// are never cut off).
    pub read_timeout: Duration,
    /// Total deadline of one attempt of a metadata (non-upload) request.
    pub metadata_timeout: Duration,
    /// Retries of throttled and transient failures.
    pub retry: RetryPolicy,
    /// Requests in flight at most, across all tasks sharing the client; the adaptive
    /// limiter halves this window on throttling and grows it back (see [`Limiter`]).
    pub max_in_flight: usize,
    /// Sent as `User-Agent` on every request.
    pub user_agent: String,
    /// `$top` used when the API pages (groups, group users).
    pub page_size: u32,
    /// Files larger than this go through createTemporaryUploadLocation and blob blocks.
    pub large_file_threshold: u64,
    /// Block size of the blob upload (Azure allows at most 4 MiB with the version sent).
    pub block_size: usize,
    /// Add `preferClientRouting=true` to import POSTs so a wrong-cluster request is
    /// redirected (307) instead of timing out.
    pub prefer_client_routing: bool,
    /// Redirects followed per request before giving up.
    pub max_redirects: u8,
    /// First and largest delay between import status polls. The first poll comes early (a
    /// small PBIX is often processed in well under a second), then the delay doubles.
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            api_base_url: "https://api.powerbi.com".into(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(300),
            metadata_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            // The workspace version, which pbideploy shares (Cargo.toml [workspace.package]).
            user_agent: format!("pbideploy/{}", env!("CARGO_PKG_VERSION")),
            page_size: 5000,
            large_file_threshold: 1 << 30,
            block_size: 4 << 20,
            prefer_client_routing: true,
            max_redirects: 5,
            poll_initial: Duration::from_millis(300),
            poll_max: Duration::from_secs(5),
        }
    }
}

/// Default of [`ClientConfig::max_in_flight`]: enough to hide 25 ms of latency behind
/// plan's ~5 reads per dataset (the plan benchmark), few enough that the service's per-caller
/// budget is not spent in a burst; throttling shrinks it anyway.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// The Power BI REST client. Cheap to clone (one `Arc`); share it between tasks.
#[derive(Clone)]
pub struct PowerBiClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<dyn TokenProvider>,
    config: ClientConfig,
    limiter: Limiter,
}

impl std::fmt::Debug for PowerBiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerBiClient")
            .field("base", &self.inner.base.as_str())
            .field("auth", &self.inner.tokens.method())
            .finish()
    }
}

/// A request body that can be rebuilt for every attempt (retries and 307 replays).
pub(crate) enum RequestBody {
    /// No body; POST/PUT/PATCH send `Content-Length: 0`.
    Empty,
    /// A JSON document, already serialised.
    Json(Vec<u8>),
    /// Raw bytes (a blob block or block list) with their content type.
    Bytes(Vec<u8>, &'static str),
    /// A file streamed as a multipart part, reopened for every attempt.
    Multipart(UploadSource),
}

/// One logical request: everything needed to send it again.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    /// What logs and errors show: the path after `/v1.0/myorg`, or a redacted URL.
    pub display: String,
    pub body: RequestBody,
    pub idempotency: Idempotency,
    /// Send the bearer token (not for blob SAS URLs, which carry their own signature).
    pub auth: bool,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Total deadline per attempt; `None` for uploads.
    pub timeout: Option<Duration>,
}

/// Why one attempt produced no response.
enum AttemptError {
    Transport(reqwest::Error),
    Fatal(ClientError),
}

impl PowerBiClient {
    /// Builds a client for `config.api_base_url`, authenticating with `tokens`. Refuses plain
    /// `http://` except to loopback addresses.
    pub fn new(config: ClientConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self, ClientError> {
        let base = Url::parse(config.api_base_url.trim()).map_err(|e| ClientError::InvalidUrl {
            url: redact_url(&config.api_base_url),
            reason: e.to_string(),
        })?;
        check_transport(&base)?;
        if base.cannot_be_a_base() {
            return Err(ClientError::InvalidUrl {
                url: redact_url(base.as_str()),
                reason: "not a base URL".into(),
            });
        }
        if config.block_size == 0 || config.page_size == 0 {
            return Err(ClientError::Config(
                "block_size and page_size must be greater than zero".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                limiter: Limiter::new(config.max_in_flight),
                config,
            }),
        })
    }

    /// A client sharing this one's connections and credentials but with its own limit of
    /// `max_in_flight` requests (apply sizes it from `--parallelism`).
    pub fn with_max_in_flight(&self, max_in_flight: usize) -> Self {
        let config = ClientConfig {
            max_in_flight,
            ..self.inner.config.clone()
        };
        Self {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                base: self.inner.base.clone(),
                tokens: self.inner.tokens.clone(),
                limiter: Limiter::new(max_in_flight),
                config,
            }),
        }
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The adaptive limit on requests in flight shared by every clone of this client.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The name of the authentication method in use, for logs.
    pub fn auth_method(&self) -> &'static str {
        self.inner.tokens.method()
    }

    /// `{base}/v1.0/myorg/{segments…}?{query}` (segments and query percent-encoded) and the
    /// display path `/{segments…}`.
    pub(crate) fn api_url(&self, segments: &[&str], query: &[(&str, String)]) -> (Url, String) {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["v1.0", "myorg"])
                .extend(segments);
        }
        set_query(&mut url, query);
        (url, format!("/{}", segments.join("/")))
    }

    /// A metadata call to the API with the standard timeout.
    pub(crate) fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: RequestBody,
        idempotency: Idempotency,
    ) -> Call {
        let (url, display) = self.api_url(segments, query);
        Call {
            method,
            url,
            display,
            body,
            idempotency,
            auth: true,
            headers: Vec::new(),
            timeout: Some(self.inner.config.metadata_timeout),
        }
    }

    /// GET and decode JSON (an empty body decodes as `{}`).
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let call = self.call(
            Method::GET,
            segments,
            query,
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        self.execute_json(call).await
    }

    /// GET an OData collection and return its `value`.
    pub(crate) async fn get_list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<Vec<T>, ClientError> {
        Ok(self.get_json::<ODataList<T>>(segments, &[]).await?.value)
    }

    /// GET every page of a `$top`/`$skip` collection; stops at the first short page.
    pub(crate) async fn get_paged<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ClientError> {
        let top = self.inner.config.page_size as usize;
        let mut all = Vec::new();
        loop {
            let mut q = query.to_vec();
            q.push(("$top", top.to_string()));
            q.push(("$skip", all.len().to_string()));
            let page = self.get_json::<ODataList<T>>(segments, &q).await?.value;
            let n = page.len();
            all.extend(page);
            // A page longer than asked means the service ignored paging: it was everything.
            if n != top {
                return Ok(all);
            }
        }
    }

    /// Sends a request whose success body is ignored (many actions answer 200 empty).
    pub(crate) async fn send_unit(
        &self,
        method: Method,
        segments: &[&str],
        body: RequestBody,
        idempotency: Idempotency,
    ) -> Result<(), ClientError> {
        let call = self.call(method, segments, &[], body, idempotency);
        self.execute(call).await.map(drop)
    }

    /// Executes and decodes the JSON answer.
    pub(crate) async fn execute_json<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<T, ClientError> {
        let method = call.method.to_string();
        let display = call.display.clone();
        let response = self.execute(call).await?;
        decode_response(response, &method, &display).await
    }

    /// Sends `call` until it succeeds or the retry policy gives up; follows 307/308
    /// redirects by replaying the same method and a rebuilt body.
    pub(crate) async fn execute(&self, call: Call) -> Result<Response, ClientError> {
        let mut retries = Retries::new(&self.inner.config.retry);
        let mut url = call.url.clone();
        let mut redirects = 0u8;
        let mut attempt = 0u32;
        let mut internal_errors = 0u32;
        loop {
            attempt += 1;
            let (decision, error, retry_after, status, request_id) =
                match self.limited_attempt(&call, &url).await {
                    Ok(resp) if resp.status().is_success() => {
                        debug!(method = %call.method, path = %call.display,
                               status = resp.status().as_u16(),
                               request_id = request_id_of(resp.headers()).as_deref(), "ok");
                        return Ok(resp);
                    }
                    Ok(resp) if is_replay_redirect(resp.status()) => {
                        redirects += 1;
                        url = self.redirect_target(&call, &url, &resp, redirects)?;
                        debug!(method = %call.method, path = %call.display,
                               to = %redact_url(url.as_str()), "following redirect");
                        continue;
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        let ra = retry_after(resp.headers(), SystemTime::now());
                        let rid = request_id_of(resp.headers());
                        let body = resp.text().await.unwrap_or_default();
                        let err = ApiError::from_parts(
                            call.method.as_str(),
                            &call.display,
                            status,
                            rid.clone(),
                            &body,
                        );
                        let decision = classify_status(status, call.idempotency, internal_errors);
                        if status == StatusCode::INTERNAL_SERVER_ERROR {
                            internal_errors += 1;
                        }
                        (decision, ClientError::from(err), ra, Some(status), rid)
                    }
                    Err(AttemptError::Fatal(e)) => return Err(e),
                    Err(AttemptError::Transport(e)) => {
                        let decision = classify_transport(&e, call.idempotency);
                        let err = ClientError::Transport {
                            method: call.method.to_string(),
                            path: call.display.clone(),
                            source: e.without_url(),
                        };
                        (decision, err, None, None, None)
                    }
                };
            match decision {
                Decision::Fail => return Err(error),
                Decision::Ambiguous => {
                    return Err(ClientError::Ambiguous {
                        method: call.method.to_string(),
                        path: call.display.clone(),
                        cause: Box::new(error),
                    });
                }
                Decision::Retry => {
                    let throttled = status == Some(StatusCode::TOO_MANY_REQUESTS);
                    let Some(delay) = retries.next_delay(throttled, retry_after) else {
                        return Err(error);
                    };
                    warn!(method = %call.method, path = %call.display,
                          status = status.map(|s| s.as_u16()), attempt,
                          delay_ms = delay.as_millis() as u64,
                          request_id = request_id.as_deref(),
                          error = %error, "retrying Power BI request");
                    if let RequestBody::Multipart(src) = &call.body {
                        src.restart();
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt within the in-flight window; tells the limiter about 429s and successes.
    async fn limited_attempt(&self, call: &Call, url: &Url) -> Result<Response, AttemptError> {
        let limiter = &self.inner.limiter;
        let permit = limiter.acquire().await;
        let result = self.attempt(call, url).await;
        if let Ok(resp) = &result {
            let policy = &self.inner.config.retry;
            if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                let pause = retry_after(resp.headers(), SystemTime::now())
                    .map_or(policy.min_delay, |d| d.min(policy.max_retry_after));
                limiter.throttled(pause);
            } else if resp.status().is_success() {
                limiter.succeeded();
            }
        }
        drop(permit);
        result
    }

    /// Sends one attempt of `call` to `url`.
    async fn attempt(&self, call: &Call, url: &Url) -> Result<Response, AttemptError> {
        let mut rb = self.inner.http.request(call.method.clone(), url.clone());
        if call.auth {
            let token = self
                .inner
                .tokens
                .token()
                .await
                .map_err(|e| AttemptError::Fatal(e.into()))?;
            rb = rb.bearer_auth(token.token.expose_secret());
        }
        for (name, value) in &call.headers {
            rb = rb.header(name, value);
        }
        if let Some(t) = call.timeout {
            rb = rb.timeout(t);
        }
        let sends_body = call.method != Method::GET && call.method != Method::DELETE;
        rb = match &call.body {
            RequestBody::Empty if sends_body => rb.header(CONTENT_LENGTH, "0").body(Vec::new()),
            RequestBody::Empty => rb,
            RequestBody::Json(bytes) => rb
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(bytes.clone()),
            RequestBody::Bytes(bytes, content_type) => {
                rb.header(CONTENT_TYPE, *content_type).body(bytes.clone())
            }
            RequestBody::Multipart(src) => {
                rb.multipart(src.form().await.map_err(AttemptError::Fatal)?)
            }
        };
        rb.send().await.map_err(AttemptError::Transport)
    }

    /// The URL a 307/308 points at, checked like the configured URL.
    fn redirect_target(
        &self,
        call: &Call,
        current: &Url,
        resp: &Response,
        redirects: u8,
    ) -> Result<Url, ClientError> {
        let fail = |reason: String| ClientError::Redirect {
            method: call.method.to_string(),
            path: call.display.clone(),
            reason,
        };
        if redirects > self.inner.config.max_redirects {
            return Err(fail(format!(
                "more than {} redirects",
                self.inner.config.max_redirects
            )));
        }
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail(format!("{} without a Location header", resp.status())))?;
        let target = current
            .join(location)
            .map_err(|e| fail(format!("bad Location {}: {e}", redact_url(location))))?;
        check_transport(&target)?;
        Ok(target)
    }
}

/// Serialises a request body.
pub(crate) fn json_body<T: Serialize>(value: &T) -> RequestBody {
    // Serialising these plain structs cannot fail (string keys, no maps with non-string keys).
    RequestBody::Json(serde_json::to_vec(value).unwrap_or_default())
}

/// Reads a response's body and decodes it as JSON ([`decode_body`]).
pub(crate) async fn decode_response<T: DeserializeOwned>(
    response: Response,
    method: &str,
    display: &str,
) -> Result<T, ClientError> {
    let text = response
        .text()
        .await
        .map_err(|source| ClientError::Transport {
            method: method.to_owned(),
            path: display.to_owned(),
            source,
        })?;
    decode_body(&text).map_err(|source| ClientError::Decode {
        method: method.to_owned(),
        path: display.to_owned(),
        source,
    })
}

/// Decodes a JSON answer; an empty body decodes as `{}` so empty 200s are accepted.
pub(crate) fn decode_body<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let trimmed = text.trim();
    serde_json::from_str(if trimmed.is_empty() { "{}" } else { trimmed })
}

fn is_replay_redirect(status: StatusCode) -> bool {
    status == StatusCode::TEMPORARY_REDIRECT || status == StatusCode::PERMANENT_REDIRECT
}

/// The service's request id header (`RequestId`, else `x-ms-request-id`).
pub(crate) fn request_id_of(headers: &HeaderMap) -> Option<String> {
    ["requestid", "x-ms-request-id"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok())
        .map(str::to_owned)
}

/// Refuses anything but https, except plain http to a loopback address (emulators, tests).
pub fn check_transport(url: &Url) -> Result<(), ClientError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(ClientError::InsecureUrl {
            url: redact_url(url.as_str()),
        }),
        other => Err(ClientError::InvalidUrl {
            url: redact_url(url.as_str()),
            reason: format!("unsupported scheme {other}; use https://"),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Sets the query, percent-encoding values (spaces as `%20`, which OData expects) but
/// keeping `$`, `'` and parentheses readable.
fn set_query(url: &mut Url, query: &[(&str, String)]) {
    if query.is_empty() {
        return;
    }
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
        .collect();
    url.set_query(Some(&encoded.join("&")));
}

fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost/",
            "http://[::1]:9/",
            "https://api.powerbi.com",
            "http://127.5.6.7",
        ] {
            assert!(check_transport(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.powerbi.com",
            "http://10.0.0.1",
            "ftp://localhost",
        ] {
            assert!(check_transport(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode_query("tolower(name) eq 'sales & co #1'"),
            "tolower(name)%20eq%20'sales%20%26%20co%20%231'"
        );
        assert_eq!(encode_query("é"), "%C3%A9");
    }

    #[test]
    fn empty_body_decodes_as_default() {
        let v: ODataList<String> = decode_body("").unwrap();
        assert!(v.value.is_empty());
    }
}
