//! Loaded manifest -> [`DesiredState`]: the I/O the pure planner must not do. Hashes every
//! PBIX (streaming SHA-256), maps every field, and fingerprints credentials by resolving each
//! secret reference (with [`secret::resolve`], as apply does) only to compute
//! `ledger::credential_fingerprint`; an unavailable secret (a pull-request build) becomes `NotAvailable`
//! instead of an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::definitions::{self, DefinitionError, Definitions};
use super::model::FileFingerprint;
use crate::domain::address::Address;
use crate::domain::desired::{
    CredentialFingerprint, DatasourceRule, DesiredAccess, DesiredCredential, DesiredDataset,
    DesiredGateway, DesiredProject, DesiredReport, DesiredState, DesiredWorkspace, FileModel,
    RefreshOnApply,
};
use crate::domain::operation::{
    CredentialSpec, CredentialType, CredentialValue, DatasourceRef, GatewayRef, ItemRef, Principal,
    PrincipalType, PrivacyLevel, RefreshSchedule, WorkspaceRole,
};
use crate::domain::secret_ref::SecretRef;
use crate::env_vars::VarSource;
use crate::ledger::credential_fingerprint;
use crate::manifest::paths::relative;
use crate::manifest::secret;
use crate::manifest::{self, LoadedManifest};
use pbix::project::Definition;

/// Why the desired state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read {path}: {source}; check the `pbix` path in the manifest")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A project (PBIP) folder could not be turned into the definition to upload.
    #[error("{0}; fix the project folder named in the manifest")]
    Definition(#[from] DefinitionError),
    /// An item without a source: `manifest::load` refuses these, so this is a caller bug.
    #[error("{0} names neither `pbix` nor `project`")]
    NoSource(String),
}

/// An item's source, which a loaded manifest always has.
fn source_of<'a>(
    item: impl FnOnce() -> String,
    source: Option<manifest::Source<'a>>,
) -> Result<manifest::Source<'a>, BuildError> {
    source.ok_or_else(|| BuildError::NoSource(item()))
}

/// The desired path and content hash of an item: a PBIX file's, or a project folder's
/// definition (whose [`Definition`] goes into `defs` at `addr`); true for a project.
fn content(
    m: &LoadedManifest,
    source: manifest::Source<'_>,
    addr: Address,
    read: impl FnOnce(&Path) -> Result<Definition, DefinitionError>,
    defs: &mut Definitions,
) -> Result<(String, String, bool), BuildError> {
    match source {
        manifest::Source::Pbix(path) => Ok((relative(&m.root, path), sha256_file(path)?, false)),
        manifest::Source::Project(dir) => {
            let def = read(dir)?;
            let sha = def.sha256();
            defs.items.insert(addr, def);
            Ok((relative(&m.root, dir), sha, true))
        }
    }
}

