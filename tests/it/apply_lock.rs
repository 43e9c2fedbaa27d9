//! Apply takes the ledger lock before it reads the ledger and plans, and holds it through
//! execution: a run that finished between another run's planning and its locking would
//! otherwise go unnoticed, and the second run would execute a plan made from a stale ledger.

use crate::emulator_cli;

use std::time::{Duration, Instant};

use emulator_cli::{LEDGER, PASSWORD, PASSWORD_VAR, emulator, reliability, rich_workdir, run};
use pbideploy::ledger::LedgerError;
use pbideploy::ledger::store::{FileStore, LedgerStore};
use serde_json::{Value, json};

/// Requests to the Power BI API (not the token endpoint).
fn api_requests(log: &[Value]) -> Vec<(String, String)> {
    log.iter()
        .filter_map(|r| {
            let path = r["path"].as_str()?;
            path.contains("/myorg/")
                .then(|| (r["method"].as_str().unwrap_or("").to_string(), path.into()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_holds_the_ledger_lock_while_it_plans() {
    let emu = emulator().await;
    let dir = rich_workdir();
    // Slow reads keep the second process in its planning phase long enough to look at it.
    reliability::set_knobs(&emu, json!({"latencyMs": 150})).await;
    let mut child = reliability::cli(dir.path(), &emu.url(), "e2e-secret")
        .args(["apply", "--auto-approve", "--color", "never"])
        .env(PASSWORD_VAR, PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let reads = loop {
        let reads = api_requests(&reliability::request_log(&emu).await);
        if !reads.is_empty() {
            break reads;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply made no request to the service within a minute"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        reads.iter().all(|(method, _)| method == "GET"),
        "the check must run while apply still plans (reads only): {reads:?}"
    );
    let store = FileStore::new(dir.path().join(LEDGER));
    let probe = store.lock();
    assert!(
        matches!(probe, Err(LedgerError::HeldBy { .. })),
        "apply reads the service to plan without holding the ledger lock: {probe:?}"
    );
    drop(probe);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "apply failed: {status:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reads_nothing_while_another_run_holds_the_lock() {
    let emu = emulator().await;
    let dir = rich_workdir();
    let store = FileStore::new(dir.path().join(LEDGER));
    let held = store.lock().unwrap();
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    drop(held);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("locked by another pbideploy run"),
        "the error names the lock: {out}"
    );
    assert!(
        !out.contains("Plan:"),
        "no plan is made under a held lock: {out}"
    );
    let reads = api_requests(&reliability::request_log(&emu).await);
    assert!(
        reads.is_empty(),
        "nothing is read before the lock: {reads:?}"
    );
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "once the lock is free, apply runs: {out}");
    emu.shutdown().await;
}
