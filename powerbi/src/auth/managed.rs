//! Managed identity: App Service / Azure Arc style (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) or
//! the instance metadata service (IMDS).

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::entra::as_secs;
use super::{AccessToken, AuthError, TokenFuture, TokenProvider};

/// The real IMDS address. Tests must pass a loopback stand-in instead.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";

const METHOD: &str = "managed identity";

enum Kind {
    AppService {
        endpoint: String,
        header: SecretString,
    },
    Imds {
        base: String,
    },
}

/// Gets tokens for the host's managed identity.
pub struct ManagedIdentityProvider {
    http: reqwest::Client,
    kind: Kind,
    resource: String,
    client_id: Option<String>,
}

impl ManagedIdentityProvider {
    /// App Service / Arc: `GET {endpoint}?resource=…&api-version=2019-08-01` with
    /// `X-IDENTITY-HEADER`. `client_id` selects a user-assigned identity.
    #[must_use]
    pub fn app_service(
        http: reqwest::Client,
        endpoint: String,
        header: SecretString,
        resource: String,
        client_id: Option<String>,
    ) -> Self {
        Self {
            http,
            kind: Kind::AppService { endpoint, header },
            resource,
            client_id,
        }
    }

    /// IMDS at `base` (normally [`DEFAULT_IMDS_ENDPOINT`]; `PBIDEPLOY_IMDS_ENDPOINT` overrides).
    #[must_use]
    pub fn imds(
        http: reqwest::Client,
        base: String,
        resource: String,
        client_id: Option<String>,
    ) -> Self {
        Self {
            http,
            kind: Kind::Imds { base },
            resource,
            client_id,
        }
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let mut query = vec![("resource", self.resource.as_str())];
        if let Some(id) = &self.client_id {
            query.push(("client_id", id));
        }
        let (request, where_) = match &self.kind {
            Kind::AppService { endpoint, header } => {
                query.push(("api-version", "2019-08-01"));
                let req = self
                    .http
                    .get(endpoint)
                    .query(&query)
                    .header("X-IDENTITY-HEADER", header.expose_secret());
                (req, endpoint.clone())
            }
            Kind::Imds { base } => {
                query.push(("api-version", "2018-02-01"));
                let url = format!(
                    "{}/metadata/identity/oauth2/token",
                    base.trim_end_matches('/')
                );
                let req = self
                    .http
                    .get(&url)
                    .query(&query)
                    .header("Metadata", "true")
                    .timeout(Duration::from_secs(10));
                (req, url)
            }
        };
        let resp = request.send().await.map_err(|e| {
            AuthError::new(
                METHOD,
                format!("the identity endpoint {where_} did not answer: {e}"),
            )
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            AuthError::new(METHOD, format!("reading the identity response failed: {e}"))
        })?;
        parse(status, &text)
    }
}

#[derive(Deserialize)]
struct MiResponse {
    access_token: Option<String>,
    expires_on: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
}

fn parse(status: reqwest::StatusCode, text: &str) -> Result<AccessToken, AuthError> {
    let body: Option<MiResponse> = serde_json::from_str(text).ok();
    let Some(body) = body else {
        return Err(AuthError::new(
            METHOD,
            format!("the identity endpoint answered HTTP {status} with a non-JSON body"),
        ));
    };
    match body.access_token {
        Some(token) if status.is_success() && !token.is_empty() => {
            let expires_at = body
                .expires_on
                .as_ref()
                .and_then(as_secs)
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
                .or_else(|| {
                    let secs = body.expires_in.as_ref().and_then(as_secs)?;
                    Some(SystemTime::now() + Duration::from_secs(secs))
                })
                .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600));
            Ok(AccessToken {
                token: SecretString::from(token),
                expires_at,
            })
        }
        _ => {
            let detail = [body.error, body.error_description, body.message]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            Err(AuthError::new(
                METHOD,
                format!(
                    "HTTP {status}: {}",
                    if detail.is_empty() {
                        "no token"
                    } else {
                        &detail
                    }
                ),
            ))
        }
    }
}

impl TokenProvider for ManagedIdentityProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.fetch())
    }
    fn method(&self) -> &'static str {
        METHOD
    }
}
