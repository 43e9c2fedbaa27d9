//! `pbideploy state list|show|rm` against ledger files in a temporary directory.

use assert_cmd::Command;
use predicates::prelude::*;

use pbideploy::ledger::store::{FileStore, LedgerStore};
use pbideploy::ledger::{DatasetEntry, Ledger, LedgerEntry, ReportEntry, WorkspaceEntry};
use pbideploy::plan::address::Address;

fn seeded(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("pbideploy.prod.pbideploy-state.json");
    let store = FileStore::new(&path);
    let mut ledger = Ledger::with_salt("0011");
    let ws = Address::workspace("Sales");
    ledger.set(
        ws.clone(),
        LedgerEntry::Workspace(WorkspaceEntry {
            id: "w1".into(),
            created: true,
        }),
    );
    ledger.set(
        ws.dataset("Sales Model"),
        LedgerEntry::Dataset(DatasetEntry {
            dataset_id: "d1".into(),
            pbix_sha256: "abc".into(),
            ..Default::default()
        }),
    );
    ledger.set(
        ws.report("Overview"),
        LedgerEntry::Report(ReportEntry {
            report_id: "r1".into(),
            ..Default::default()
        }),
    );
    let lock = store.lock().unwrap();
    store.save(&ledger, &lock).unwrap();
    path
}

fn cmd(dir: &std::path::Path) -> Command {
    let mut c = crate::support::pbideploy();
    c.current_dir(dir);
    c
}

#[test]
fn list_uses_the_default_path_beside_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    cmd(dir.path())
        .args(["state", "list", "-f", "pbideploy.yaml", "--env", "prod"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            r#"workspace["Sales"].dataset["Sales Model"]"#,
        ))
        .stdout(predicate::str::contains(
            r#"workspace["Sales"].report["Overview"]"#,
        ));
}

#[test]
fn show_prints_one_entry_and_rejects_unknown_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(dir.path());
    cmd(dir.path())
        .args(["state", "show", "--state-file"])
        .arg(&path)
        .arg(r#"workspace["sales"].dataset["sales model"]"#)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"dataset_id\": \"d1\""));
    cmd(dir.path())
        .args(["state", "show", "--state-file"])
        .arg(&path)
        .arg(r#"workspace["Sales"].dataset["Nope"]"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state list"));
    cmd(dir.path())
        .args(["state", "show", "--state-file"])
        .arg(&path)
        .arg("workspace[Sales")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid address"));
}

#[test]
fn rm_forgets_the_entry_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(dir.path());
    cmd(dir.path())
        .args(["state", "rm", "--state-file"])
        .arg(&path)
        .arg(r#"workspace["Sales"].report["Overview"]"#)
        .assert()
        .success()
        .stdout(predicate::str::contains("Removed"));
    let ledger = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(ledger.entries.len(), 2);
    cmd(dir.path())
        .args(["state", "rm", "--state-file"])
        .arg(&path)
        .arg(r#"workspace["Sales"]"#)
        .assert()
        .success();
    let ledger = FileStore::new(&path).load().unwrap().unwrap();
    assert!(ledger.entries.is_empty());
    assert_eq!(ledger.salt, "0011", "the salt survives edits");
}

#[test]
fn rm_refuses_while_another_run_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(dir.path());
    let store = FileStore::new(&path);
    let _held = store.lock().unwrap();
    cmd(dir.path())
        .args(["state", "rm", "--state-file"])
        .arg(&path)
        .arg(r#"workspace["Sales"]"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(".lock"));
    assert_eq!(store.load().unwrap().unwrap().entries.len(), 3);
}

#[test]
fn missing_and_corrupt_ledgers_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    cmd(dir.path())
        .args(["state", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no ledger at"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    cmd(dir.path())
        .args(["state", "list", "--state-file"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.json"));
}
