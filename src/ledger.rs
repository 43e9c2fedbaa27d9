//! The ledger (state file): what pbideploy last applied.
//!
//! Per dataset/report it keeps the SHA-256 of the PBIX imported, the import id and time, the
//! ids, the parameter values and connection settings applied and a salted HMAC-SHA256
//! fingerprint of each credential (never the secret). With it `plan` can tell a changed PBIX
//! from an unchanged one, a rotated credential from a kept one, and drift made by others.
//! Storage sits behind [`store::LedgerStore`] so a remote backend can follow the local file.

pub mod azblob;
pub mod backend;
pub mod lockinfo;
pub mod store;

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::address::Address;
use crate::domain::operation::{DatasourceRef, ItemRef, RefreshSchedule};

/// The ledger format version this build reads and writes.
pub const LEDGER_VERSION: u32 = 1;

/// Errors reading, writing or locking a ledger; each names the file and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot read the ledger {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the ledger {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the ledger {path} is not valid ({reason}); restore it from a backup or version control, or move it away to start without a ledger"
    )]
    Corrupt { path: String, reason: String },
    #[error(
        "the ledger {path} has format version {found}, but this pbideploy reads version {LEDGER_VERSION}; use a matching pbideploy version"
    )]
    UnknownVersion { path: String, found: String },
    #[error(
        "the ledger is locked by another pbideploy run (lock file {lock_path}); wait for it to finish, or delete the lock file if no run is active"
    )]
    Locked { lock_path: String },
    #[error("cannot lock the ledger with {lock_path}: {source}")]
    Lock {
        lock_path: String,
        source: std::io::Error,
    },
    #[error(
        "the ledger {ledger} is locked by another pbideploy run: {holder}; wait for it (--lock-timeout SECONDS), or {unlock}"
    )]
    HeldBy {
        ledger: String,
        holder: String,
        /// The lock id (`state unlock` takes it).
        id: String,
        /// How the lock ends if that run is gone.
        unlock: String,
    },
    #[error(
        "lost the lock on the ledger {ledger} ({reason}); this run stopped taking new steps and wrote nothing more to the ledger; run `pbideploy plan` to see what is left"
    )]
    LockLost { ledger: String, reason: String },
    #[error(
        "the ledger {ledger} changed since this run read it (its ETag no longer matches), so nothing was written; another writer changed it: run again"
    )]
    Conflict { ledger: String },
    #[error("{ledger}: {detail}")]
    Remote { ledger: String, detail: String },
    #[error("{0}")]
    Config(String),
    #[error("the ledger {ledger} does not support {what}")]
    Unsupported { ledger: String, what: String },
    #[error("the system random number generator failed while creating the ledger salt: {0}")]
    Random(String),
    #[error(
        "the ledger has no entry at {address}; run `pbideploy state list` to see its addresses"
    )]
    NotFound { address: String },
}

/// The whole ledger file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// [`LEDGER_VERSION`].
    pub version: u32,
    /// Hex salt for credential fingerprints, random per ledger.
    pub salt: String,
    /// Entries by address, e.g. `workspace["Sales"].dataset["Sales Model"]`.
    pub entries: BTreeMap<Address, LedgerEntry>,
}

/// One managed item.
// A ledger holds one entry per managed item (tens to a few thousand), read once per run:
// boxing the dataset variant would save little memory and cost every match a deref.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LedgerEntry {
    Workspace(WorkspaceEntry),
    Dataset(DatasetEntry),
    Report(ReportEntry),
}

/// A workspace pbideploy manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceEntry {
    pub id: String,
    /// True when pbideploy created it (only then may prune delete it).
    pub created: bool,
}

/// What the last apply did to a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetEntry {
    pub dataset_id: String,
    /// The report the dataset's PBIX created, if kept.
    pub report_id: Option<String>,
    pub pbix_sha256: String,
    pub import_id: Option<String>,
    /// RFC 3339 time of our import (the service's `createdDateTime`/`updatedDateTime`).
    pub imported_at: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub datasource_updates: Vec<(DatasourceRef, BTreeMap<String, String>)>,
    pub connection_string: Option<String>,
    pub gateway_id: Option<String>,
    /// Per data source (its display form), the credential applied.
    pub credentials: BTreeMap<String, CredentialEntry>,
    pub schedule: Option<RefreshSchedule>,
    /// The owner (`configuredBy`) `state adopt` found, so that plan reports an owner other
    /// than the deployer as drift only when it changed since; `None` once pbideploy imported
    /// or took the dataset over (the deployer owns it then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A credential as applied: its fingerprint and where the secret came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialEntry {
    /// `fingerprint(salt, secret)` of the secret material applied.
    pub fingerprint: String,
    /// The references used, e.g. `env:SQL_PASSWORD` (never values).
    pub references: Vec<String>,
    pub applied_at: Option<String>,
    /// The settings applied that are not secret ([`crate::domain::operation::CredentialSpec::settings`]);
    /// absent in ledgers written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What the last apply did to a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub report_id: String,
    pub pbix_sha256: String,
    pub import_id: Option<String>,
    pub imported_at: Option<String>,
    /// The dataset it was bound to.
    pub dataset: Option<ItemRef>,
    pub dataset_id: Option<String>,
}

/// The salted HMAC-SHA256 (hex) of secret material: lets plan see a rotation without storing
/// or revealing the secret. `salt` is the ledger's hex salt (used as bytes of its text).
pub fn fingerprint(salt: &str, secret: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to a keyed hash of the
    // salt if a future hmac version ever changed that.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(salt.as_bytes()) {
        Ok(mut mac) => {
            mac.update(secret);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::from("unavailable"),
    }
}

