//! The environment variables pbideploy reads, each named once here, and the one way it reads
//! them ([`VarSource`]), so that tests inject variables instead of touching the process
//! environment. (clap reads the three that stand for command-line options itself, by these
//! names.) Secrets named by a manifest's `{env: NAME}` are read through [`VarSource`] too.
//!
//! A crate of its own so that the root crate (which re-exports it as `pbideploy::env_vars`)
//! and the Power BI client crate share one list. `tests/it/env_vars.rs` checks that no source
//! of either reads the environment directly or spells a name declared here.

use std::collections::HashMap;

/// Reads environment variables; injectable so tests never touch the process environment.
pub trait VarSource: Send + Sync {
    /// The variable's value; empty values count as unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl VarSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// A closure looking names up (tests, and callers that already hold the variables).
impl<F> VarSource for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.is_empty())
    }
}

// pbideploy's own settings.

/// The log filter (`tracing` `EnvFilter` syntax, e.g. `pbideploy=debug`); wins over `-v`/`-q`.
pub const PBIDEPLOY_LOG: &str = "PBIDEPLOY_LOG";
/// The manifest environment, as `--env` (read by clap).
pub const PBIDEPLOY_ENV: &str = "PBIDEPLOY_ENV";
/// The Power BI REST API base URL, as `--service-url` (read by clap).
pub const PBIDEPLOY_SERVICE_URL: &str = "PBIDEPLOY_SERVICE_URL";
/// The authentication method, as `--auth` (read by clap).
pub const PBIDEPLOY_AUTH: &str = "PBIDEPLOY_AUTH";
/// A ready access token for the Power BI API (`--auth access-token`); first in auto-selection.
pub const PBIDEPLOY_ACCESS_TOKEN: &str = "PBIDEPLOY_ACCESS_TOKEN";
/// The managed-identity IMDS base URL, when not the Azure default (tests, proxies).
pub const PBIDEPLOY_IMDS_ENDPOINT: &str = "PBIDEPLOY_IMDS_ENDPOINT";

// azure-identity conventions (the names Azure SDKs and `azure/login` use).

/// The Entra tenant id or verified domain; the manifest's `service.tenantId` is the default.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// The application (client) id of the deploying service principal.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// The client secret (`--auth client-secret`).
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// A PEM file with the certificate and its private key (`--auth client-certificate`).
pub const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// Read only to refuse it: password-protected certificates are not supported.
pub const AZURE_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// A federated token file, re-read on every request (`--auth workload-identity`).
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// The Entra authority host; wins over the cloud's and the manifest's `service.authorityUrl`.
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

// Set by the platform pbideploy runs on.

/// GitHub Actions OIDC: the token request URL (`--auth github-oidc`).
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions OIDC: the bearer token for that request.
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// App Service / Container Apps managed identity endpoint (else IMDS is used).
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// The header value that endpoint requires.
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// `true` under GitHub Actions: apply then masks each resolved secret (`::add-mask::`).
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// The job summary file under GitHub Actions; `plan` appends its Markdown there.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// The terminal type; `dumb` turns apply's progress bars off.
pub const TERM: &str = "TERM";
/// Where validate and plan cache what each PBIX's model says (wins over the defaults below).
pub const PBIDEPLOY_CACHE_DIR: &str = "PBIDEPLOY_CACHE_DIR";
/// The per-user cache folder on Linux (XDG); the model cache goes in `pbideploy/` below it.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The home folder; the model cache falls back to `~/.cache/pbideploy`.
pub const HOME: &str = "HOME";
/// The per-user local data folder on Windows; the model cache goes in `pbideploy\cache`.
pub const LOCALAPPDATA: &str = "LOCALAPPDATA";
/// The user name (Unix), named in a ledger lock's holder.
pub const USER: &str = "USER";
/// The user name (login shells), named in a ledger lock's holder when `USER` is unset.
pub const LOGNAME: &str = "LOGNAME";
/// The user name (Windows), named in a ledger lock's holder.
pub const USERNAME: &str = "USERNAME";
/// The host name, when the shell exports it, named in a ledger lock's holder.
pub const HOSTNAME: &str = "HOSTNAME";
/// The host name (Windows), named in a ledger lock's holder.
pub const COMPUTERNAME: &str = "COMPUTERNAME";