/// SHA-256 (hex) of a file ([`crate::untrusted_file::sha256`]), naming the file on error.
pub fn sha256_file(path: &Path) -> Result<String, BuildError> {
    crate::untrusted_file::sha256(path).map_err(|source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The manifest file's fingerprint for the plan (path as given, content hash).
pub fn manifest_fingerprint(m: &LoadedManifest) -> Result<FileFingerprint, BuildError> {
    Ok(FileFingerprint {
        path: m.path.display().to_string(),
        sha256: sha256_file(&m.path)?,
    })
}

/// Builds the desired state from a loaded manifest, with `salt` (the ledger's) for
/// credential fingerprints and `env` to read `{env: NAME}` secrets.
pub fn desired_state(
    m: &LoadedManifest,
    salt: &str,
    env: &dyn VarSource,
) -> Result<DesiredState, BuildError> {
    Ok(desired_with_definitions(m, salt, env)?.0)
}

/// [`desired_state`] and the definitions of its project items (what apply uploads, and
/// what plan compares with the live definitions).
pub fn desired_with_definitions(
    m: &LoadedManifest,
    salt: &str,
    env: &dyn VarSource,
) -> Result<(DesiredState, Definitions), BuildError> {
    let mut workspaces = Vec::new();
    let mut defs = Definitions::default();
    for ws in &m.workspaces {
        let mut datasets = Vec::new();
        for ds in &ws.datasets {
            datasets.push(dataset(m, &ws.name, ds, salt, env, &mut defs)?);
        }
        let mut reports = Vec::new();
        for r in &ws.reports {
            let source = source_of(|| format!("report `{}`", r.name), r.source())?;
            let addr = Address::workspace(&ws.name).report(&r.name);
            let (path, sha, is_project) = content(m, source, addr, definitions::report, &mut defs)?;
            reports.push(DesiredReport {
                name: r.name.clone(),
                pbix_path: path,
                pbix_sha256: sha,
                dataset: Some(ItemRef {
                    workspace: r.target.workspace.clone(),
                    name: r.target.dataset.clone(),
                }),
                project: is_project.then_some(DesiredProject {
                    allow_data_loss: false,
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
    Ok((DesiredState { workspaces }, defs))
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
    workspace: &str,
    ds: &manifest::Dataset,
    salt: &str,
    env: &dyn VarSource,
    defs: &mut Definitions,
) -> Result<DesiredDataset, BuildError> {
    let refresh = ds.refresh.clone().unwrap_or_default();
    let source = source_of(|| format!("dataset `{}`", ds.name), ds.source())?;
    let mut parameters: BTreeMap<String, String> = ds
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.to_wire()))
        .collect();
    let addr = Address::workspace(workspace).dataset(&ds.name);
    let read = |dir: &Path| definitions::model(dir, &parameters);
    let (path, sha, is_project) = content(m, source, addr, read, defs)?;
    // A project model's parameters are written into its definition, not set afterwards.
    if is_project {
        parameters.clear();
    }
    Ok(DesiredDataset {
        name: ds.name.clone(),
        file: if is_project {
            None
        } else {
            file_model(ds, &sha)
        },
        pbix_path: path,
        pbix_sha256: sha,
        project: is_project.then_some(DesiredProject {
            allow_data_loss: ds.allow_data_loss,
        }),
        takeover: ds.takeover,
        keep_report: true,
        parameters,
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
            .map(|c| credential(m, c, salt, env))
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
    let facts = crate::model_facts::lookup_hashed(ds.pbix.as_ref()?, sha256);
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

fn credential(
    m: &LoadedManifest,
    c: &manifest::CredentialRule,
    salt: &str,
    env: &dyn VarSource,
) -> DesiredCredential {
    let mut fields: Vec<(String, CredentialValue)> = Vec::new();
    let mut secrets: Vec<&SecretRef> = Vec::new();
    fn secret<'a>(
        name: &str,
        r: &'a Option<SecretRef>,
        fields: &mut Vec<(String, CredentialValue)>,
        secrets: &mut Vec<&'a SecretRef>,
    ) {
        if let Some(r) = r {
            fields.push((name.to_string(), CredentialValue::Secret(r.clone())));
            secrets.push(r);
        }
    }
    let credential_type = match c.credential_type {
        manifest::CredentialType::Basic | manifest::CredentialType::Windows => {
            if let Some(u) = &c.username {
                fields.push(("username".into(), CredentialValue::Plain(u.clone())));
            }
            secret("password", &c.password, &mut fields, &mut secrets);
            if c.credential_type == manifest::CredentialType::Basic {
                CredentialType::Basic
            } else {
                CredentialType::Windows
            }
        }
        manifest::CredentialType::Key => {
            secret("key", &c.key, &mut fields, &mut secrets);
            CredentialType::Key
        }
        manifest::CredentialType::OAuth2 => {
            if !c.sso {
                secret("accessToken", &c.token, &mut fields, &mut secrets);
            }
            CredentialType::OAuth2
        }
        manifest::CredentialType::Anonymous => CredentialType::Anonymous,
    };
    let resolved: Result<Vec<SecretString>, _> = secrets
        .iter()
        .map(|r| secret::resolve(r, &m.root, env))
        .collect();
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
        use sha2::{Digest, Sha256};
        assert_eq!(sha256_file(&p).unwrap(), hex::encode(Sha256::digest(&data)));
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
