//! Helpers for tests that run the `pbideploy` binary against an in-process emulator: a work
//! folder holding `tests/fixtures/rich.yaml` and its PBIX files, and the CLI run with
//! client-secret variables pointing at the emulator.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use pbideploy_emulator::{EmulatorConfig, RunningEmulator};
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

/// Runs `pbideploy ARGS --service-url URL` in `dir` (on a blocking thread, so the emulator on
/// this runtime keeps serving); returns the exit code and stdout + stderr.
pub async fn run(url: &str, dir: &Path, args: &[&str]) -> (i32, String) {
    let url = url.to_string();
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = cargo_bin_cmd!("pbideploy")
            .current_dir(&dir)
            .args(&args)
            .args(["--service-url", &url, "--color", "never"])
            .env("AZURE_TENANT_ID", "emulator")
            .env("AZURE_CLIENT_ID", "pbideploy-e2e")
            .env("AZURE_CLIENT_SECRET", "e2e-secret")
            .env("AZURE_AUTHORITY_HOST", &url)
            .env(PASSWORD_VAR, PASSWORD)
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
