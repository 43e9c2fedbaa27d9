//! Helpers shared by the wiremock client tests: a static token provider and a client with
//! tiny retry delays pointed at the mock server.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pbideploy::powerbi::auth::{AccessToken, TokenFuture, TokenProvider};
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::retry::RetryPolicy;
use secrecy::SecretString;

pub const TOKEN: &str = "test-token-123";
pub const UA: &str = "pbideploy-test/1";

/// `../shared/<rel>` beside the repository: the independent data (the official swagger,
/// encryption vectors, real PBIX files) that the checks against an outside truth read. Such a
/// test must never pass unseen without it: when `CI` is set (`.ci/run` sets it) an absent
/// path fails the test, naming the path; elsewhere a `SKIP` line goes straight to stdout,
/// which libtest does not capture, and the caller returns early. Count them with
/// `cargo test 2>&1 | grep -c '^SKIP'`.
pub fn shared_data(rel: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if path.exists() {
        return Some(path);
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    assert!(
        !ci,
        "{} is absent and CI is set: {test} checks against that independent data and must \
         not be skipped (clone the shared folder beside the repository)",
        path.display()
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stdout(),
        "SKIP {test}: {} is absent",
        path.display()
    );
    None
}

pub struct StaticToken;

impl TokenProvider for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async {
            Ok(AccessToken {
                token: SecretString::from(TOKEN),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            })
        })
    }

    fn method(&self) -> &'static str {
        "static test token"
    }
}

pub fn config(base: &str) -> ClientConfig {
    ClientConfig {
        api_base_url: base.to_owned(),
        user_agent: UA.to_owned(),
        retry: RetryPolicy {
            max_retries: 3,
            max_throttled_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(5),
            jitter: false,
        },
        poll_initial: Duration::from_millis(1),
        poll_max: Duration::from_millis(5),
        ..ClientConfig::default()
    }
}

pub fn client_with(config: ClientConfig) -> PowerBiClient {
    PowerBiClient::new(config, Arc::new(StaticToken)).unwrap()
}

pub fn client(base: &str) -> PowerBiClient {
    client_with(config(base))
}

/// `/v1.0/myorg` + `rest`.
pub fn api(rest: &str) -> String {
    format!("/v1.0/myorg{rest}")
}
