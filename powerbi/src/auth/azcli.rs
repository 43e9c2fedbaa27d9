//! Azure CLI: `az account get-access-token`, for developers who ran `az login`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use serde::Deserialize;

use super::entra::as_secs;
use super::{AccessToken, AuthError, TokenFuture, TokenProvider, jwt_expiry};

const METHOD: &str = "Azure CLI";

/// Runs `az account get-access-token --resource R --output json` (tokio::process).
pub struct AzureCliProvider {
    program: PathBuf,
    path_env: Option<OsString>,
    resource: String,
    tenant: Option<String>,
}

impl AzureCliProvider {
    /// `az` found on PATH, for `resource` (e.g. `https://analysis.windows.net/powerbi/api`).
    #[must_use]
    pub fn new(resource: String, tenant: Option<String>) -> Self {
        Self {
            program: PathBuf::from("az"),
            path_env: None,
            resource,
            tenant,
        }
    }

    /// Uses `program` instead of `az` and, when given, `path` as the child's PATH (only the
    /// child's: the process environment is not touched). For tests and unusual installs.
    #[must_use]
    pub fn with_program(mut self, program: PathBuf, path: Option<OsString>) -> Self {
        self.program = program;
        self.path_env = path;
        self
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(["account", "get-access-token", "--resource", &self.resource]);
        cmd.args(["--output", "json"]);
        if let Some(tenant) = &self.tenant {
            cmd.args(["--tenant", tenant]);
        }
        if let Some(path) = &self.path_env {
            cmd.env("PATH", path);
        }
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        let output = cmd.output().await.map_err(|e| {
            AuthError::new(
                METHOD,
                format!(
                    "cannot run `{}`: {e}; install the Azure CLI or choose another --auth method",
                    self.program.display()
                ),
            )
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let msg: String = stderr.trim().chars().take(400).collect();
            return Err(AuthError::new(
                METHOD,
                format!(
                    "`az account get-access-token` failed ({}): {msg}; run `az login` first",
                    output.status
                ),
            ));
        }
        parse(&output.stdout)
    }
}

#[derive(Deserialize)]
struct CliToken {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    expires_on: Option<serde_json::Value>,
}

fn parse(stdout: &[u8]) -> Result<AccessToken, AuthError> {
    let body: CliToken = serde_json::from_slice(stdout).map_err(|e| {
        AuthError::new(
            METHOD,
            format!("`az` printed something that is not its token JSON: {e}"),
        )
    })?;
    let token = body
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError::new(METHOD, "`az` output has no accessToken"))?;
    // `expires_on` (epoch seconds, az >= 2.54) is unambiguous; the older `expiresOn` is local
    // time without a zone, so fall back to the JWT's own `exp`, then to five minutes.
    let expires_at = body
        .expires_on
        .as_ref()
        .and_then(as_secs)
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        .or_else(|| jwt_expiry(&token))
        .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(300));
    Ok(AccessToken {
        token: SecretString::from(token),
        expires_at,
    })
}

impl TokenProvider for AzureCliProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.fetch())
    }
    fn method(&self) -> &'static str {
        METHOD
    }
}
