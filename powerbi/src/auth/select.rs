//! Choosing the authentication method from settings and environment variables (azure-identity
//! conventions), and per-cloud hosts and scopes.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::{
    AuthError, AzureCliProvider, CachingProvider, ClientAuth, ClientCertificate,
    DEFAULT_IMDS_ENDPOINT, EntraApp, EntraProvider, ManagedIdentityProvider, StaticTokenProvider,
    TokenProvider,
};
use crate::env_vars::{self as vars, VarSource};

/// The Power BI national clouds, with the hosts Microsoft documents for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    /// Commercial.
    #[default]
    Public,
    /// US Government (GCC).
    UsGov,
    /// US Government GCC High.
    UsGovHigh,
    /// US DoD.
    UsDod,
    /// China (21Vianet).
    China,
}

impl Cloud {
    /// Parses `public`, `usgov`/`gcc`, `usgovhigh`/`gcchigh`, `dod`, `china`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(
            match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
                "public" | "commercial" | "azurecloud" => Self::Public,
                "usgov" | "gcc" => Self::UsGov,
                "usgovhigh" | "gcchigh" => Self::UsGovHigh,
                "dod" | "usdod" | "usgovdod" => Self::UsDod,
                "china" | "azurechinacloud" => Self::China,
                _ => return None,
            },
        )
    }
    /// The Entra authority host URL.
    #[must_use]
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Public | Self::UsGov => "https://login.microsoftonline.com",
            Self::UsGovHigh | Self::UsDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }
    /// The Power BI resource (audience) URI.
    #[must_use]
    pub fn resource(self) -> &'static str {
        match self {
            Self::Public => "https://analysis.windows.net/powerbi/api",
            Self::UsGov => "https://analysis.usgovcloudapi.net/powerbi/api",
            Self::UsGovHigh => "https://high.analysis.usgovcloudapi.net/powerbi/api",
            Self::UsDod => "https://mil.analysis.usgovcloudapi.net/powerbi/api",
            Self::China => "https://analysis.chinacloudapi.cn/powerbi/api",
        }
    }
    /// The client-credentials scope: the resource plus `/.default`.
    #[must_use]
    pub fn scope(self) -> String {
        format!("{}/.default", self.resource())
    }
    /// The Power BI REST API base URL.
    #[must_use]
    pub fn api_base(self) -> &'static str {
        match self {
            Self::Public => "https://api.powerbi.com",
            Self::UsGov => "https://api.powerbigov.us",
            Self::UsGovHigh => "https://api.high.powerbigov.us",
            Self::UsDod => "https://api.mil.powerbigov.us",
            Self::China => "https://api.powerbi.cn",
        }
    }
}

/// An authentication method (the CLI's `--auth` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `PBIDEPLOY_ACCESS_TOKEN`.
    AccessToken,
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_CLIENT_CERTIFICATE_PATH`.
    ClientCertificate,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    GithubOidc,
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, else IMDS.
    ManagedIdentity,
    /// `az account get-access-token`.
    AzureCli,
}

impl Method {
    /// Auto-selection order.
    pub const ORDER: [Method; 7] = [
        Self::AccessToken,
        Self::ClientSecret,
        Self::ClientCertificate,
        Self::WorkloadIdentity,
        Self::GithubOidc,
        Self::ManagedIdentity,
        Self::AzureCli,
    ];

    /// The `--auth` spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::AccessToken => "access-token",
            Self::ClientSecret => "client-secret",
            Self::ClientCertificate => "client-certificate",
            Self::WorkloadIdentity => "workload-identity",
            Self::GithubOidc => "github-oidc",
            Self::ManagedIdentity => "managed-identity",
            Self::AzureCli => "azure-cli",
        }
    }

    /// Whether this method's own settings are present (Azure CLI always is: it is the fallback).
    fn present(self, env: &dyn VarSource) -> bool {
        let has = |n: &str| env.var(n).is_some();
        match self {
            Self::AccessToken => has(vars::PBIDEPLOY_ACCESS_TOKEN),
            Self::ClientSecret => has(vars::AZURE_CLIENT_SECRET),
            Self::ClientCertificate => has(vars::AZURE_CLIENT_CERTIFICATE_PATH),
            Self::WorkloadIdentity => has(vars::AZURE_FEDERATED_TOKEN_FILE),
            Self::GithubOidc => {
                has(vars::ACTIONS_ID_TOKEN_REQUEST_URL) && has(vars::ACTIONS_ID_TOKEN_REQUEST_TOKEN)
            }
            Self::ManagedIdentity => has(vars::IDENTITY_ENDPOINT) && has(vars::IDENTITY_HEADER),
            Self::AzureCli => true,
        }
    }
}

/// What the caller decides outside the environment.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// An explicit method (`--auth`); `None` picks the first whose settings are present.
    pub method: Option<Method>,
    /// The cloud (authority host and scope); `AZURE_AUTHORITY_HOST` overrides the host.
    pub cloud: Cloud,
    /// The `az` program and the PATH for it (tests); `None` means `az` on the real PATH.
    pub az_program: Option<(PathBuf, Option<std::ffi::OsString>)>,
    /// The HTTP client to use; a default one is built when `None`.
    pub http: Option<reqwest::Client>,
    /// Another resource (audience) than the cloud's Power BI API, e.g. Azure Storage
    /// (`https://storage.azure.com`) for a ledger kept in Azure Blob Storage.
    pub resource: Option<String>,
}

