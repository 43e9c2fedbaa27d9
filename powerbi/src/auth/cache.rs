//! Token cache: refreshes before expiry and lets one caller refresh while the others wait.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{AccessToken, TokenFuture, TokenProvider};

/// Default refresh margin: renew five minutes before the token expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Wraps any provider; the token is reused until `margin` before its expiry, and concurrent
/// callers share one refresh (a tokio mutex is held across the fetch).
pub struct CachingProvider {
    inner: Arc<dyn TokenProvider>,
    margin: Duration,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

impl CachingProvider {
    /// Caches `inner` with the default five-minute margin.
    #[must_use]
    pub fn new(inner: Arc<dyn TokenProvider>) -> Self {
        Self::with_margin(inner, DEFAULT_REFRESH_MARGIN)
    }

    /// Caches `inner`, refreshing `margin` before expiry.
    #[must_use]
    pub fn with_margin(inner: Arc<dyn TokenProvider>, margin: Duration) -> Self {
        Self {
            inner,
            margin,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

impl TokenProvider for CachingProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some(token) = cached.as_ref()
                && token
                    .expires_at
                    .duration_since(SystemTime::now())
                    .is_ok_and(|left| left > self.margin)
            {
                return Ok(token.clone());
            }
            let fresh = self.inner.token().await?;
            tracing::debug!(method = self.inner.method(), "acquired a new access token");
            *cached = Some(fresh.clone());
            Ok(fresh)
        })
    }
    fn method(&self) -> &'static str {
        self.inner.method()
    }
}
