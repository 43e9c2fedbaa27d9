//! The Entra ID v2 token endpoint with the client-credentials grant: client secret, certificate
//! assertion, and federated assertions (token file or GitHub Actions OIDC).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cert::ClientCertificate;
use super::{AccessToken, AuthError, TokenFuture, TokenProvider};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GITHUB_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Where the app authenticates: authority host, tenant, client id and the scope wanted.
#[derive(Debug, Clone)]
pub struct EntraApp {
    /// Authority host URL, for example `https://login.microsoftonline.com`.
    pub authority: String,
    /// Tenant id or verified domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// Scope, for example `https://analysis.windows.net/powerbi/api/.default`.
    pub scope: String,
}

impl EntraApp {
    /// `{authority}/{tenant}/oauth2/v2.0/token`, refusing plain http except for loopback hosts
    /// (the emulator).
    ///
    /// # Errors
    /// When the authority is not https (or loopback http) or the tenant is empty.
    pub fn token_url(&self, method: &str) -> Result<String, AuthError> {
        check_url(
            method,
            "the authority host (AZURE_AUTHORITY_HOST)",
            &self.authority,
        )?;
        if self.tenant.trim().is_empty() || self.tenant.contains('/') {
            return Err(AuthError::new(
                method,
                "AZURE_TENANT_ID is empty or not a tenant id/domain",
            ));
        }
        Ok(format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority.trim_end_matches('/'),
            self.tenant.trim()
        ))
    }
}

/// Accepts `https://…`, or `http://` only for 127.0.0.1, ::1 and localhost.
pub(crate) fn check_url(method: &str, what: &str, url: &str) -> Result<(), AuthError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Ok(());
        }
    }
    Err(AuthError::new(
        method,
        format!("{what} `{url}` must be an https URL (plain http is allowed only for loopback)"),
    ))
}

/// How the client proves its identity to the token endpoint.
pub enum ClientAuth {
    /// `client_secret`.
    Secret(SecretString),
    /// A JWT assertion signed with the certificate's private key.
    Certificate(Box<ClientCertificate>),
    /// A federated token read fresh from this file on every request (it rotates).
    FederatedTokenFile(PathBuf),
    /// GitHub Actions OIDC: request URL and bearer token.
    GithubOidc {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: SecretString,
    },
}

impl ClientAuth {
    fn method(&self) -> &'static str {
        match self {
            Self::Secret(_) => "client secret",
            Self::Certificate(_) => "client certificate",
            Self::FederatedTokenFile(_) => "workload identity (federated token file)",
            Self::GithubOidc { .. } => "GitHub Actions OIDC",
        }
    }
}

/// Gets tokens from Entra ID with the client-credentials grant.
pub struct EntraProvider {
    http: reqwest::Client,
    app: EntraApp,
    token_url: String,
    auth: ClientAuth,
}

impl EntraProvider {
    /// A provider for `app` authenticating with `auth`.
    ///
    /// # Errors
    /// When the authority host or tenant is invalid.
    pub fn new(http: reqwest::Client, app: EntraApp, auth: ClientAuth) -> Result<Self, AuthError> {
        let token_url = app.token_url(auth.method())?;
        if app.client_id.trim().is_empty() {
            return Err(AuthError::new(auth.method(), "AZURE_CLIENT_ID is empty"));
        }
        Ok(Self {
            http,
            app,
            token_url,
            auth,
        })
    }

