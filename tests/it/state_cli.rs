//! `pbideploy state list|show|rm` against ledger files in a temporary directory.

use assert_cmd::Command;

use crate::support::{Run, assert_cli_snapshot};

use pbideploy::domain::address::Address;
use pbideploy::ledger::store::{FileStore, LedgerStore};
use pbideploy::ledger::{DatasetEntry, Ledger, LedgerEntry, ReportEntry, WorkspaceEntry};

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

fn run(command: &mut Command) -> Run {
    Run::from(command.output().unwrap())
}

#[test]
fn list_uses_the_default_path_beside_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    assert_cli_snapshot!(run(cmd(dir.path()).args([
        "state",
        "list",
        "-f",
        "pbideploy.yaml",
        "--env",
        "prod"
    ])));
}

#[test]
fn show_prints_one_entry_and_rejects_unknown_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(dir.path());
    let show = |address: &str| {
        run(cmd(dir.path())
            .args(["state", "show", "--state"])
            .arg(&path)
            .arg(address))
    };
    assert_cli_snapshot!(
        "case_insensitive",
        show(r#"workspace["sales"].dataset["sales model"]"#)
    );
    assert_cli_snapshot!("unknown", show(r#"workspace["Sales"].dataset["Nope"]"#));
    assert_cli_snapshot!("invalid", show("workspace[Sales"));
}

#[test]
fn rm_forgets_the_entry_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(dir.path());
    assert_cli_snapshot!(
        "report",
        run(cmd(dir.path())
            .args(["state", "rm", "--state"])
            .arg(&path)
            .arg(r#"workspace["Sales"].report["Overview"]"#))
    );
    let ledger = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(ledger.entries.len(), 2);
    assert_cli_snapshot!(
        "workspace",
        run(cmd(dir.path())
            .args(["state", "rm", "--state"])
            .arg(&path)
            .arg(r#"workspace["Sales"]"#))
    );
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
    // Not a snapshot: the message names the holder's user, host and start time.
    cmd(dir.path())
        .args(["state", "rm", "--state"])
        .arg(&path)
        .arg(r#"workspace["Sales"]"#)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(".lock"));
    assert_eq!(store.load().unwrap().unwrap().entries.len(), 3);
}

#[test]
fn missing_and_corrupt_ledgers_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert_cli_snapshot!("missing", run(cmd(dir.path()).args(["state", "list"])));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    assert_cli_snapshot!(
        "corrupt",
        run(cmd(dir.path()).args(["state", "list", "--state"]).arg(&bad))
    );
}

#[test]
fn state_takes_state_like_plan_and_apply_and_still_accepts_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.json");
    for flag in ["--state", "--state-file"] {
        cmd(dir.path())
            .args(["state", "list", flag])
            .arg(&ledger)
            .assert()
            .code(1)
            .stderr(predicates::str::contains("no ledger at"));
    }
    let help = cmd(dir.path())
        .args(["state", "list", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    assert!(help.contains("--state <URL>"), "{help}");
    assert!(!help.contains("--state-file"), "{help}");
}
