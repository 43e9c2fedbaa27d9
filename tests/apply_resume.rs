//! Resume after a failure at each step kind: for every kind of step the first plan holds, a
//! fresh emulator refuses that step's request once; apply fails that step (and what depends on
//! it) cleanly, and the next apply finishes the work, after which a third apply has nothing to
//! do and the service holds exactly one dataset and one report of each name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use pbideploy_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};

const CLIENT_ID: &str = "pbideploy-resume";

/// A manifest with every step kind the planner makes for new content: workspace, capacity,
/// access, imports, parameters, re-pointing, a gateway data source, binding, cloud and
/// gateway credentials, refresh, both schedule kinds, a thin report and its rebind.
const MANIFEST: &str = r#"
apiVersion: pbideploy/v1
workspaces:
  - name: Resume
    create: true
    capacity: 0F084DF7-C13D-451B-AF5F-ED0C466403B2
    access:
      - principal: bi-admins@contoso.com
        principalType: Group
        role: Admin
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
        parameters: {Server: sql-test.contoso.com, Database: Sales}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: reader
            password: {env: RESUME_SQL_PASSWORD}
        refresh:
          onApply: whenChanged
          schedule: {days: [Monday], times: ["06:00"]}
      - name: Inventory
        pbix: pbix/inventory-dq.pbix
        datasources:
          - match: {type: Sql, connectionDetails: {server: sql01, database: Inventory}}
            set: {connectionDetails: {server: sql01.corp.contoso.com, database: Inventory}}
        gateway: {name: Local Gateway, createDatasources: true}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: svc
            password: {env: RESUME_SQL_PASSWORD}
        refresh:
          onApply: never
          schedule: {frequency: 30}
    reports:
      - name: Sales Summary
        pbix: pbix/sales-summary.pbix
        dataset: Sales
"#;

