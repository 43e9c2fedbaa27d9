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

pub mod azurite;

#[path = "shared_data.rs"]
mod shared_rule;

/// `../shared/<rel>` beside the repository, or `None` after a visible SKIP notice; fails under
/// CI (the one rule: `tests/it/common/shared_data.rs`).
pub fn shared_data(rel: &str) -> Option<std::path::PathBuf> {
    shared_rule::beside(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), rel)
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
