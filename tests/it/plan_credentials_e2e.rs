//! Plan with gateways and credentials, end to end on the local service: the first plan shows
//! the gateway data source, the binding and the credentials as `(sensitive value)`; after an
//! apply, the same secret plans nothing, a rotated secret plans exactly the credential update
//! (the secret shown as changed), a changed privacy level plans it with before and after, and
//! a missing secret is `not checked` instead of an error. No secret value is ever printed or
//! written.

use std::path::Path;

use crate::support::{Run, assert_cli_snapshot};

const FIRST: &str = "Sentinel-First-7f3a";
const SECOND: &str = "Sentinel-Second-91bc";

fn manifest(privacy: &str) -> String {
    format!(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: Inventory
    create: true
    datasets:
      - name: Inventory
        pbix: pbix/inventory-dq.pbix
        datasources:
          - match:
              type: Sql
              connectionDetails: {{server: sql01, database: Inventory}}
            set:
              connectionDetails: {{server: sql01.corp.contoso.com, database: Inventory}}
        gateway:
          name: Local Gateway
          createDatasources: true
        credentials:
          - match:
              type: Sql
              connectionDetails: {{server: sql01.corp.contoso.com}}
            type: Basic
            username: svc_powerbi
            password: {{env: INVENTORY_SQL_PASSWORD}}
            privacyLevel: {privacy}
            encryptedConnection: Encrypted
        refresh:
          onApply: never
"#
    )
}

/// Runs pbideploy in `dir` with the password variable set to `secret` (or unset); fails if
/// either secret shows up in its output.
fn run(dir: &Path, secret: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = crate::support::pbideploy();
    cmd.current_dir(dir).args(args).args([
        "--service",
        "local",
        "-f",
        "m.yaml",
        "--color",
        "never",
    ]);
    if let Some(s) = secret {
        cmd.env("INVENTORY_SQL_PASSWORD", s);
    }
    let out = Run::from(cmd.output().unwrap());
    for s in [FIRST, SECOND] {
        assert!(
            !out.stdout.contains(s) && !out.stderr.contains(s),
            "a secret was printed: {out:?}"
        );
    }
    out
}

fn plan(dir: &Path, secret: Option<&str>) -> Run {
    run(dir, secret, &["plan", "--detailed-exitcode"])
}

/// A temp folder with `m.yaml` (`manifest`) and `pbix/<pbix>` copied from the examples.
fn workdir(pbix: &str, manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pbix")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests/pbix")
            .join(pbix),
        dir.path().join("pbix").join(pbix),
    )
    .unwrap();
    std::fs::write(dir.path().join("m.yaml"), manifest).unwrap();
    dir
}

/// Applies with the first secret, then plans: nothing is left to do.
fn apply_then_nothing_to_do(root: &Path) {
    let out = run(root, Some(FIRST), &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = plan(root, Some(FIRST));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "No changes. The service matches the manifest.\n", "")
    );
}

#[test]
fn credentials_are_planned_rotated_and_not_checked_without_leaking() {
    let dir = workdir("inventory-dq.pbix", &manifest("Organizational"));
    let root = dir.path();

    // Empty tenant, no secret (a pull-request build): a full plan, not an error.
    assert_cli_snapshot!("empty_tenant_without_secret", plan(root, None));

    apply_then_nothing_to_do(root);

    // Rotation: exactly the credential update, the secret shown as changed.
    assert_cli_snapshot!("rotated", plan(root, Some(SECOND)));

    // Without the secret: not checked, nothing to do.
    assert_cli_snapshot!("not_checked", plan(root, None));

    // A settings change is seen through the ledger, with the old and new value.
    std::fs::write(root.join("m.yaml"), manifest("Private")).unwrap();
    assert_cli_snapshot!("settings_changed", plan(root, None));

    // The secret never reaches the ledger or the local service's own files either.
    for entry in walk(root) {
        if entry.extension().is_some_and(|e| e == "pbix") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if entry.ends_with("state.json") {
            continue; // the emulator's state holds decrypted credentials by design
        }
        for s in [FIRST, SECOND] {
            assert!(!text.contains(s), "{} holds a secret", entry.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A credential rule without `match` selects every data source: apply sets it on each of
/// them (it used to fail with "no data source ... matches"), and the next plan is empty.
#[test]
fn a_credential_rule_without_match_applies_to_every_source() {
    let manifest = "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n    create: true\n    datasets:\n      - name: Sales\n        pbix: pbix/sales.pbix\n        credentials:\n          - type: Basic\n            username: svc\n            password: {env: INVENTORY_SQL_PASSWORD}\n        refresh: {onApply: never}\n";
    let dir = workdir("sales.pbix", manifest);
    apply_then_nothing_to_do(dir.path());
}
