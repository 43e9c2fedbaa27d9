//! Authentication to Microsoft Entra ID (azure-identity environment conventions).
//!
//! The contract the HTTP client relies on is [`TokenProvider`]: everything else in this module
//! is free to change.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use secrecy::SecretString;

/// A bearer token for the Power BI API, and when it stops being valid.
#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"(redacted)")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a token could not be had: the method tried and the reason (with the AADSTS code when
/// Entra gave one).
#[derive(Debug, thiserror::Error)]
#[error("authentication with {method} failed: {reason}")]
pub struct AuthError {
    pub method: String,
    pub reason: String,
}

/// Boxed future returned by [`TokenProvider::token`].
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Gives the client a valid token on every call; implementations cache and refresh before
/// expiry so that long applies keep working.
pub trait TokenProvider: Send + Sync {
    /// A token valid for at least the next few minutes.
    fn token(&self) -> TokenFuture<'_>;
    /// The method's name for logs and errors, for example `client secret`.
    fn method(&self) -> &'static str;
}

mod azcli;
mod cache;
mod cert;
mod entra;
mod managed;
mod select;

pub use azcli::AzureCliProvider;
pub use cache::{CachingProvider, DEFAULT_REFRESH_MARGIN};
pub use cert::ClientCertificate;
pub use entra::{ClientAuth, EntraApp, EntraProvider};
pub use managed::{DEFAULT_IMDS_ENDPOINT, ManagedIdentityProvider};
pub use select::{AuthSettings, Cloud, Method, provider_from_env, select_method};

impl AuthError {
    /// An error for `method` with `reason` (which must never contain a secret).
    pub fn new(method: &str, reason: impl Into<String>) -> Self {
        Self {
            method: method.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A fixed token (`PBIDEPLOY_ACCESS_TOKEN`). Its expiry is read from the JWT `exp` claim when
/// the token is a JWT; otherwise it is treated as valid for a day (it cannot be refreshed).
pub struct StaticTokenProvider {
    token: AccessToken,
}

impl StaticTokenProvider {
    /// Wraps `token`.
    #[must_use]
    pub fn new(token: SecretString) -> Self {
        use secrecy::ExposeSecret;
        let expires_at = jwt_expiry(token.expose_secret())
            .unwrap_or_else(|| SystemTime::now() + std::time::Duration::from_secs(24 * 3600));
        Self {
            token: AccessToken { token, expires_at },
        }
    }
}

impl TokenProvider for StaticTokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }
    fn method(&self) -> &'static str {
        "access token"
    }
}

/// The `exp` claim of a JWT, without verifying it (used only to know when to refresh).
#[must_use]
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(exp))
}
