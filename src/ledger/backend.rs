//! Which store holds the ledger: a local file (the default, beside the manifest) or a blob in
//! Azure Blob Storage, chosen by `--state URL` or the manifest's `state:` block; and taking
//! its lock with an optional wait (`--lock-timeout`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LedgerError;
use super::azblob::{AzBlobStore, BlobLocation, Credential};
use super::store::{FileStore, LedgerLock, LedgerStore, default_path};
use crate::domain::secret_ref::SecretRef;
use crate::manifest::secret::read_secret_file;
use crate::manifest::{LoadedManifest, State};

/// A store usable from any thread.
pub type DynStore = Box<dyn LedgerStore + Send + Sync>;

/// The Azure Storage resource (audience) for Entra ID tokens, the same in every cloud.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";
/// The lease duration when none is set.
pub const DEFAULT_LEASE_SECS: u32 = 60;

/// Where the ledger is and how to reach it.
#[derive(Debug, Clone, Default)]
pub struct StateSpec {
    /// `file:PATH`, a plain path, `azblob://ACCOUNT/CONTAINER[/PATH]` or an account URL;
    /// `None`: the default file beside the manifest.
    pub url: Option<String>,
    /// A connection string or SAS token for Azure Blob (never a literal).
    pub credential: Option<SecretRef>,
    /// The blob lease duration in seconds (15-60).
    pub lease_secs: Option<u32>,
}

pub use crate::manifest::state_location::is_remote;

impl StateSpec {
    /// The store `url` names (`--state`), else the manifest's `state:` block (`block`), else
    /// the default file; authorised by `credential` (`env:NAME` or `file:PATH` from the
    /// command line), else the block's `credential`.
    pub fn resolve(
        block: Option<&State>,
        url: Option<&str>,
        credential: Option<&str>,
    ) -> Result<Self, LedgerError> {
        let credential = match credential {
            Some(text) => Some(parse_reference(text).map_err(LedgerError::Config)?),
            None => block.and_then(|s| s.credential.clone()),
        };
        Ok(Self {
            url: url
                .map(str::to_owned)
                .or_else(|| block.map(|s| s.url.clone())),
            credential,
            lease_secs: block.and_then(|s| s.lease_seconds),
        })
    }
}

/// The ledger store of a loaded manifest ([`StateSpec::resolve`] with its `state:` block,
/// then [`open`]).
pub fn open_for_manifest(
    loaded: &LoadedManifest,
    url: Option<&str>,
    credential: Option<&str>,
) -> Result<DynStore, LedgerError> {
    let spec = StateSpec::resolve(loaded.state.as_ref(), url, credential)?;
    open(&spec, &loaded.path, loaded.environment.as_deref())
}

/// Opens the store `spec` names; `manifest` and `environment` give the default file (and the
/// default blob name). Relative file paths are taken as given (relative to the working
/// directory, like `--state PATH` always was).
pub fn open(
    spec: &StateSpec,
    manifest: &Path,
    environment: Option<&str>,
) -> Result<DynStore, LedgerError> {
    let default = default_path(manifest, environment);
    let Some(url) = spec.url.as_deref() else {
        return Ok(Box::new(FileStore::new(default)));
    };
    if !is_remote(url) {
        let path = url.strip_prefix("file:").unwrap_or(url);
        return Ok(Box::new(FileStore::new(PathBuf::from(path))));
    }
    let name = default
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pbideploy-state.json".into());
    let location = BlobLocation::parse(url, &name)
        .map_err(|e| LedgerError::Config(format!("{e}; {}", super::azblob::location::FORMS)))?;
    let credential = credential(spec.credential.as_ref(), &location.account)?;
    let store = AzBlobStore::new(
        location,
        credential,
        spec.lease_secs.unwrap_or(DEFAULT_LEASE_SECS),
    )?;
    Ok(Box::new(store))
}

/// The credential from the secret reference, else Entra ID tokens for Azure Storage from the
/// azure-identity environment (as the Power BI client authenticates).
fn credential(reference: Option<&SecretRef>, account: &str) -> Result<Credential, LedgerError> {
    let Some(reference) = reference else {
        use crate::env_vars::ProcessEnv;
        use crate::powerbi::auth::{AuthSettings, provider_from_env};
        let settings = AuthSettings {
            resource: Some(STORAGE_RESOURCE.into()),
            ..AuthSettings::default()
        };
        let tokens = provider_from_env(&settings, &ProcessEnv).map_err(|e| {
            LedgerError::Config(format!("cannot authenticate to Azure Storage: {e}"))
        })?;
        return Ok(Credential::Bearer(tokens));
    };
    let (text, from) = match reference {
        SecretRef::Env(name) => (
            crate::env_vars::VarSource::var(&crate::env_vars::ProcessEnv, name).ok_or_else(|| {
                LedgerError::Config(format!(
                    "the state credential environment variable `{name}` is not set (or not UTF-8)"
                ))
            })?,
            format!("env:{name}"),
        ),
        SecretRef::File(path) => (
            read_secret_file(Path::new(path)).map_err(|e| {
                LedgerError::Config(format!(
                    "cannot read the state credential file `{path}`: {e}"
                ))
            })?,
            format!("file:{path}"),
        ),
    };
    let text = zeroize::Zeroizing::new(text);
    Credential::from_secret(&text, account, &from).map_err(LedgerError::Config)
}

/// Parses a secret reference given on the command line: `env:NAME` or `file:PATH`.
pub fn parse_reference(text: &str) -> Result<SecretRef, String> {
    match text.split_once(':') {
        Some(("env", name)) if !name.is_empty() => Ok(SecretRef::Env(name.into())),
        Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.into())),
        _ => Err(format!(
            "`{}` is not a secret reference; write env:NAME or file:PATH (never the secret itself)",
            if text.len() > 12 {
                "(the value given)"
            } else {
                text
            }
        )),
    }
}

/// Takes the lock, retrying while another run holds it for up to `timeout` (zero: fail at
/// once with the holder named).
pub fn lock_waiting(store: &dyn LedgerStore, timeout: Duration) -> Result<LedgerLock, LedgerError> {
    let deadline = Instant::now() + timeout;
    loop {
        match store.lock() {
            Err(LedgerError::HeldBy { .. } | LedgerError::Locked { .. })
                if Instant::now() < deadline =>
            {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(left.min(Duration::from_millis(500)));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_not_literals() {
        assert_eq!(parse_reference("env:X"), Ok(SecretRef::Env("X".into())));
        let err = parse_reference("DefaultEndpointsProtocol=https;AccountKey=abc").unwrap_err();
        assert!(!err.contains("AccountKey"), "{err}");
    }

    #[test]
    fn file_urls_and_default() {
        let m = Path::new("dir/m.yaml");
        let spec = StateSpec {
            url: Some("file:other.json".into()),
            ..StateSpec::default()
        };
        assert_eq!(open(&spec, m, None).unwrap().describe(), "other.json");
        let spec = StateSpec::default();
        assert_eq!(
            open(&spec, m, Some("prod")).unwrap().describe(),
            "dir/m.prod.pbideploy-state.json"
        );
    }

    #[test]
    fn waiting_for_a_lock_gives_up_after_the_timeout_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("s.json"));
        let _held = store.lock().unwrap();
        let started = Instant::now();
        let err = lock_waiting(&store, Duration::from_millis(700)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(700));
        assert!(matches!(err, LedgerError::HeldBy { .. }), "{err}");
    }
}
