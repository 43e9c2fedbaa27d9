//! Service settings and a connected client: which API and authority to talk to (manifest
//! `service`, `--service-url`, `--service local`) and how to authenticate.
//!
//! `plan` and `apply` both start here, so they reach the same service the same way.
//! `--service local` starts the emulator in this process with its state kept beside the
//! manifest, so the quickstart needs no tenant and no credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

use crate::env_vars::{self as vars, ProcessEnv, VarSource};
use crate::live::model::LivePrincipal;
use crate::manifest::{Cloud, LoadedManifest, Service};
use crate::powerbi::auth::{
    self, AuthError, AuthSettings, CachingProvider, ClientAuth, EntraApp, EntraProvider, Method,
    TokenProvider,
};
use crate::powerbi::client::{ClientConfig, PowerBiClient};
use crate::powerbi::error::ClientError;

/// Tenant and client id the local emulator session uses (open authentication accepts any).
pub const LOCAL_TENANT: &str = "local";
/// The client id the local session authenticates as; it shows as `configuredBy`.
pub const LOCAL_CLIENT_ID: &str = "pbideploy-local";

/// Why no session could be opened. Each names the setting and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot start the local service: {0}")]
    Local(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Where the service is: API base URL, authority host and token scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api_url: String,
    pub authority_url: String,
    pub scope: String,
}

/// The client's cloud for the manifest's `service.cloud` (public when `None`).
fn auth_cloud(cloud: Option<Cloud>) -> auth::Cloud {
    match cloud.unwrap_or(Cloud::Public) {
        Cloud::Public => auth::Cloud::Public,
        Cloud::Usgov => auth::Cloud::UsGov,
        Cloud::Usgovhigh => auth::Cloud::UsGovHigh,
        Cloud::Usdod => auth::Cloud::UsDod,
        Cloud::China => auth::Cloud::China,
    }
}

/// The endpoints of a named cloud (public when `None`), from the client's one table.
pub fn cloud_endpoints(cloud: Option<Cloud>) -> Endpoints {
    let cloud = auth_cloud(cloud);
    Endpoints {
        api_url: cloud.api_base().into(),
        authority_url: cloud.authority_host().into(),
        scope: cloud.scope(),
    }
}

/// Resolves endpoints from the manifest's `service`, then `--service-url` and
/// `AZURE_AUTHORITY_HOST` (the azure-identity convention, read from `env`) on top.
pub fn resolve_endpoints(
    service: &Service,
    service_url: Option<&str>,
    env: &dyn VarSource,
) -> Endpoints {
    let mut e = cloud_endpoints(service.cloud);
    if let Some(api) = &service.api_url {
        e.api_url = api.clone();
    }
    if let Some(auth) = &service.authority_url {
        e.authority_url = auth.clone();
    }
    if let Some(host) = env.var(vars::AZURE_AUTHORITY_HOST)
        && !host.trim().is_empty()
    {
        e.authority_url = host;
    }
    if let Some(url) = service_url {
        e.api_url = url.to_string();
    }
    e.api_url = e.api_url.trim_end_matches('/').to_string();
    e.authority_url = e.authority_url.trim_end_matches('/').to_string();
    e
}

/// A connected client plus what the planner needs to know about the caller. Holds the
/// in-process emulator (for `--service local`) so it lives as long as the session.
pub struct Session {
    pub client: PowerBiClient,
    /// The deploying principal, compared with dataset owners.
    pub principal: LivePrincipal,
    pub endpoints: Endpoints,
    /// Set for `--service local`.
    pub local: Option<LocalService>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("api_url", &self.endpoints.api_url)
            .field("local", &self.local.is_some())
            .finish()
    }
}

/// The emulator run in-process by `--service local`.
pub struct LocalService {
    pub emulator: pbideploy_emulator::RunningEmulator,
    pub state_file: PathBuf,
}

impl Session {
    /// Stops the local emulator (if any) so its state file is final.
    pub async fn close(self) {
        if let Some(local) = self.local {
            local.emulator.shutdown().await;
        }
    }
}

/// Where `--service local` keeps its state: `.pbideploy/local/state.json` beside the manifest.
pub fn local_state_path(manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or_else(|| Path::new("."));
    dir.join(".pbideploy").join("local").join("state.json")
}

