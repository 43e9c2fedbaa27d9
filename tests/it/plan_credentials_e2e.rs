//! Plan with gateways and credentials, end to end on the local service: the first plan shows
//! the gateway data source, the binding and the credentials as `(sensitive value)`; after an
//! apply, the same secret plans nothing, a rotated secret plans exactly the credential update
//! (the secret shown as changed), a changed privacy level plans it with before and after, and
//! a missing secret is `not checked` instead of an error. No secret value is ever printed or
//! written.

use std::path::Path;

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

/// Runs pbideploy in `dir` with the password variable set to `secret` (or unset).
fn run(dir: &Path, secret: Option<&str>, args: &[&str]) -> (i32, String) {
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
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in [FIRST, SECOND] {
        assert!(!text.contains(s), "a secret was printed: {text}");
    }
    (out.status.code().unwrap_or(-1), text)
}

fn plan(dir: &Path, secret: Option<&str>) -> (i32, String) {
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
    let (code, out) = run(root, Some(FIRST), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = plan(root, Some(FIRST));
    assert_eq!(
        (code, out.trim()),
        (0, "No changes. The service matches the manifest.")
    );
}

#[test]
fn credentials_are_planned_rotated_and_not_checked_without_leaking() {
    let dir = workdir("inventory-dq.pbix", &manifest("Organizational"));
    let root = dir.path();

    // Empty tenant, no secret (a pull-request build): a full plan, not an error.
    let (code, out) = plan(root, None);
    assert_eq!(code, 2, "{out}");
    for want in [
        "gateway[\"Local Gateway\"].datasource[\"Sql database=Inventory;server=sql01.corp.contoso.com\"] will be created",
        ".gateway_binding will be updated in-place",
        "+ gateway = \"Local Gateway (1f69e798-5852-4fdd-ab01-33bb14b6e934)\"",
        "(credentials never applied by pbideploy)",
        "+ secret               = (sensitive value)",
        "env:INVENTORY_SQL_PASSWORD",
    ] {
        // Attribute columns are aligned: compare with runs of spaces folded.
        let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            fold(&out).contains(&fold(want)),
            "missing {want:?} in:\n{out}"
        );
    }

    apply_then_nothing_to_do(root);

    // Rotation: exactly the credential update, the secret shown as changed.
    let (code, out) = plan(root, Some(SECOND));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("(the secret was rotated (fingerprint differs))"),
        "{out}"
    );
    assert!(out.contains("~ secret"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to delete."),
        "{out}"
    );

    // Without the secret: not checked, nothing to do.
    let (code, out) = plan(root, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not checked"), "{out}");

    // A settings change is seen through the ledger, with the old and new value.
    std::fs::write(root.join("m.yaml"), manifest("Private")).unwrap();
    let (code, out) = plan(root, None);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("credential settings changed (privacy_level)"),
        "{out}"
    );
    assert!(out.contains("\"Organizational\" -> \"Private\""), "{out}");

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
