//! Secret resolution for apply: every secret reference a plan needs is resolved before any
//! change is made, so a missing variable or file fails the run while the service is untouched.
//!
//! Values live in [`SecretString`]s; under GitHub Actions each is masked (`::add-mask::`)
//! before use. The ledger only ever sees [`credential_fingerprint`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::manifest::paths::{Resolved, resolve_within};
use crate::manifest::secret::read_secret_file;
use crate::plan::model::{CredentialSpec, CredentialValue, Operation, Plan, SecretReference};

/// A secret reference that could not be resolved; names the reference and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secret {reference} is not set: export the environment variable {name} before running apply"
    )]
    MissingEnv { reference: String, name: String },
    #[error("the secret {reference} cannot be read from {}: {source}; create the file or fix the path", path.display())]
    File {
        reference: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secret {reference} resolves to {}, outside the manifest's folder; keep secret files in the manifest's folder tree (symlinks out of it are refused)",
        resolved.display()
    )]
    OutsideRoot {
        reference: String,
        resolved: PathBuf,
    },
    #[error("the secret {reference} is empty; give it a value")]
    Empty { reference: String },
}

/// Resolved secrets by reference. Debug shows only the references.
#[derive(Default)]
pub struct Secrets {
    values: BTreeMap<SecretReference, SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.values.keys().map(|k| k.to_string()))
            .finish()
    }
}

impl Secrets {
    /// The value of `reference`, if resolved.
    pub fn get(&self, reference: &SecretReference) -> Option<&SecretString> {
        self.values.get(reference)
    }

    /// Insert a value (tests and callers that resolved elsewhere).
    pub fn insert(&mut self, reference: SecretReference, value: SecretString) {
        self.values.insert(reference, value);
    }

    /// The value of one credential field, plain or secret.
    pub fn field<'a>(&'a self, value: &'a CredentialValue) -> Option<&'a str> {
        match value {
            CredentialValue::Plain(s) => Some(s),
            CredentialValue::Secret(r) => self.get(r).map(|s| s.expose_secret()),
        }
    }
}

/// Every credential spec the plan's changes use.
pub fn plan_credentials(plan: &Plan) -> Vec<&CredentialSpec> {
    plan.changes
        .iter()
        .flat_map(|c| match &c.operation {
            Operation::SetCredentials { credentials, .. }
            | Operation::CreateGatewayDatasource { credentials, .. } => vec![credentials],
            Operation::BindToGateway { create_missing, .. } => {
                create_missing.iter().map(|r| &r.credentials).collect()
            }
            _ => Vec::new(),
        })
        .collect()
}

/// Resolve every secret the plan needs (env vars, files relative to `base_dir`).
/// `env` looks variables up (the process environment in production).
pub fn resolve(
    plan: &Plan,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secrets, SecretError> {
    let mut out = Secrets::default();
    let github = env("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    for spec in plan_credentials(plan) {
        for reference in spec.secret_references() {
            if out.values.contains_key(reference) {
                continue;
            }
            let value = resolve_one(reference, base_dir, env)?;
            if github {
                for command in mask_commands(&value) {
                    println!("{command}");
                }
            }
            out.values
                .insert(reference.clone(), SecretString::from(value));
        }
    }
    Ok(out)
}

/// The `::add-mask::` workflow commands that hide `value` in a GitHub Actions log: one per
/// line (the runner masks line by line), each escaped as workflow-command data (`%` as `%25`,
/// CR as `%0D`, LF as `%0A`), because the runner decodes those before it registers the mask:
/// unescaped, `s3cr%0Aet` would mask `s3cr`, a newline and `et` instead of the secret.
fn mask_commands(value: &str) -> Vec<String> {
    value
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let escaped = line
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            format!("::add-mask::{escaped}")
        })
        .collect()
}