    /// The token endpoint URL (also the certificate assertion's audience).
    #[must_use]
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    async fn client_assertion(&self) -> Result<SecretString, AuthError> {
        let method = self.auth.method();
        match &self.auth {
            ClientAuth::Secret(_) => Err(AuthError::new(method, "no assertion for a secret")),
            ClientAuth::Certificate(cert) => cert
                .assertion(&self.app.client_id, &self.token_url)
                .map_err(|e| AuthError::new(method, e)),
            ClientAuth::FederatedTokenFile(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    AuthError::new(
                        method,
                        format!(
                            "cannot read AZURE_FEDERATED_TOKEN_FILE `{}`: {e}",
                            path.display()
                        ),
                    )
                })?;
                let token = text.trim();
                if token.is_empty() {
                    return Err(AuthError::new(
                        method,
                        format!("the federated token file `{}` is empty", path.display()),
                    ));
                }
                Ok(SecretString::from(token.to_owned()))
            }
            ClientAuth::GithubOidc {
                request_url,
                request_token,
            } => self.github_token(request_url, request_token).await,
        }
    }

    async fn github_token(
        &self,
        request_url: &str,
        request_token: &SecretString,
    ) -> Result<SecretString, AuthError> {
        let method = self.auth.method();
        check_url(
            method,
            crate::env_vars::ACTIONS_ID_TOKEN_REQUEST_URL,
            request_url,
        )?;
        let sep = if request_url.contains('?') { '&' } else { '?' };
        let url = format!("{request_url}{sep}audience={GITHUB_AUDIENCE}");
        let resp = self
            .http
            .get(url)
            .bearer_auth(request_token.expose_secret())
            .send()
            .await
            .map_err(|e| AuthError::new(method, format!("GitHub OIDC request failed: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(AuthError::new(
                method,
                format!(
                    "GitHub OIDC token request returned HTTP {status}; does the job have \
                     `permissions: id-token: write`?"
                ),
            ));
        }
        #[derive(Deserialize)]
        struct Oidc {
            value: Option<String>,
        }
        let body: Oidc = resp.json().await.map_err(|e| {
            AuthError::new(method, format!("GitHub OIDC response is not JSON: {e}"))
        })?;
        body.value
            .filter(|v| !v.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| AuthError::new(method, "GitHub OIDC response has no `value`"))
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let method = self.auth.method();
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.app.client_id.clone()),
            ("scope", self.app.scope.clone()),
        ];
        if let ClientAuth::Secret(secret) = &self.auth {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        } else {
            let assertion = self.client_assertion().await?;
            form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
            form.push(("client_assertion", assertion.expose_secret().to_owned()));
        }
        let result = self.http.post(&self.token_url).form(&form).send().await;
        // The form holds the secret or assertion in clear: wipe it now.
        for (_, v) in &mut form {
            zeroize::Zeroize::zeroize(v);
        }
        let resp = result.map_err(|e| {
            AuthError::new(
                method,
                format!("token request to {} failed: {e}", self.token_url),
            )
        })?;
        parse_token_response(method, resp).await
    }
}

impl TokenProvider for EntraProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.fetch())
    }
    fn method(&self) -> &'static str {
        self.auth.method()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

/// A number that may arrive as a JSON number or a string of digits.
pub(crate) fn as_secs(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// Decodes a token endpoint response, surfacing `error` / `error_description` (AADSTS…).
pub(crate) async fn parse_token_response(
    method: &str,
    resp: reqwest::Response,
) -> Result<AccessToken, AuthError> {
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| AuthError::new(method, format!("reading the token response failed: {e}")))?;
    let body: Option<TokenResponse> = serde_json::from_str(&text).ok();
    match body {
        Some(TokenResponse {
            access_token: Some(token),
            expires_in,
            ..
        }) if status.is_success() && !token.is_empty() => {
            let secs = expires_in.as_ref().and_then(as_secs).unwrap_or(3600);
            Ok(AccessToken {
                token: SecretString::from(token),
                expires_at: SystemTime::now() + Duration::from_secs(secs),
            })
        }
        Some(TokenResponse {
            error: Some(error),
            error_description,
            ..
        }) => Err(AuthError::new(
            method,
            describe_entra_error(status, &error, error_description.as_deref()),
        )),
        _ => Err(AuthError::new(
            method,
            format!("the token endpoint answered HTTP {status} without a token or an error"),
        )),
    }
}

/// `HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided. (hint)`; the
/// trace and correlation ids after the first line of the description are dropped.
fn describe_entra_error(
    status: reqwest::StatusCode,
    error: &str,
    description: Option<&str>,
) -> String {
    let first = description
        .and_then(|d| d.lines().next())
        .unwrap_or("")
        .trim();
    let hint = aadsts_hint(first);
    let mut out = format!("HTTP {} {error}", status.as_u16());
    if !first.is_empty() {
        out.push_str(": ");
        out.push_str(first);
    }
    if let Some(hint) = hint {
        out.push_str(" (");
        out.push_str(hint);
        out.push(')');
    }
    out
}

fn aadsts_hint(description: &str) -> Option<&'static str> {
    let code = description
        .strip_prefix("AADSTS")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    Some(match code {
        "7000215" => {
            "the client secret is wrong: check AZURE_CLIENT_SECRET is the secret value, not its id"
        }
        "7000222" => "the client secret has expired: create a new one",
        "700016" => {
            "the application is not found in this tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID"
        }
        "90002" => "the tenant is not found: check AZURE_TENANT_ID",
        "70011" => "the scope is invalid for this cloud",
        "700027" => {
            "the assertion signature is invalid or the certificate is not registered on the app"
        }
        "700024" => {
            "the assertion is outside its valid time range: check the clock or the token file"
        }
        "70021" => {
            "no federated credential on the app matches this token's issuer/subject/audience"
        }
        "53003" => "blocked by Conditional Access",
        _ => return None,
    })
}
