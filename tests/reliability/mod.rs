//! Shared by the fault soak and crash tests: a small manifest covering every kind of step
//! (workspaces, access, import, parameters, credentials from a file, schedule, thin reports
//! in another workspace), and the convergence check run after each scenario.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pbideploy::ledger::{Ledger, LedgerEntry};
use serde_json::Value;

/// The secret the manifest's `{file: ...}` credential holds.
pub const SECRET: &str = "soak-secret-3b1f";

pub const MANIFEST: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: Soak Data
    create: true
    access:
      - principal: report-authors@contoso.com
        principalType: Group
        role: Viewer
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
        parameters:
          Server: sql-prod.contoso.com
          Database: Sales
        credentials:
          - match: {type: Sql}
            type: Basic
            username: powerbi_reader
            password: {file: secrets/sql-password.txt}
        refresh:
          onApply: whenChanged
          schedule:
            days: [Monday, Friday]
            times: ["05:00"]
  - name: Soak Reports
    create: true
    reports:
      - name: Sales Summary
        pbix: pbix/sales-summary.pbix
        dataset: Soak Data/Sales
      - name: Sales Detail
        pbix: pbix/sales-detail.pbix
        dataset: Soak Data/Sales
"#;

/// Workspaces, and (workspace, item) names, the manifest asks for.
pub const WORKSPACES: [&str; 2] = ["Soak Data", "Soak Reports"];
pub const DATASETS: [(&str, &str); 1] = [("Soak Data", "Sales")];
pub const REPORTS: [(&str, &str); 2] = [
    ("Soak Reports", "Sales Summary"),
    ("Soak Reports", "Sales Detail"),
];

/// Writes the manifest, its PBIX files and its secret file into `dir`; returns the manifest.
pub fn write_project(dir: &Path) -> PathBuf {
    let pbix = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/pbix");
    std::fs::create_dir_all(dir.join("pbix")).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    for name in ["sales.pbix", "sales-summary.pbix", "sales-detail.pbix"] {
        std::fs::copy(pbix.join(name), dir.join("pbix").join(name)).unwrap();
    }
    std::fs::write(dir.join("secrets/sql-password.txt"), format!("{SECRET}\n")).unwrap();
    let manifest = dir.join("pbideploy.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    manifest
}

/// The ledger beside `manifest` (default environment), parsed: panics with the reason when
/// it is not valid. `None` when no apply got as far as writing it.
pub fn read_ledger(manifest: &Path) -> Option<Ledger> {
    let path = manifest.with_file_name("pbideploy.default.pbideploy-state.json");
    let text = std::fs::read_to_string(&path).ok()?;
    match Ledger::from_json(&path.display().to_string(), &text) {
        Ok(ledger) => Some(ledger),
        Err(e) => panic!("the ledger is corrupt: {e}\n{text}"),
    }
}

/// Checks the service holds exactly the desired items (one of each name, no duplicate
/// dataset or report), and that every id the ledger records is the service's item.
pub fn assert_converged(state: &Value, ledger: &Ledger, context: &str) {
    let list = |kind: &str| state[kind].as_array().cloned().unwrap_or_default();
    let groups = list("groups");
    let group_name: BTreeMap<String, String> = groups
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap_or("").to_string(),
                g["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut names: Vec<&str> = group_name.values().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, WORKSPACES.to_vec(), "{context}: workspaces");
    let items = |kind: &str| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = list(kind)
            .iter()
            .map(|i| {
                let group = group_name
                    .get(i["groupId"].as_str().unwrap_or(""))
                    .cloned()
                    .unwrap_or_default();
                (
                    group,
                    i["name"].as_str().unwrap_or("").to_string(),
                    i["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let datasets = items("datasets");
    let reports = items("reports");
    let pairs = |v: &[(String, String, String)]| -> Vec<(String, String)> {
        v.iter().map(|(g, n, _)| (g.clone(), n.clone())).collect()
    };
    let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut w: Vec<_> = v
            .iter()
            .map(|(g, n)| (g.to_string(), n.to_string()))
            .collect();
        w.sort();
        w
    };
    // The import also creates the dataset's own report (`Sales` in Soak Data).
    let mut want_reports = want(&REPORTS);
    want_reports.push(("Soak Data".into(), "Sales".into()));
    want_reports.sort();
    assert_eq!(pairs(&datasets), want(&DATASETS), "{context}: datasets");
    assert_eq!(pairs(&reports), want_reports, "{context}: reports");
    let ids: Vec<&str> = datasets
        .iter()
        .chain(reports.iter())
        .map(|(_, _, id)| id.as_str())
        .chain(group_name.keys().map(String::as_str))
        .collect();
    let mut counts = (0, 0, 0);
    for (address, entry) in &ledger.entries {
        let id = match entry {
            LedgerEntry::Workspace(w) => {
                counts.0 += 1;
                &w.id
            }
            LedgerEntry::Dataset(d) => {
                counts.1 += 1;
                &d.dataset_id
            }
            LedgerEntry::Report(r) => {
                counts.2 += 1;
                &r.report_id
            }
        };
        assert!(
            ids.contains(&id.as_str()),
            "{context}: the ledger's {address} has id {id}, which the service does not hold"
        );
    }
    // Workspace entries only record that pbideploy created a workspace (they are never
    // pruned); a kill between the creation and its checkpoint leaves one unrecorded, and the
    // re-run then finds it by name. Datasets and reports must all be tracked.
    assert!(counts.0 <= 2, "{context}: {} workspace entries", counts.0);
    assert_eq!(
        (counts.1, counts.2),
        (1, 2),
        "{context}: ledger entries (datasets, reports)"
    );
}