/// Which service a command talks to and how it authenticates, beyond the manifest's
/// `service` settings (the command line's `--service`, `--service-url` and `--auth`).
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Run the built-in emulator in-process (`--service local`).
    pub local: bool,
    /// Override the API base URL.
    pub service_url: Option<String>,
    /// An explicit authentication method; `None` picks the first whose settings are present.
    pub auth: Option<Method>,
}

/// Opens a session for `manifest` with the command's service settings.
pub async fn connect(manifest: &LoadedManifest, args: &Target) -> Result<Session, SessionError> {
    connect_to(&manifest.path, &manifest.service, args).await
}

/// Opens a session from service settings alone: `init` has no manifest to read yet, only the
/// path it will write (`--service local` keeps its state beside it).
pub async fn connect_to(
    manifest_path: &Path,
    service: &Service,
    args: &Target,
) -> Result<Session, SessionError> {
    if args.local {
        return connect_local(manifest_path).await;
    }
    let endpoints = resolve_endpoints(service, args.service_url.as_deref(), &ProcessEnv);
    let tenant = service.tenant_id.as_deref();
    connect_remote(endpoints, service.cloud, tenant, args.auth).await
}

async fn connect_local(manifest: &Path) -> Result<Session, SessionError> {
    let state_file = local_state_path(manifest);
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| SessionError::Local(format!("cannot create {}: {e}", dir.display())))?;
    }
    let config = pbideploy_emulator::EmulatorConfig {
        state_file: Some(state_file.clone()),
        ..Default::default()
    };
    let emulator = pbideploy_emulator::start(config)
        .await
        .map_err(|e| SessionError::Local(e.to_string()))?;
    let url = emulator.url();
    let endpoints = Endpoints {
        api_url: url.clone(),
        authority_url: url,
        scope: "https://analysis.windows.net/powerbi/api/.default".into(),
    };
    let provider = client_secret_provider(
        &endpoints,
        LOCAL_TENANT,
        LOCAL_CLIENT_ID,
        SecretString::from("local"),
    )?;
    let mut session = finish(endpoints, provider, vec![LOCAL_CLIENT_ID.into()]).await?;
    session.local = Some(LocalService {
        emulator,
        state_file,
    });
    Ok(session)
}

/// The client-secret provider (Entra's client-credentials grant, cached) for `endpoints`: what
/// `--service local` and tests against the emulator authenticate with.
///
/// # Errors
/// When the authority URL, tenant or client id is invalid.
pub fn client_secret_provider(
    endpoints: &Endpoints,
    tenant: &str,
    client_id: &str,
    secret: SecretString,
) -> Result<Arc<dyn TokenProvider>, AuthError> {
    let app = EntraApp {
        authority: endpoints.authority_url.clone(),
        tenant: tenant.to_owned(),
        client_id: client_id.to_owned(),
        scope: endpoints.scope.clone(),
    };
    let inner = EntraProvider::new(reqwest::Client::new(), app, ClientAuth::Secret(secret))?;
    Ok(Arc::new(CachingProvider::new(Arc::new(inner))))
}

async fn connect_remote(
    endpoints: Endpoints,
    cloud: Option<Cloud>,
    tenant: Option<&str>,
    auth: Option<Method>,
) -> Result<Session, SessionError> {
    let settings = AuthSettings {
        method: auth,
        cloud: auth_cloud(cloud),
        ..AuthSettings::default()
    };
    let env = ManifestDefaults::new(&ProcessEnv, &endpoints, tenant);
    let provider = auth::provider_from_env(&settings, &env)?;
    let ids = env.var(vars::AZURE_CLIENT_ID).into_iter().collect();
    finish(endpoints, provider, ids).await
}

/// The process environment with the manifest's `service` settings as defaults: the token
/// providers read `AZURE_TENANT_ID` and `AZURE_AUTHORITY_HOST`, and a manifest that names its
/// tenant (`service.tenantId`) or authority (`service.authorityUrl`) should not need them. A
/// variable set in the environment wins, as `AZURE_AUTHORITY_HOST` already does for endpoints.
struct ManifestDefaults<'a> {
    env: &'a dyn VarSource,
    defaults: Vec<(&'static str, String)>,
}

