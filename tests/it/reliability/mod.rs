//! Shared by the reliability suites (fault soak, crash safety, sentinel secrets, hostile
//! names): a small manifest covering every kind of step (workspaces, access, import,
//! parameters, credentials from a file, schedule, thin reports in another workspace), the
//! convergence check run after each scenario, and the CLI pointed at an in-process emulator.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pbideploy::ledger::{Ledger, LedgerEntry};
use pbideploy_emulator::RunningEmulator;
use serde_json::Value;

/// The runtime the suites run their in-process emulator on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The `pbideploy` binary in `dir`, talking to the emulator at `url` with client-secret auth
/// (`client_secret` as the secret); nothing else from the test's environment leaks in.
pub fn cli(dir: &Path, url: &str, client_secret: &str) -> std::process::Command {
    let mut cmd = crate::support::pbideploy_process();
    cmd.current_dir(dir)
        .env("AZURE_TENANT_ID", "reliability")
        .env("AZURE_CLIENT_ID", "reliability-deployer")
        .env("AZURE_CLIENT_SECRET", client_secret)
        .env("AZURE_AUTHORITY_HOST", url)
        .env("PBIDEPLOY_SERVICE_URL", url);
    cmd
}

/// Sets emulator knobs (`faultRate`, `latencyMs`, ...) through its control API.
pub async fn set_knobs(emu: &RunningEmulator, knobs: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.url()))
        .json(&knobs)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// The emulator's request log (`GET /_emulator/requests`), oldest first.
pub async fn request_log(emu: &RunningEmulator) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_emulator/requests", emu.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log["value"].as_array().cloned().unwrap_or_default()
}

/// Every file below `dir`.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

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