/// The request each operation type starts with, as (method, path glob).
fn first_request(op: &str) -> Option<(&'static str, &'static str)> {
    Some(match op {
        "create_workspace" => ("POST", "*/myorg/groups"),
        "assign_capacity" => ("POST", "*/AssignToCapacity"),
        "set_access" => ("POST", "*/groups/*/users"),
        "import" => ("POST", "*/groups/*/imports"),
        "take_over" => ("POST", "*/Default.TakeOver"),
        "update_parameters" => ("POST", "*/Default.UpdateParameters"),
        "update_datasources" => ("POST", "*/Default.UpdateDatasources"),
        "create_gateway_datasource" => ("POST", "*/gateways/*/datasources"),
        "bind_to_gateway" => ("POST", "*/Default.BindToGateway"),
        "set_credentials" => ("PATCH", "*/gateways/*/datasources/*"),
        "refresh" => ("POST", "*/refreshes"),
        "set_refresh_schedule" => ("PATCH", "*/datasets/*Schedule"),
        "rebind" => ("POST", "*/Rebind"),
        _ => return None,
    })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pbix")).unwrap();
    for f in ["sales.pbix", "sales-summary.pbix", "inventory-dq.pbix"] {
        std::fs::copy(
            repo().join("manifests/pbix").join(f),
            dir.path().join("pbix").join(f),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("pbideploy.yaml"), MANIFEST).unwrap();
    dir
}

async fn run(url: &str, dir: &Path, args: &[&str]) -> (i32, String) {
    let url = url.to_string();
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = cargo_bin_cmd!("pbideploy")
            .current_dir(&dir)
            .args(&args)
            .args(["--service-url", &url, "--color", "never"])
            .env("AZURE_TENANT_ID", "resume")
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", "resume-secret")
            .env("AZURE_AUTHORITY_HOST", &url)
            .env("RESUME_SQL_PASSWORD", "resume-pw")
            .env_remove("PBIDEPLOY_ACCESS_TOKEN")
            .env_remove("PBIDEPLOY_ENV")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

async fn emulator() -> RunningEmulator {
    pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap()
}

/// The operation types of the plan for the manifest against an empty tenant.
async fn planned_operations() -> BTreeSet<String> {
    let emu = emulator().await;
    let dir = workdir();
    let (code, out) = run(&emu.url(), dir.path(), &["plan", "--format", "json"]).await;
    assert_eq!(code, 0, "{out}");
    let json_start = out.find('{').unwrap();
    let plan: Value = serde_json::Deserializer::from_str(&out[json_start..])
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    emu.shutdown().await;
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"]["type"].as_str().unwrap().to_string())
        .collect()
}

fn assert_no_duplicates(state: &Value, what: &str) {
    for kind in ["datasets", "reports"] {
        let mut seen = BTreeSet::new();
        for item in state[kind].as_array().into_iter().flatten() {
            let key = (item["groupId"].to_string(), item["name"].to_string());
            assert!(seen.insert(key.clone()), "{what}: duplicate {kind} {key:?}");
        }
    }
    assert_eq!(
        state["groups"].as_array().map(Vec::len),
        Some(1),
        "{what}: one workspace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_step_kind_is_recovered_by_the_next_apply() {
    let ops = planned_operations().await;
    for expected in [
        "create_workspace",
        "import",
        "update_parameters",
        "update_datasources",
        "create_gateway_datasource",
        "bind_to_gateway",
        "set_credentials",
        "refresh",
        "set_refresh_schedule",
        "rebind",
        "set_access",
        "assign_capacity",
    ] {
        assert!(
            ops.contains(expected),
            "the plan has no {expected} step: {ops:?}"
        );
    }
    for op in &ops {
        let Some((method, path)) = first_request(op) else {
            panic!("no request known for step kind {op}: add it to first_request");
        };
        let emu = emulator().await;
        let url = emu.url();
        let dir = workdir();
        let rule =
            json!({"failNext": [{"method": method, "path": path, "status": 400, "count": 1}]});
        let r = reqwest::Client::new()
            .post(format!("{url}/_emulator/faults"))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        let apply = ["apply", "--auto-approve"];
        let (code, out) = run(&url, dir.path(), &apply).await;
        let knobs: Value = reqwest::Client::new()
            .get(format!("{url}/_emulator/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if knobs["failNext"].as_array().is_some_and(|r| !r.is_empty()) {
            // The rebind is a safety net: the retargeted thin report is already bound, so
            // no Rebind request is sent. Every other step must have met its fault.
            assert_eq!(op, "rebind", "{op}: its request was never sent:\n{out}");
            assert_eq!(code, 0, "{out}");
            emu.shutdown().await;
            continue;
        }
        assert!(
            code == 3 || code == 1,
            "{op}: a failed step must fail the apply (exit {code}):\n{out}"
        );
        assert!(
            out.contains("Refused by an emulator fail rule"),
            "{op}: the service's message is shown:\n{out}"
        );
        assert!(
            out.contains("request id"),
            "{op}: the request id is shown:\n{out}"
        );
        let ledger = dir.path().join("pbideploy.default.pbideploy-state.json");
        if ledger.exists() {
            let text = std::fs::read_to_string(&ledger).unwrap();
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("{op}: ledger corrupt: {e}"));
        }

        let (code, out) = run(&url, dir.path(), &apply).await;
        assert_eq!(code, 0, "{op}: the re-run must finish the work:\n{out}");
        let before = emu.app().log.lock().unwrap().len();
        let (code, out) = run(&url, dir.path(), &apply).await;
        assert_eq!(code, 0, "{op}:\n{out}");
        assert!(
            out.contains("No changes."),
            "{op}: a third apply must have nothing to do:\n{out}"
        );
        let writes: Vec<String> = emu.app().log.lock().unwrap()[before..]
            .iter()
            .filter(|r| r.method != "GET" && !r.path.ends_with("/oauth2/v2.0/token"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            writes.is_empty(),
            "{op}: an apply with nothing to do sent writes: {writes:?}"
        );
        assert_no_duplicates(&emu.snapshot(), op);
        emu.shutdown().await;
    }
}