fn resolve_one(
    reference: &SecretReference,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SecretError> {
    let value = match reference {
        SecretReference::Env(name) => env(name).ok_or_else(|| SecretError::MissingEnv {
            reference: reference.to_string(),
            name: name.clone(),
        })?,
        SecretReference::File(path) => {
            // Checked again here, on the file as it is now: the manifest was checked at load,
            // but a saved plan file or a symlink planted since could point elsewhere.
            let full = match resolve_within(base_dir, Path::new(path)) {
                Resolved::Inside(full) => full,
                Resolved::Outside(resolved) => {
                    return Err(SecretError::OutsideRoot {
                        reference: reference.to_string(),
                        resolved,
                    });
                }
            };
            read_secret_file(&full).map_err(|source| SecretError::File {
                reference: reference.to_string(),
                path: full.clone(),
                source,
            })?
        }
    };
    if value.is_empty() {
        return Err(SecretError::Empty {
            reference: reference.to_string(),
        });
    }
    Ok(value)
}

/// The salted fingerprint of a credential's secrets, as the ledger keeps it and as plan
/// compares it: the very function plan uses ([`crate::plan::build::credential_fingerprint`]),
/// over the secret fields in the spec's order. `None` when a secret is missing.
pub fn credential_fingerprint(
    salt: &str,
    spec: &CredentialSpec,
    secrets: &Secrets,
) -> Option<String> {
    let mut values = Vec::new();
    for (_, value) in &spec.fields {
        if let CredentialValue::Secret(reference) = value {
            values.push(secrets.get(reference)?.clone());
        }
    }
    Some(crate::plan::build::credential_fingerprint(salt, &values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{CredentialType, PrivacyLevel};

    fn spec() -> CredentialSpec {
        CredentialSpec {
            credential_type: CredentialType::Basic,
            fields: vec![
                ("username".into(), CredentialValue::Plain("u".into())),
                (
                    "password".into(),
                    CredentialValue::Secret(SecretReference::Env("PW".into())),
                ),
            ],
            use_caller_identity: false,
            privacy_level: PrivacyLevel::Organizational,
            encrypted_connection: true,
            sso: false,
        }
    }

    #[test]
    fn mask_commands_escape_what_the_runner_decodes_and_cover_each_line() {
        assert_eq!(
            mask_commands("s3cr%0Aet%25x"),
            ["::add-mask::s3cr%250Aet%2525x"]
        );
        assert_eq!(
            mask_commands("line one\r\nline\rtwo\n\n"),
            ["::add-mask::line one", "::add-mask::line%0Dtwo"]
        );
        assert!(mask_commands("  \n").is_empty());
    }

    #[test]
    fn fingerprint_changes_with_the_secret_and_never_contains_it() {
        let mut s = Secrets::default();
        s.insert(
            SecretReference::Env("PW".into()),
            SecretString::from("hunter2"),
        );
        let a = credential_fingerprint("salt", &spec(), &s).unwrap();
        s.insert(
            SecretReference::Env("PW".into()),
            SecretString::from("hunter3"),
        );
        let b = credential_fingerprint("salt", &spec(), &s).unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("hunter"));
        assert!(!format!("{s:?}").contains("hunter"));
        assert!(credential_fingerprint("salt", &spec(), &Secrets::default()).is_none());
    }

    #[test]
    fn apply_records_the_fingerprint_plan_compares() {
        let mut s = Secrets::default();
        s.insert(
            SecretReference::Env("PW".into()),
            SecretString::from("hunter2"),
        );
        let plan_side =
            crate::plan::build::credential_fingerprint("salt", &[SecretString::from("hunter2")]);
        assert_eq!(
            credential_fingerprint("salt", &spec(), &s).as_deref(),
            Some(plan_side.as_str())
        );
    }

    #[test]
    fn missing_env_and_file_name_the_reference() {
        let e = resolve_one(
            &SecretReference::Env("NOPE_X".into()),
            Path::new("."),
            &|_| None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("env:NOPE_X"), "{e}");
        let e = resolve_one(
            &SecretReference::File("no/such/file".into()),
            Path::new("/nonexistent"),
            &|_| None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("file:no/such/file"), "{e}");
    }

    #[test]
    fn apply_reads_a_secret_file_as_plan_fingerprints_it() {
        // One trailing newline goes, the rest is the secret: apply used to strip them all,
        // so a file ending in a blank line planned a rotation after every apply.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pw.txt"), "pw\n\r\n").unwrap();
        let r = SecretReference::File("pw.txt".into());
        let applied = resolve_one(&r, tmp.path(), &|_| None).unwrap();
        let planned = crate::manifest::secret::SecretRef::File(tmp.path().join("pw.txt"))
            .resolve()
            .unwrap();
        assert_eq!(applied, "pw\n");
        assert_eq!(applied, planned.expose_secret());
    }

    #[test]
    fn a_secret_file_outside_the_base_dir_is_refused_before_reading() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("repo");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(tmp.path().join("private"), "sentinel-outside").unwrap();
        for path in ["../private", "/etc/passwd"] {
            let e = resolve_one(&SecretReference::File(path.into()), &base, &|_| None).unwrap_err();
            assert!(matches!(e, SecretError::OutsideRoot { .. }), "{path}: {e}");
            assert!(
                e.to_string().contains("outside the manifest's folder"),
                "{e}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("private"), base.join("link")).unwrap();
            let e =
                resolve_one(&SecretReference::File("link".into()), &base, &|_| None).unwrap_err();
            assert!(matches!(e, SecretError::OutsideRoot { .. }), "{e}");
            assert!(!e.to_string().contains("sentinel-outside"), "{e}");
        }
        std::fs::write(base.join("inside"), "ok\n").unwrap();
        let v = resolve_one(&SecretReference::File("inside".into()), &base, &|_| None).unwrap();
        assert_eq!(v, "ok");
    }
}