/// The method that will be used: the explicit one, else the first whose settings are present.
#[must_use]
pub fn select_method(settings: &AuthSettings, env: &dyn VarSource) -> Method {
    settings.method.unwrap_or_else(|| {
        Method::ORDER
            .into_iter()
            .find(|m| m.present(env))
            .unwrap_or(Method::AzureCli)
    })
}

/// Builds the selected provider, wrapped in a [`CachingProvider`], and logs which one.
///
/// # Errors
/// When the method's settings are missing or invalid; the message names the variables.
pub fn provider_from_env(
    settings: &AuthSettings,
    env: &dyn VarSource,
) -> Result<Arc<dyn TokenProvider>, AuthError> {
    let method = select_method(settings, env);
    let how = if settings.method.is_some() {
        "requested"
    } else {
        "first with settings present"
    };
    tracing::info!(
        method = method.name(),
        "authenticating with {} ({how})",
        method.name()
    );
    let inner = build(method, settings, env)?;
    Ok(Arc::new(CachingProvider::new(inner)))
}

fn required(env: &dyn VarSource, method: Method, name: &str) -> Result<String, AuthError> {
    env.var(name).ok_or_else(|| {
        AuthError::new(
            method.name(),
            format!(
                "{name} is not set; it is required for --auth {}",
                method.name()
            ),
        )
    })
}

fn build(
    method: Method,
    settings: &AuthSettings,
    env: &dyn VarSource,
) -> Result<Arc<dyn TokenProvider>, AuthError> {
    let http = settings.http.clone().unwrap_or_default();
    let cloud = settings.cloud;
    let resource = settings
        .resource
        .clone()
        .unwrap_or_else(|| cloud.resource().to_owned());
    let client_id = env.var(vars::AZURE_CLIENT_ID);
    let entra = |auth: ClientAuth| -> Result<Arc<dyn TokenProvider>, AuthError> {
        let app = EntraApp {
            authority: env
                .var(vars::AZURE_AUTHORITY_HOST)
                .unwrap_or_else(|| cloud.authority_host().to_owned()),
            tenant: required(env, method, vars::AZURE_TENANT_ID)?,
            client_id: required(env, method, vars::AZURE_CLIENT_ID)?,
            scope: format!("{resource}/.default"),
        };
        Ok(Arc::new(EntraProvider::new(http.clone(), app, auth)?))
    };
    match method {
        Method::AccessToken => Ok(Arc::new(StaticTokenProvider::new(SecretString::from(
            required(env, method, vars::PBIDEPLOY_ACCESS_TOKEN)?,
        )))),
        Method::ClientSecret => entra(ClientAuth::Secret(SecretString::from(required(
            env,
            method,
            vars::AZURE_CLIENT_SECRET,
        )?))),
        Method::ClientCertificate => {
            if env.var(vars::AZURE_CLIENT_CERTIFICATE_PASSWORD).is_some() {
                return Err(AuthError::new(
                    method.name(),
                    "AZURE_CLIENT_CERTIFICATE_PASSWORD is set, but password-protected \
                     certificates are not supported; use an unencrypted PEM (certificate + \
                     private key) kept as a secret file",
                ));
            }
            let path = required(env, method, vars::AZURE_CLIENT_CERTIFICATE_PATH)?;
            let pem = std::fs::read_to_string(&path).map_err(|e| {
                AuthError::new(
                    method.name(),
                    format!("cannot read certificate `{path}`: {e}"),
                )
            })?;
            let cert = ClientCertificate::from_pem(&pem)
                .map_err(|e| AuthError::new(method.name(), format!("`{path}`: {e}")))?;
            entra(ClientAuth::Certificate(Box::new(cert)))
        }
        Method::WorkloadIdentity => entra(ClientAuth::FederatedTokenFile(PathBuf::from(required(
            env,
            method,
            vars::AZURE_FEDERATED_TOKEN_FILE,
        )?))),
        Method::GithubOidc => entra(ClientAuth::GithubOidc {
            request_url: required(env, method, vars::ACTIONS_ID_TOKEN_REQUEST_URL)?,
            request_token: SecretString::from(required(
                env,
                method,
                vars::ACTIONS_ID_TOKEN_REQUEST_TOKEN,
            )?),
        }),
        Method::ManagedIdentity => {
            match (
                env.var(vars::IDENTITY_ENDPOINT),
                env.var(vars::IDENTITY_HEADER),
            ) {
                (Some(endpoint), Some(header)) => {
                    Ok(Arc::new(ManagedIdentityProvider::app_service(
                        http,
                        endpoint,
                        SecretString::from(header),
                        resource,
                        client_id,
                    )))
                }
                _ => {
                    let base = env
                        .var(vars::PBIDEPLOY_IMDS_ENDPOINT)
                        .unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_owned());
                    Ok(Arc::new(ManagedIdentityProvider::imds(
                        http, base, resource, client_id,
                    )))
                }
            }
        }
        Method::AzureCli => {
            let mut p = AzureCliProvider::new(resource, env.var(vars::AZURE_TENANT_ID));
            if let Some((program, path)) = &settings.az_program {
                p = p.with_program(program.clone(), path.clone());
            }
            Ok(Arc::new(p))
        }
    }
}