/// The fingerprint of a credential's secrets, in field order. `apply` must record exactly
/// this value so that the next plan sees no rotation.
pub fn credential_fingerprint(salt: &str, secrets: &[SecretString]) -> String {
    let mut material = zeroize::Zeroizing::new(Vec::new());
    for (i, s) in secrets.iter().enumerate() {
        if i > 0 {
            material.push(0);
        }
        material.extend_from_slice(s.expose_secret().as_bytes());
    }
    fingerprint(salt, &material)
}

impl Ledger {
    /// An empty ledger with a fresh random salt.
    pub fn new() -> Result<Self, LedgerError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| LedgerError::Random(e.to_string()))?;
        Ok(Self::with_salt(&hex::encode(salt)))
    }

    /// An empty ledger with the given salt (tests, and the planner's "no ledger" case).
    pub fn with_salt(salt: &str) -> Self {
        Self {
            version: LEDGER_VERSION,
            salt: salt.to_string(),
            entries: BTreeMap::new(),
        }
    }

    /// The entry at `address` (keys compare case-insensitively).
    pub fn get(&self, address: &Address) -> Option<&LedgerEntry> {
        self.entries
            .iter()
            .find(|(a, _)| a.same_item(address))
            .map(|(_, e)| e)
    }

    /// The dataset entry at `address`.
    pub fn dataset(&self, address: &Address) -> Option<&DatasetEntry> {
        match self.get(address)? {
            LedgerEntry::Dataset(d) => Some(d),
            _ => None,
        }
    }

    /// The report entry at `address`.
    pub fn report(&self, address: &Address) -> Option<&ReportEntry> {
        match self.get(address)? {
            LedgerEntry::Report(r) => Some(r),
            _ => None,
        }
    }

    /// Record or replace an entry.
    pub fn set(&mut self, address: Address, entry: LedgerEntry) {
        self.entries.retain(|a, _| !a.same_item(&address));
        self.entries.insert(address, entry);
    }

    /// Forget `address` and everything under it; returns the addresses removed.
    pub fn remove(&mut self, address: &Address) -> Result<Vec<Address>, LedgerError> {
        let removed: Vec<Address> = self
            .entries
            .keys()
            .filter(|a| a.starts_with(address))
            .cloned()
            .collect();
        if removed.is_empty() {
            return Err(LedgerError::NotFound {
                address: address.to_string(),
            });
        }
        self.entries.retain(|a, _| !a.starts_with(address));
        Ok(removed)
    }

    /// Parse ledger JSON, checking the version first so old/new files get a clear error.
    pub fn from_json(path: &str, text: &str) -> Result<Self, LedgerError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LedgerError::Corrupt {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        match value.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(LEDGER_VERSION)) => {}
            Some(v) => {
                return Err(LedgerError::UnknownVersion {
                    path: path.to_string(),
                    found: v.to_string(),
                });
            }
            None => {
                return Err(LedgerError::Corrupt {
                    path: path.to_string(),
                    reason: "no `version` field".to_string(),
                });
            }
        }
        serde_json::from_value(value).map_err(|e| LedgerError::Corrupt {
            path: path.to_string(),
            reason: e.to_string(),
        })
    }

    /// Pretty JSON for the file (stable key order, so diffs in version control stay small).
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_fingerprint_depends_on_every_secret_and_the_salt() {
        let a = [SecretString::from("x"), SecretString::from("y")];
        let b = [SecretString::from("xy")];
        assert_ne!(
            credential_fingerprint("s", &a),
            credential_fingerprint("s", &b)
        );
        assert_ne!(
            credential_fingerprint("s", &a),
            credential_fingerprint("t", &a)
        );
        assert_eq!(
            credential_fingerprint("s", &a),
            credential_fingerprint("s", &a)
        );
    }

    #[test]
    fn fingerprint_is_salted_and_stable() {
        let a = fingerprint("aa", b"secret");
        assert_eq!(a, fingerprint("aa", b"secret"));
        assert_ne!(a, fingerprint("bb", b"secret"));
        assert_ne!(a, fingerprint("aa", b"secret2"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("secret"));
    }

    #[test]
    fn new_ledgers_get_different_salts() {
        assert_ne!(Ledger::new().unwrap().salt, Ledger::new().unwrap().salt);
    }

    #[test]
    fn json_round_trip_and_version_checks() {
        let mut l = Ledger::with_salt("00");
        let addr = Address::workspace("S").dataset("M");
        l.set(
            addr.clone(),
            LedgerEntry::Dataset(DatasetEntry {
                dataset_id: "d1".into(),
                pbix_sha256: "ab".into(),
                ..Default::default()
            }),
        );
        let back = Ledger::from_json("x", &l.to_json()).unwrap();
        assert_eq!(back, l);
        assert_eq!(
            back.dataset(&Address::workspace("s").dataset("m"))
                .unwrap()
                .dataset_id,
            "d1"
        );
        let err = Ledger::from_json("x", r#"{"version":9,"salt":"","entries":{}}"#).unwrap_err();
        assert!(matches!(err, LedgerError::UnknownVersion { .. }), "{err}");
        let err = Ledger::from_json("x", "{not json").unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn remove_takes_children_and_reports_missing() {
        let mut l = Ledger::with_salt("00");
        let ws = Address::workspace("S");
        l.set(
            ws.clone(),
            LedgerEntry::Workspace(WorkspaceEntry {
                id: "w".into(),
                created: true,
            }),
        );
        l.set(ws.report("R"), LedgerEntry::Report(ReportEntry::default()));
        assert_eq!(l.remove(&ws).unwrap().len(), 2);
        assert!(l.entries.is_empty());
        assert!(matches!(l.remove(&ws), Err(LedgerError::NotFound { .. })));
    }
}