impl<'a> ManifestDefaults<'a> {
    fn new(env: &'a dyn VarSource, endpoints: &Endpoints, tenant: Option<&str>) -> Self {
        let mut defaults = vec![(vars::AZURE_AUTHORITY_HOST, endpoints.authority_url.clone())];
        if let Some(t) = tenant.filter(|t| !t.trim().is_empty()) {
            if let Some(other) = env.var(vars::AZURE_TENANT_ID).filter(|v| v != t) {
                tracing::warn!(
                    "AZURE_TENANT_ID ({other}) differs from the manifest's service.tenantId ({t}); \
                     using AZURE_TENANT_ID"
                );
            }
            defaults.push((vars::AZURE_TENANT_ID, t.to_string()));
        }
        Self { env, defaults }
    }
}

impl VarSource for ManifestDefaults<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.env.var(name).or_else(|| {
            self.defaults
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
    }
}

/// Builds the client and learns the principal's identities from its first token.
async fn finish(
    endpoints: Endpoints,
    provider: Arc<dyn TokenProvider>,
    mut identities: Vec<String>,
) -> Result<Session, SessionError> {
    let token = provider.token().await?;
    identities.extend(jwt_identities(token.token.expose_secret()));
    identities.sort();
    identities.dedup();
    let config = ClientConfig {
        api_base_url: endpoints.api_url.clone(),
        ..ClientConfig::default()
    };
    let client = PowerBiClient::new(config, provider)?;
    Ok(Session {
        client,
        principal: LivePrincipal { identities },
        endpoints,
        local: None,
    })
}

/// The identities a JWT access token names (app id, object id, UPN): any may show as a
/// dataset's `configuredBy`. Opaque tokens give none. The signature is not checked: this
/// only decides whether to plan a takeover.
pub fn jwt_identities(token: &str) -> Vec<String> {
    let Some(payload) = token.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return Vec::new();
    };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    [
        "appid",
        "azp",
        "oid",
        "upn",
        "unique_name",
        "preferred_username",
    ]
    .iter()
    .filter_map(|k| claims.get(*k).and_then(|v| v.as_str()).map(str::to_string))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_tenant_and_authority_are_defaults_under_the_environment() {
        let endpoints = Endpoints {
            api_url: "https://api.powerbi.com".into(),
            authority_url: "https://login.example".into(),
            scope: String::new(),
        };
        let empty: std::collections::HashMap<String, String> = Default::default();
        let env = ManifestDefaults::new(&empty, &endpoints, Some("contoso.onmicrosoft.com"));
        assert_eq!(
            env.var("AZURE_TENANT_ID").as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(
            env.var("AZURE_AUTHORITY_HOST").as_deref(),
            Some("https://login.example")
        );
        assert_eq!(env.var("AZURE_CLIENT_ID"), None);

        let set: std::collections::HashMap<String, String> =
            [("AZURE_TENANT_ID".to_string(), "fabrikam".to_string())].into();
        let env = ManifestDefaults::new(&set, &endpoints, Some("contoso"));
        assert_eq!(env.var("AZURE_TENANT_ID").as_deref(), Some("fabrikam"));
        let env = ManifestDefaults::new(&empty, &endpoints, None);
        assert_eq!(env.var("AZURE_TENANT_ID"), None);
    }

    #[test]
    fn service_url_and_manifest_override_cloud_defaults() {
        let s = Service {
            cloud: Some(Cloud::Usgov),
            ..Service::default()
        };
        let e = resolve_endpoints(&s, Some("http://127.0.0.1:9/"), &|_: &str| None::<String>);
        assert_eq!(e.api_url, "http://127.0.0.1:9");
        assert!(e.scope.contains("usgovcloudapi"));
    }

    #[test]
    fn jwt_claims_give_identities_and_opaque_tokens_none() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"appid":"app-1","oid":"obj-1"}"#);
        let ids = jwt_identities(&format!("h.{payload}.s"));
        assert_eq!(ids, vec!["app-1".to_string(), "obj-1".to_string()]);
        assert!(jwt_identities("emu.abcdef").is_empty());
    }

    #[test]
    fn local_state_lives_beside_the_manifest() {
        let p = local_state_path(Path::new("/x/y/m.yaml"));
        assert_eq!(p, PathBuf::from("/x/y/.pbideploy/local/state.json"));
    }
}
