//! `pbideploy plan` end to end against the in-process emulator: the CLI is run as a process
//! with `--service-url` and client-secret environment variables pointing at the emulator.

use std::path::{Path, PathBuf};

use pbideploy::domain::address::Address;
use pbideploy::ledger::{DatasetEntry, Ledger, LedgerEntry, WorkspaceEntry};
use pbideploy::plan::build::sha256_file;
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::types::{ImportOptions, UpdateParameter};
use pbideploy::session::{Endpoints, client_secret_provider};
use pbideploy_emulator::{EmulatorConfig, RunningEmulator};
use secrecy::SecretString;
use serde_json::Value;

use crate::support::{Run, assert_cli_snapshot};

const CLIENT_ID: &str = "pbideploy-e2e";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn emulator() -> RunningEmulator {
    pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap()
}

/// A temp folder with the example PBIX files under `pbix/`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pbix")).unwrap();
    for f in ["sales.pbix", "sales-summary.pbix", "sales-detail.pbix"] {
        std::fs::copy(
            repo().join("manifests/pbix").join(f),
            dir.path().join("pbix").join(f),
        )
        .unwrap();
    }
    dir
}

/// Runs `pbideploy plan ARGS` against the emulator (in a blocking thread so the emulator on
/// this runtime keeps serving).
async fn plan(url: &str, dir: &Path, args: &[&str]) -> Run {
    let url = url.to_string();
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = crate::support::pbideploy();
        cmd.current_dir(&dir)
            .arg("plan")
            .args(&args)
            .args(["--service-url", &url, "--color", "never"])
            .env("AZURE_TENANT_ID", "e2e")
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", "e2e-secret")
            .env("AZURE_AUTHORITY_HOST", &url);
        Run::from(cmd.output().unwrap())
    })
    .await
    .unwrap()
}

fn client(url: &str) -> PowerBiClient {
    let endpoints = Endpoints {
        api_url: url.to_string(),
        authority_url: url.to_string(),
        scope: "https://analysis.windows.net/powerbi/api/.default".into(),
    };
    let tokens =
        client_secret_provider(&endpoints, "e2e", CLIENT_ID, SecretString::from("x")).unwrap();
    let config = ClientConfig {
        api_base_url: url.to_string(),
        ..ClientConfig::default()
    };
    PowerBiClient::new(config, tokens).unwrap()
}

async fn requests(url: &str) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{url}/_emulator/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_array().cloned().unwrap_or_default()
}

fn json_plan(out: &Run) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", out.stdout, out.stderr))
}

