//! The README's main command: apply the quickstart to the built-in local service, twice, then
//! plan. The first apply creates everything, the second has nothing to do, plan shows no changes.

use std::path::Path;

use crate::support::{Run, assert_cli_snapshot};

fn run(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        crate::support::pbideploy()
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn quickstart_applies_then_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    std::fs::copy(
        root.join("quickstart.yaml"),
        tmp.path().join("quickstart.yaml"),
    )
    .unwrap();
    crate::support::copy_dir(&root.join("pbix"), &tmp.path().join("pbix"));
    let apply = [
        "apply",
        "--service",
        "local",
        "--auto-approve",
        "-f",
        "quickstart.yaml",
    ];

    // The step lines of an apply come in the order the steps finish, which concurrency
    // decides: an apply that changes something is checked by its summary, not frozen.
    let out = run(tmp.path(), &apply);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Apply complete: 3 added, 2 changed, 0 deleted."),
        "{}",
        out.stdout
    );
    assert!(tmp.path().join(".pbideploy/local/state.json").is_file());
    assert!(
        tmp.path()
            .join("quickstart.default.pbideploy-state.json")
            .is_file()
    );

    assert_cli_snapshot!("second_apply", run(tmp.path(), &apply));

    let out = run(
        tmp.path(),
        &[
            "plan",
            "--service",
            "local",
            "-f",
            "quickstart.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_cli_snapshot!("plan", out);

    // Two applies left exactly one dataset and one report of each name (no duplicates).
    let text = std::fs::read_to_string(tmp.path().join(".pbideploy/local/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let count = |kind: &str, name: &str| {
        state[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["name"] == name)
            .count()
    };
    assert_eq!(
        count("reports", "Sales Summary"),
        1,
        "one report, no duplicate"
    );
    assert_eq!(count("datasets", "Sales"), 1, "one dataset, no duplicate");
}

#[test]
fn apply_without_a_terminal_refuses_without_auto_approve() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    std::fs::copy(
        root.join("quickstart.yaml"),
        tmp.path().join("quickstart.yaml"),
    )
    .unwrap();
    crate::support::copy_dir(&root.join("pbix"), &tmp.path().join("pbix"));
    assert_cli_snapshot!(run(
        tmp.path(),
        &["apply", "--service", "local", "-f", "quickstart.yaml"],
    ));
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_once_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    std::fs::copy(
        root.join("quickstart.yaml"),
        tmp.path().join("quickstart.yaml"),
    )
    .unwrap();
    crate::support::copy_dir(&root.join("pbix"), &tmp.path().join("pbix"));
    let plan = [
        "plan",
        "--service",
        "local",
        "-f",
        "quickstart.yaml",
        "--out",
        "plan.json",
    ];
    let apply_saved = [
        "apply",
        "plan.json",
        "--service",
        "local",
        "-f",
        "quickstart.yaml",
    ];

    let out = run(tmp.path(), &plan);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The manifest changes after the plan was saved: the plan is stale and nothing is applied.
    let manifest = tmp.path().join("quickstart.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n# edited after planning\n")).unwrap();
    assert_cli_snapshot!("stale_manifest", run(tmp.path(), &apply_saved));

    // A fresh saved plan applies without a prompt (the plan file is the approval).
    assert_cli_snapshot!("plan_saved", run(tmp.path(), &plan));
    let out = run(tmp.path(), &apply_saved);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Apply complete: 3 added"),
        "{}",
        out.stdout
    );

    // Applying the same file again: the live state moved, so it is stale now.
    assert_cli_snapshot!("stale_live_state", run(tmp.path(), &apply_saved));
}
