//! Secret resolution for apply: every secret reference a plan needs is resolved before any
//! change is made, so a missing variable or file fails the run while the service is untouched.
//!
//! Values live in [`SecretString`]s; under GitHub Actions each is masked (`::add-mask::`)
//! before use. The ledger only ever sees [`credential_fingerprint`].

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::secret_ref::SecretRef;
use crate::env_vars::{self, VarSource};
use crate::manifest::secret::{self, SecretError};
use crate::plan::model::{CredentialSpec, CredentialValue, Operation, Plan};

/// Resolved secrets by reference. Debug shows only the references.
#[derive(Default)]
pub struct Secrets {
    values: BTreeMap<SecretRef, SecretString>,
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
    pub fn get(&self, reference: &SecretRef) -> Option<&SecretString> {
        self.values.get(reference)
    }

    /// Insert a value (tests and callers that resolved elsewhere).
    pub fn insert(&mut self, reference: SecretRef, value: SecretString) {
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

/// Resolve every secret the plan needs (with [`secret::resolve`], the resolver plan
/// fingerprints with): variables from `env`, files under `base_dir`.
pub fn resolve(plan: &Plan, base_dir: &Path, env: &dyn VarSource) -> Result<Secrets, SecretError> {
    let mut out = Secrets::default();
    for spec in plan_credentials(plan) {
        for reference in spec.secret_references() {
            if out.values.contains_key(reference) {
                continue;
            }
            let value = secret::resolve(reference, base_dir, env)?;
            out.values.insert(reference.clone(), value);
        }
    }
    Ok(out)
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true` in `env`), writes to `out` the `::add-mask::`
/// lines of every resolved secret; the caller does it before any step can print one.
/// Elsewhere writes nothing. Write errors are the caller's to judge (a closed stdout is
/// harmless: nobody reads what follows either).
pub fn write_masks(
    secrets: &Secrets,
    env: &dyn VarSource,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let github = env
        .var(env_vars::GITHUB_ACTIONS)
        .is_some_and(|v| v == "true");
    if !github {
        return Ok(());
    }
    for value in secrets.values.values() {
        for command in mask_commands(value.expose_secret()) {
            writeln!(out, "{command}")?;
        }
    }
    out.flush()
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

/// The salted fingerprint of a credential's secrets, as the ledger keeps it and as plan
/// compares it: the very function plan uses ([`crate::ledger::credential_fingerprint`]),
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
    Some(crate::ledger::credential_fingerprint(salt, &values))
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
                    CredentialValue::Secret(SecretRef::Env("PW".into())),
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
        s.insert(SecretRef::Env("PW".into()), SecretString::from("hunter2"));
        let a = credential_fingerprint("salt", &spec(), &s).unwrap();
        s.insert(SecretRef::Env("PW".into()), SecretString::from("hunter3"));
        let b = credential_fingerprint("salt", &spec(), &s).unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("hunter"));
        assert!(!format!("{s:?}").contains("hunter"));
        assert!(credential_fingerprint("salt", &spec(), &Secrets::default()).is_none());
    }

    #[test]
    fn apply_records_the_fingerprint_plan_compares() {
        let mut s = Secrets::default();
        s.insert(SecretRef::Env("PW".into()), SecretString::from("hunter2"));
        let plan_side =
            crate::ledger::credential_fingerprint("salt", &[SecretString::from("hunter2")]);
        assert_eq!(
            credential_fingerprint("salt", &spec(), &s).as_deref(),
            Some(plan_side.as_str())
        );
    }
}
