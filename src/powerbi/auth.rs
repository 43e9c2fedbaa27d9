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
