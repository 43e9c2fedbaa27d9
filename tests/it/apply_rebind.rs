//! The re-import traps of other tools (reference/peer-tools.md §3): a thin report moved to
//! another dataset, then re-published with new content, must keep its id and never be
//! duplicated; nor may a report that someone rebound in the service. Run with the real binary
//! on the local service; the emulator's state file is the service's truth.

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

fn manifest(report_dataset: &str) -> String {
    format!(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: Rebind
    create: true
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
      - name: Sales Copy
        pbix: pbix/sales.pbix
    reports:
      - name: Sales Summary
        pbix: pbix/sales-summary.pbix
        dataset: {report_dataset}
"#
    )
}

fn apply(dir: &Path) -> String {
    let out = crate::support::pbideploy()
        .current_dir(dir)
        .args([
            "apply",
            "--service",
            "local",
            "--auto-approve",
            "-f",
            "m.yaml",
        ])
        .args(["--color", "never"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "apply failed:\n{text}");
    text
}

fn state(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join(".pbideploy/local/state.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (report id, bound dataset name) of every report named `name`.
fn reports(state: &Value, name: &str) -> Vec<(String, String)> {
    let dataset_name = |id: &str| {
        state["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["name"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    state["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == name)
        .map(|r| {
            let ds = dataset_name(r["datasetId"].as_str().unwrap_or_default());
            (r["id"].as_str().unwrap().to_string(), ds)
        })
        .collect()
}

fn count(state: &Value, kind: &str, name: &str) -> usize {
    state[kind]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == name)
        .count()
}

/// The same PBIX with one extra part, so its content hash changes (a re-publish).
fn republish(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..reader.len() {
        let file = reader.by_index_raw(i).unwrap();
        out.raw_copy_file(file).unwrap();
    }
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    out.start_file(
        "Extra/revision.txt",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    write!(out, "{n}").unwrap();
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pbix")).unwrap();
    for f in ["sales.pbix", "sales-summary.pbix"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("manifests/pbix")
                .join(f),
            dir.path().join("pbix").join(f),
        )
        .unwrap();
    }
    dir
}

#[test]
fn a_moved_then_republished_report_keeps_its_id_and_is_never_duplicated() {
    let dir = workdir();
    let root = dir.path();
    std::fs::write(root.join("m.yaml"), manifest("Sales")).unwrap();
    apply(root);
    let first = reports(&state(root), "Sales Summary");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "Sales");
    let id = first[0].0.clone();

    // Move the report to the other dataset.
    std::fs::write(root.join("m.yaml"), manifest("Sales Copy")).unwrap();
    apply(root);
    assert_eq!(
        reports(&state(root), "Sales Summary"),
        [(id.clone(), "Sales Copy".to_string())]
    );

    // Re-publish the report with new content: re-imported in place, still bound to the copy.
    republish(&root.join("pbix/sales-summary.pbix"));
    let out = apply(root);
    assert!(
        out.contains("report[\"Sales Summary\"]: Modifications complete"),
        "the report is re-imported: {out}"
    );
    let s = state(root);
    assert_eq!(
        reports(&s, "Sales Summary"),
        [(id.clone(), "Sales Copy".to_string())]
    );
    // Re-publishing the datasets too never duplicates them or the report.
    republish(&root.join("pbix/sales.pbix"));
    apply(root);
    let s = state(root);
    assert_eq!(count(&s, "datasets", "Sales"), 1);
    assert_eq!(count(&s, "datasets", "Sales Copy"), 1);
    assert_eq!(
        reports(&s, "Sales Summary"),
        [(id, "Sales Copy".to_string())]
    );
}

#[test]
fn a_report_rebound_in_the_service_is_bound_back_in_place() {
    let dir = workdir();
    let root = dir.path();
    std::fs::write(root.join("m.yaml"), manifest("Sales")).unwrap();
    apply(root);
    let id = reports(&state(root), "Sales Summary")[0].0.clone();

    // Someone rebinds the report to the copy in the service (edited in the emulator's state,
    // which the local service loads at its next start), and re-publishes the report file.
    let mut s = state(root);
    let copy = s["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Sales Copy")
        .unwrap()["id"]
        .clone();
    for r in s["reports"].as_array_mut().unwrap() {
        if r["name"] == "Sales Summary" {
            r["datasetId"] = copy.clone();
        }
    }
    std::fs::write(
        root.join(".pbideploy/local/state.json"),
        serde_json::to_vec(&s).unwrap(),
    )
    .unwrap();
    republish(&root.join("pbix/sales-summary.pbix"));
    apply(root);
    assert_eq!(
        reports(&state(root), "Sales Summary"),
        [(id, "Sales".to_string())]
    );
}