fn changed(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const SEEDED: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: E2E
    create: true
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
        parameters:
          Server: sql-e2e
        refresh:
          onApply: never
"#;

/// Imports sales.pbix as `Sales` into a new `E2E` workspace, sets `Server`, and writes the
/// ledger recording exactly that.
async fn seed(url: &str, dir: &Path) {
    let c = client(url);
    let group = c.create_group("E2E").await.unwrap();
    let pbix = dir.join("pbix/sales.pbix");
    let import_id = c
        .import_pbix(
            &group.id,
            &pbix,
            &ImportOptions::create_or_overwrite("Sales"),
            None,
        )
        .await
        .unwrap();
    let import = c
        .wait_for_import(&group.id, &import_id, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let dataset_id = import.datasets[0].id.clone();
    c.update_parameters(
        &group.id,
        &dataset_id,
        &[UpdateParameter {
            name: "Server".into(),
            new_value: "sql-e2e".into(),
        }],
    )
    .await
    .unwrap();
    let mut ledger = Ledger::with_salt("00ff");
    let ws = Address::workspace("E2E");
    ledger.set(
        ws.clone(),
        LedgerEntry::Workspace(WorkspaceEntry {
            id: group.id.clone(),
            created: true,
        }),
    );
    ledger.set(
        ws.dataset("Sales"),
        LedgerEntry::Dataset(DatasetEntry {
            dataset_id,
            report_id: import.reports.first().map(|r| r.id.clone()),
            pbix_sha256: sha256_file(&pbix).unwrap(),
            import_id: Some(import_id),
            imported_at: import.updated_date_time.clone(),
            parameters: [("Server".to_string(), "sql-e2e".to_string())].into(),
            ..DatasetEntry::default()
        }),
    );
    std::fs::write(dir.join("m.default.pbideploy-state.json"), ledger.to_json()).unwrap();
    std::fs::write(dir.join("m.yaml"), SEEDED).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_tenant_gives_a_full_plan_with_get_requests_only() {
    let emu = emulator().await;
    let dir = workdir();
    std::fs::copy(
        repo().join("manifests/quickstart.yaml"),
        dir.path().join("q.yaml"),
    )
    .unwrap();
    let out = plan(
        &emu.url(),
        dir.path(),
        &["-f", "q.yaml", "--format", "json", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    let p = json_plan(&out);
    let changes = changed(&p);
    let addrs: Vec<&str> = changes.iter().map(|(a, _)| a.as_str()).collect();
    assert!(
        addrs.contains(&r#"workspace["pbideploy quickstart"]"#),
        "{addrs:?}"
    );
    assert!(
        addrs.contains(&r#"workspace["pbideploy quickstart"].dataset["Sales"]"#),
        "{addrs:?}"
    );
    assert!(
        addrs.contains(&r#"workspace["pbideploy quickstart"].report["Sales Summary"]"#),
        "{addrs:?}"
    );
    assert!(changes.iter().any(|(_, a)| a == "create"));
    let log = requests(&emu.url()).await;
    let api: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1.0/")))
        .collect();
    assert!(!api.is_empty());
    for r in api {
        assert_eq!(r["method"], "GET", "plan sent a write: {r}");
    }
    assert_cli_snapshot!(plan(&emu.url(), dir.path(), &["-f", "q.yaml"]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_tenant_has_no_changes_and_single_edits_give_single_changes() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = workdir();
    seed(&url, dir.path()).await;

    let out = plan(&url, dir.path(), &["-f", "m.yaml", "--detailed-exitcode"]).await;
    assert_cli_snapshot!(out);
    // The manifest manages parameters only: nothing else of the dataset is read (no users,
    // data sources, bound gateway sources, gateways or schedules).
    let unmanaged = [
        "/users",
        "/datasources",
        "GetBoundGatewayDatasources",
        "/gateways",
        "Schedule",
    ];
    for r in requests(&url).await {
        let path = r["path"].as_str().unwrap_or_default();
        assert!(
            !unmanaged.iter().any(|u| path.contains(u)),
            "plan read something the manifest does not manage: {path}"
        );
    }

    // A parameter value.
    std::fs::write(
        dir.path().join("m.yaml"),
        SEEDED.replace("sql-e2e", "sql-other"),
    )
    .unwrap();
    let out = plan(
        &url,
        dir.path(),
        &["-f", "m.yaml", "--format", "json", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    let changes = changed(&json_plan(&out));
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].0.contains("parameters"), "{changes:?}");

    // A new report.
    let with_report = format!(
        "{SEEDED}    reports:\n      - name: Detail\n        pbix: pbix/sales-detail.pbix\n        dataset: Sales\n"
    );
    std::fs::write(dir.path().join("m.yaml"), &with_report).unwrap();
    let out = plan(&url, dir.path(), &["-f", "m.yaml", "--format", "json"]).await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    // One item: the report's import (and its rebind step, the planner's safety net).
    let changes = changed(&json_plan(&out));
    let report = r#"workspace["E2E"].report["Detail"]"#;
    assert!(
        changes
            .iter()
            .any(|(a, act)| a == report && act == "create"),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|(a, _)| a.starts_with(report)),
        "{changes:?}"
    );

    // --target limits the plan to the addressed item.
    let out = plan(
        &url,
        dir.path(),
        &[
            "-f",
            "m.yaml",
            "--format",
            "json",
            "--target",
            r#"workspace["E2E"].dataset["Sales"]"#,
        ],
    )
    .await;
    assert_eq!(
        out.code, 1,
        "a target with no change is refused: {}",
        out.stdout
    );

    // --refresh-only plans nothing.
    let out = plan(
        &url,
        dir.path(),
        &[
            "-f",
            "m.yaml",
            "--format",
            "json",
            "--refresh-only",
            "--detailed-exitcode",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert!(changed(&json_plan(&out)).is_empty());

    // A changed PBIX (still a model: one more part): the dataset is re-imported (its
    // settings follow it).
    std::fs::write(dir.path().join("m.yaml"), SEEDED).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("pbix/sales.pbix"))
        .unwrap();
    let mut zip = zip::ZipWriter::new_append(file).unwrap();
    zip.start_file("Report/Changed", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, b"changed").unwrap();
    zip.finish().unwrap();
    let out = plan(&url, dir.path(), &["-f", "m.yaml", "--format", "json"]).await;
    let changes = changed(&json_plan(&out));
    let ds = r#"workspace["E2E"].dataset["Sales"]"#;
    assert!(
        changes.iter().any(|(a, act)| a == ds && act == "update"),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|(a, _)| a.starts_with(ds)),
        "{changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_keeps_only_the_addressed_item() {
    let emu = emulator().await;
    let dir = workdir();
    std::fs::copy(
        repo().join("manifests/quickstart.yaml"),
        dir.path().join("q.yaml"),
    )
    .unwrap();
    let out = plan(
        &emu.url(),
        dir.path(),
        &[
            "-f",
            "q.yaml",
            "--format",
            "json",
            "--target",
            r#"workspace["pbideploy quickstart"].dataset["Sales"]"#,
        ],
    )
    .await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let changes = changed(&json_plan(&out));
    assert!(
        changes.iter().all(|(a, _)| !a.contains("report")),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|(a, _)| a.ends_with(r#"dataset["Sales"]"#)),
        "{changes:?}"
    );
}

#[test]
fn plan_service_local_works_without_credentials() {
    let dir = workdir();
    std::fs::copy(
        repo().join("manifests/quickstart.yaml"),
        dir.path().join("q.yaml"),
    )
    .unwrap();
    let out = crate::support::pbideploy()
        .current_dir(dir.path())
        .args([
            "plan",
            "-f",
            "q.yaml",
            "--service",
            "local",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    assert_cli_snapshot!(Run::from(out));
    assert!(dir.path().join(".pbideploy/local/state.json").exists());
}

#[test]
fn invalid_manifest_prints_diagnostics_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: pbideploy/v1\nworkspaces: 3\n",
    )
    .unwrap();
    let out = crate::support::pbideploy()
        .current_dir(dir.path())
        .args(["plan", "-f", "bad.yaml", "--service", "local"])
        .output()
        .unwrap();
    assert_cli_snapshot!(Run::from(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_saves_a_plan_and_actions_summary_gets_markdown() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = workdir();
    std::fs::copy(
        repo().join("manifests/quickstart.yaml"),
        dir.path().join("q.yaml"),
    )
    .unwrap();
    let summary = dir.path().join("summary.md");
    let (d, s, u) = (dir.path().to_path_buf(), summary.clone(), url.clone());
    let out = tokio::task::spawn_blocking(move || {
        crate::support::pbideploy()
            .current_dir(&d)
            .args([
                "plan",
                "-f",
                "q.yaml",
                "--out",
                "saved.plan",
                "--service-url",
                &u,
            ])
            .env("AZURE_TENANT_ID", "e2e")
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", "e2e-secret")
            .env("AZURE_AUTHORITY_HOST", &u)
            .env("GITHUB_STEP_SUMMARY", &s)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_cli_snapshot!("plan_out", Run::from(out));
    let saved = pbideploy::plan::file::read_plan(&dir.path().join("saved.plan")).unwrap();
    assert!(saved.has_changes());
    assert_eq!(saved.live_fingerprint.len(), 64);
    assert!(!saved.manifest.sha256.is_empty());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(!md.contains("e2e-secret"));
    crate::support::cli_snapshot_settings().bind(|| insta::assert_snapshot!("step_summary", md));
}
