//! Helpers for tests that run the `pbideploy` binary against an in-process emulator: a work
//! folder holding `tests/fixtures/rich.yaml` and its PBIX files, and the CLI run with
//! client-secret variables pointing at the emulator.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pbideploy_emulator::{EmulatorConfig, RunningEmulator};

pub(crate) use crate::reliability;
use serde_json::Value;

/// The password every credential rule of the rich manifest reads from the environment.
pub const PASSWORD_VAR: &str = "RESUME_SQL_PASSWORD";
pub const PASSWORD: &str = "resume-pw";
/// The ledger `pbideploy.yaml` gets by default.
pub const LEDGER: &str = "pbideploy.default.pbideploy-state.json";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub async fn emulator() -> RunningEmulator {
    pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap()
}

/// A temp folder with `pbideploy.yaml` (the rich manifest) and the PBIX files it names.
pub fn rich_workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pbix")).unwrap();
    for f in [
        "sales.pbix",
        "sales-summary.pbix",
        "sales-detail.pbix",
        "inventory-dq.pbix",
    ] {
        std::fs::copy(
            repo().join("manifests/pbix").join(f),
            dir.path().join("pbix").join(f),
        )
        .unwrap();
    }
    std::fs::copy(
        repo().join("tests/fixtures/rich.yaml"),
        dir.path().join("pbideploy.yaml"),
    )
    .unwrap();
    dir
}

/// Runs `pbideploy ARGS` in `dir` against the emulator at `url` (the reliability suites' CLI,
/// with the rich manifest's password set), on a blocking thread so the emulator on this
/// runtime keeps serving; returns the exit code and stdout + stderr.
pub async fn run(url: &str, dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = reliability::cli(dir, url, "e2e-secret");
    cmd.args(args)
        .args(["--color", "never"])
        .env(PASSWORD_VAR, PASSWORD);
    tokio::task::spawn_blocking(move || {
        let out = cmd.output().unwrap();
        crate::support::code_and_text(&out)
    })
    .await
    .unwrap()
}

/// The JSON plan of `plan --format json` (the first JSON document of the output).
pub async fn json_plan(url: &str, dir: &Path) -> Value {
    let (code, out) = run(url, dir, &["plan", "--format", "json"]).await;
    assert_eq!(code, 0, "{out}");
    let start = out.find('{').unwrap();
    serde_json::Deserializer::from_str(&out[start..])
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap()
}

/// A DirectQuery dataset bound to a gateway with `createDatasources: true` and a Basic
/// credential rule for its SQL source (the password from `RESUME_SQL_PASSWORD`): the bind
/// step creates the gateway data sources the import brings.
pub const GATEWAY_DQ_MANIFEST: &str = r#"
apiVersion: pbideploy/v1
workspaces:
  - name: Gateway First
    create: true
    datasets:
      - name: Inventory
        pbix: pbix/inventory-dq.pbix
        gateway: {name: Local Gateway, createDatasources: true}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: svc
            password: {env: RESUME_SQL_PASSWORD}
        refresh: {onApply: never}
"#;
