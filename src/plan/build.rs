//! Loaded manifest -> [`DesiredState`]: the I/O the pure planner must not do. Hashes every
//! PBIX (streaming SHA-256), maps every field, and fingerprints credentials by resolving each
//! secret reference only to compute `ledger::fingerprint`; an unavailable secret (a
//! pull-request build) becomes `NotAvailable` instead of an error.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::desired::{
    CredentialFingerprint, DatasourceRule, DesiredAccess, DesiredCredential, DesiredDataset,
    DesiredGateway, DesiredReport, DesiredState, DesiredWorkspace, FileModel, RefreshOnApply,
};
use super::model::FileFingerprint;
use super::operation::{
    CredentialSpec, CredentialType, CredentialValue, DatasourceRef, GatewayRef, ItemRef, Principal,
    PrincipalType, PrivacyLevel, RefreshSchedule, SecretReference, WorkspaceRole,
};
use crate::ledger::store::LedgerStore;
use crate::ledger::{Ledger, LedgerError, fingerprint};
use crate::manifest::{self, LoadedManifest, SecretRef};

/// Why the desired state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read {path}: {source}; check the `pbix` path in the manifest")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// SHA-256 (hex) of a file, read in 64 KiB blocks so large PBIX files are not held in memory.
pub fn sha256_file(path: &Path) -> Result<String, BuildError> {
    let err = |source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The manifest file's fingerprint for the plan (path as given, content hash).
pub fn manifest_fingerprint(m: &LoadedManifest) -> Result<FileFingerprint, BuildError> {
    Ok(FileFingerprint {
        path: m.path.display().to_string(),
        sha256: sha256_file(&m.path)?,
    })
}

/// The ledger, or a fresh empty one (random salt) when none exists yet.
pub fn load_ledger(store: &dyn LedgerStore) -> Result<Ledger, BuildError> {
    match store.load()? {
        Some(l) => Ok(l),
        None => Ok(Ledger::new()?),
    }
}

/// The fingerprint of a credential's secrets, in field order. `apply` must record exactly
/// this value so that the next plan sees no rotation.
pub fn credential_fingerprint(salt: &str, secrets: &[SecretString]) -> String {
    let mut material: Vec<u8> = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        if i > 0 {
            material.push(0);
        }
        material.extend_from_slice(s.expose_secret().as_bytes());
    }
    let fp = fingerprint(salt, &material);
    material.iter_mut().for_each(|b| *b = 0);
    fp
}

/// A path as the plan shows it: relative to the manifest's folder with `/` separators.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Builds the desired state from a loaded manifest, with `salt` (the ledger's) for
/// credential fingerprints.
pub fn desired_state(m: &LoadedManifest, salt: &str) -> Result<DesiredState, BuildError> {
    let mut workspaces = Vec::new();
    for ws in &m.workspaces {
        let mut datasets = Vec::new();
        for ds in &ws.datasets {
            datasets.push(dataset(m, ds, salt)?);
        }
        let mut reports = Vec::new();
        for r in &ws.reports {
            reports.push(DesiredReport {
                name: r.name.clone(),
                pbix_path: relative(&m.root, &r.pbix),
                pbix_sha256: sha256_file(&r.pbix)?,
                dataset: Some(ItemRef {
                    workspace: r.target.workspace.clone(),
                    name: r.target.dataset.clone(),
                }),
            });
        }
        workspaces.push(DesiredWorkspace {
            name: ws.name.clone(),
            create: ws.create,
            capacity: ws.capacity.as_ref().map(|c| {
                if c.eq_ignore_ascii_case("shared") {
                    None
                } else {
                    Some(c.clone())
                }
            }),
            access: ws.access.iter().map(access).collect(),
            prune: ws.prune,
            datasets,
            reports,
        });
    }
    crate::model_facts::cache::flush();
    Ok(DesiredState { workspaces })
}

fn access(a: &manifest::Access) -> DesiredAccess {
    DesiredAccess {
        principal: Principal {
            identifier: a.principal.clone(),
            principal_type: match a.principal_type {
                manifest::PrincipalType::User => PrincipalType::User,
                manifest::PrincipalType::Group => PrincipalType::Group,
                manifest::PrincipalType::App => PrincipalType::App,
            },
        },
        role: Some(match a.role {
            manifest::Role::Admin => WorkspaceRole::Admin,
            manifest::Role::Member => WorkspaceRole::Member,
            manifest::Role::Contributor => WorkspaceRole::Contributor,
            manifest::Role::Viewer => WorkspaceRole::Viewer,
        }),
    }
}

fn dataset(
    m: &LoadedManifest,
    ds: &manifest::Dataset,
    salt: &str,
) -> Result<DesiredDataset, BuildError> {
    let refresh = ds.refresh.clone().unwrap_or_default();
    let pbix_sha256 = sha256_file(&ds.pbix)?;
    Ok(DesiredDataset {
        name: ds.name.clone(),
        pbix_path: relative(&m.root, &ds.pbix),
        file: file_model(ds, &pbix_sha256),
        pbix_sha256,
        takeover: ds.takeover,
        keep_report: true,
        parameters: ds
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.to_wire()))
            .collect(),
        datasources: ds
            .datasources
            .iter()
            .map(|r| DatasourceRule {
                matches: datasource_ref(&r.matches),
                connection_details: details(&r.set.connection_details),
            })
            .collect(),
        connection_string: ds.connection_string.clone(),
        gateway: ds.gateway.as_ref().and_then(|g| {
            let gateway = match (&g.id, &g.name) {
                (Some(id), _) => GatewayRef::Id(id.clone()),
                (None, Some(name)) => GatewayRef::Name(name.clone()),
                (None, None) => return None,
            };
            Some(DesiredGateway {
                gateway,
                create_datasources: g.create_datasources,
            })
        }),
        credentials: ds
            .credentials
            .iter()
            .map(|c| credential(m, c, salt))
            .collect(),
        refresh: match refresh.on_apply {
            manifest::OnApply::Always => RefreshOnApply::Always,
            manifest::OnApply::Never => RefreshOnApply::Never,
            manifest::OnApply::WhenChanged => RefreshOnApply::WhenChanged,
        },
        schedule: refresh.schedule.as_ref().map(|s| RefreshSchedule {
            enabled: s.enabled,
            days: s.days.iter().map(|d| format!("{d:?}")).collect(),
            times: s.times.iter().map(|t| t.0.clone()).collect(),
            time_zone: s.time_zone.clone(),
            notify_option: format!("{:?}", s.notify_option),
            frequency: s.frequency.map(|f| f.0),
        }),
    })
}

/// What the dataset's PBIX says an import gives it, with the manifest's parameter values
/// substituted into the file's M (`pbix::substitute_parameters`).
fn file_model(ds: &manifest::Dataset, sha256: &str) -> Option<FileModel> {
    let facts = crate::model_facts::lookup_hashed(&ds.pbix, sha256);
    let model = facts.model()?;
    let wanted = |name: &str| ds.parameters.get(name).map(|v| v.to_wire());
    let parameters = model
        .parameters
        .iter()
        .map(|p| {
            let value = wanted(&p.name).unwrap_or_else(|| p.current_value.clone());
            (p.name.clone(), value)
        })
        .collect();
    let values: BTreeMap<&str, String> = ds
        .parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_wire()))
        .collect();
    let datasources = model
        .sources_with(|name| values.get(name).map(String::as_str))
        .into_iter()
        .map(|s| DatasourceRef {
            datasource_type: s.datasource_type,
            connection_details: s
                .connection_details
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        })
        .collect();
    Some(FileModel {
        parameters,
        datasources,
        unresolved: model.unresolved_sources.clone(),
    })
}

fn details(d: &manifest::ConnectionDetails) -> BTreeMap<String, String> {
    d.fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn datasource_ref(m: &manifest::DatasourceMatch) -> DatasourceRef {
    DatasourceRef {
        datasource_type: m.datasource_type.clone().unwrap_or_default(),
        connection_details: details(&m.connection_details),
    }
}

fn secret_reference(m: &LoadedManifest, r: &SecretRef) -> SecretReference {
    match r {
        SecretRef::Env(name) => SecretReference::Env(name.clone()),
        SecretRef::File(path) => SecretReference::File(relative(&m.root, path)),
    }
}

fn credential(m: &LoadedManifest, c: &manifest::CredentialRule, salt: &str) -> DesiredCredential {
    let mut fields: Vec<(String, CredentialValue)> = Vec::new();
    let mut secrets: Vec<&SecretRef> = Vec::new();
    fn secret<'a>(
        m: &LoadedManifest,
        name: &str,
        r: &'a Option<SecretRef>,
        fields: &mut Vec<(String, CredentialValue)>,
        secrets: &mut Vec<&'a SecretRef>,
    ) {
        if let Some(r) = r {
            fields.push((
                name.to_string(),
                CredentialValue::Secret(secret_reference(m, r)),
            ));
            secrets.push(r);
        }
    }
    let credential_type = match c.credential_type {
        manifest::CredentialType::Basic | manifest::CredentialType::Windows => {
            if let Some(u) = &c.username {
                fields.push(("username".into(), CredentialValue::Plain(u.clone())));
            }
            secret(m, "password", &c.password, &mut fields, &mut secrets);
            if c.credential_type == manifest::CredentialType::Basic {
                CredentialType::Basic
            } else {
                CredentialType::Windows
            }
        }
        manifest::CredentialType::Key => {
            secret(m, "key", &c.key, &mut fields, &mut secrets);
            CredentialType::Key
        }
        manifest::CredentialType::OAuth2 => {
            if !c.sso {
                secret(m, "accessToken", &c.token, &mut fields, &mut secrets);
            }
            CredentialType::OAuth2
        }
        manifest::CredentialType::Anonymous => CredentialType::Anonymous,
    };
    let resolved: Result<Vec<SecretString>, _> = secrets.iter().map(|r| r.resolve()).collect();
    let fingerprint = match resolved {
        Ok(values) => CredentialFingerprint::Known(credential_fingerprint(salt, &values)),
        Err(_) => CredentialFingerprint::NotAvailable,
    };
    DesiredCredential {
        matches: datasource_ref(&c.matches),
        spec: CredentialSpec {
            credential_type,
            fields,
            use_caller_identity: false,
            privacy_level: match c.privacy_level {
                manifest::PrivacyLevel::None => PrivacyLevel::None,
                manifest::PrivacyLevel::Public => PrivacyLevel::Public,
                manifest::PrivacyLevel::Organizational => PrivacyLevel::Organizational,
                manifest::PrivacyLevel::Private => PrivacyLevel::Private,
            },
            encrypted_connection: c.encrypted_connection
                == manifest::EncryptedConnection::Encrypted,
            sso: c.sso,
        },
        fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_matches_one_shot_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        let data = vec![7u8; 200_000];
        std::fs::write(&p, &data).unwrap();
        assert_eq!(sha256_file(&p).unwrap(), hex::encode(Sha256::digest(&data)));
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }

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
    fn relative_paths_use_forward_slashes() {
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/pbix/a.pbix")),
            "pbix/a.pbix"
        );
    }
}
