//! `pbideploy` with its ledger in Azure Blob Storage (Azurite), as separate processes against
//! the in-process emulator: concurrent applies, a killed holder, a lease lost mid-run, stale
//! saved plans, migration both ways, and no secret in the blob.

use crate::common::azurite;
use crate::emulator_cli;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use emulator_cli::{PASSWORD, PASSWORD_VAR, emulator, reliability, rich_workdir, run};
use pbideploy::ledger::azblob::AzBlobStore;
use pbideploy::ledger::azblob::rest::Call;
use pbideploy::ledger::store::LedgerStore;
use pbideploy::ledger::{Ledger, LedgerError};
use pbideploy_emulator::RunningEmulator;
use reqwest::Method;
use serde_json::json;

use azurite::Azurite;

/// A fresh container and the ledger URL in it; the connection string goes to `conn.txt` in
/// `dir` (a secret file, referenced as `file:conn.txt`).
fn ledger_url(az: &Azurite, dir: &Path, lease_secs: u32) -> String {
    let name = format!(
        "c{}-{}",
        std::process::id(),
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase()
            .replace(['.', '_'], "")
    );
    let url = format!(
        "{}/ledger.json",
        az.create_container(&name[..name.len().min(60)])
    );
    std::fs::write(dir.join("conn.txt"), az.connection_string()).unwrap();
    // The manifest names the state, so every command below (and each of its environments)
    // uses it without flags.
    let manifest = dir.join("pbideploy.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen(
        "workspaces:",
        &format!(
            "state:\n  url: {url}\n  credential: {{file: conn.txt}}\n  leaseSeconds: {lease_secs}\nworkspaces:"
        ),
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    url
}

/// One test's world: the emulator (with `latency_ms` per request), the rich manifest's work
/// folder keeping its ledger in a fresh container (lease `lease_secs`), and the ledger URL.
async fn world(
    az: &Azurite,
    lease_secs: u32,
    latency_ms: u64,
) -> (RunningEmulator, tempfile::TempDir, String) {
    let emu = emulator().await;
    let dir = rich_workdir();
    let url = ledger_url(az, dir.path(), lease_secs);
    reliability::set_knobs(&emu, json!({ "latencyMs": latency_ms })).await;
    (emu, dir, url)
}

fn store(az: &Azurite, url: &str) -> AzBlobStore {
    az.store(url, 60)
}

fn spawn_apply(emu: &RunningEmulator, dir: &Path, extra: &[&str]) -> std::process::Child {
    reliability::cli(dir, &emu.url(), "e2e-secret")
        .args(["apply", "--auto-approve", "--color", "never"])
        .args(extra)
        .env(PASSWORD_VAR, PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn finish(child: std::process::Child) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().unwrap();
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

/// Waits until another process holds the blob's lease; returns its lock id. Looks with a
/// HEAD only (taking the lock to probe would make the run it waits for fail).
async fn wait_for_holder(az: &Azurite, url: &str) -> String {
    let started = Instant::now();
    let client = az.client(url);
    loop {
        let c = client.clone();
        let reply = tokio::task::spawn_blocking(move || {
            c.send(Call {
                method: Method::HEAD,
                ..Call::default()
            })
        })
        .await
        .unwrap()
        .unwrap();
        let info = reply
            .header("x-ms-meta-pbideploylock")
            .and_then(|v| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok()
            })
            .and_then(|b| pbideploy::ledger::lockinfo::LockInfo::from_json(&b));
        if let (Some("leased"), Some(info)) = (reply.header("x-ms-lease-state"), info) {
            return info.id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no run took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an apply and waits until it holds the lease; returns it and its lock id.
async fn holding_apply(
    emu: &RunningEmulator,
    dir: &Path,
    az: &Azurite,
    url: &str,
) -> (std::process::Child, String) {
    let child = spawn_apply(emu, dir, &[]);
    let id = wait_for_holder(az, url).await;
    (child, id)
}

/// The addresses a plain sequential apply of the rich manifest records (file ledger, its own
/// emulator).
async fn sequential_addresses() -> Vec<String> {
    let emu = emulator().await;
    let dir = rich_workdir();
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let ledger = reliability::read_ledger(&dir.path().join("pbideploy.yaml")).unwrap();
    emu.shutdown().await;
    ledger.entries.keys().map(ToString::to_string).collect()
}

/// The service matches the manifest (plan has nothing to do) and the ledger records exactly
/// what a sequential apply records.
async fn assert_settled(emu: &RunningEmulator, dir: &Path, ledger: &Ledger) {
    let (code, out) = run(&emu.url(), dir, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "nothing left to do: {out}");
    let keys: Vec<String> = ledger.entries.keys().map(ToString::to_string).collect();
    assert_eq!(keys, sequential_addresses().await);
}

fn blob_ledger(az: &Azurite, url: &str) -> Option<Ledger> {
    store(az, url).load().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_applies_one_waits_or_fails_naming_the_holder_and_nothing_is_lost() {
    let Some(az) = azurite::azurite() else { return };
    let (emu, dir, url) = world(az, 15, 40).await;
    let (first, _) = holding_apply(&emu, dir.path(), az, &url).await;
    // The lease comes before the plan: nothing but reads has reached the service yet.
    let log = reliability::request_log(&emu).await;
    assert!(
        log.iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("/myorg/")))
            .all(|r| r["method"] == "GET"),
        "the first run changed the service before it held the lease"
    );
    // Without a wait the second run fails at once, naming the holder and how to unlock.
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("locked by another pbideploy run"), "{out}");
    assert!(out.contains("running `pbideploy apply`"), "{out}");
    assert!(out.contains("pbideploy state unlock"), "{out}");
    assert!(
        !out.contains("Plan:"),
        "nothing is planned without the lock: {out}"
    );
    // Plan takes no lease: it reads while the first run holds it.
    let (code, out) = run(&emu.url(), dir.path(), &["plan", "--detailed-exitcode"]).await;
    assert!(
        code == 0 || code == 2,
        "plan reads under another run's lease: {out}"
    );
    // With --lock-timeout it waits for the first, then finds nothing left to do.
    let waiter = spawn_apply(&emu, dir.path(), &["--lock-timeout", "120"]);
    let (code, out) = finish(first).await;
    assert_eq!(code, 0, "the first run: {out}");
    let (code, out) = finish(waiter).await;
    assert_eq!(code, 0, "the waiting run: {out}");
    assert!(
        out.contains("No changes"),
        "the second run saw the first's ledger: {out}"
    );
    let ledger = blob_ledger(az, &url).expect("a ledger");
    assert_settled(&emu, dir.path(), &ledger).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_blocks_until_its_lease_expires_or_is_broken() {
    let Some(az) = azurite::azurite() else { return };
    let (emu, dir, url) = world(az, 15, 100).await;
    // Killed while holding the lease: the next run is refused with the dead run named...
    let (mut child, id) = holding_apply(&emu, dir.path(), az, &url).await;
    child.kill().unwrap();
    let _ = child.wait();
    let probe = store(az, &url);
    let err = tokio::task::spawn_blocking(move || probe.lock().map(drop))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::HeldBy { id: held, .. } if *held == id),
        "{err}"
    );
    // ...until someone breaks the lock by its id.
    let (code, out) = run(&emu.url(), dir.path(), &["state", "unlock", &id, "--force"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Broke the lock"), "{out}");
    // Killed again: this time the lease (15 s) simply expires.
    let (mut child, _) = holding_apply(&emu, dir.path(), az, &url).await;
    child.kill().unwrap();
    let _ = child.wait();
    let killed = Instant::now();
    reliability::set_knobs(&emu, json!({"latencyMs": 0})).await;
    let (code, out) = run(
        &emu.url(),
        dir.path(),
        &["apply", "--auto-approve", "--lock-timeout", "40"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let waited = killed.elapsed();
    assert!(
        waited >= Duration::from_secs(5),
        "the next run waited for the lease to expire ({waited:?})"
    );
    let ledger = blob_ledger(az, &url).expect("a ledger");
    assert_settled(&emu, dir.path(), &ledger).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_lost_mid_run_stops_the_run_and_nothing_more_is_written() {
    let Some(az) = azurite::azurite() else { return };
    let (emu, dir, url) = world(az, 15, 300).await;
    let (child, id) = holding_apply(&emu, dir.path(), az, &url).await;
    // Once it executes (its first checkpoint is in the blob), break its lease.
    let started = Instant::now();
    while blob_ledger(az, &url).is_none_or(|l| l.entries.is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store(az, &url).unlock(&id, true).unwrap();
    let at_break = blob_ledger(az, &url);
    let (code, out) = finish(child).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("lost the lock"), "the run says so: {out}");

    assert_eq!(
        blob_ledger(az, &url),
        at_break,
        "nothing was written after the lease was lost"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_stale_once_the_ledger_moved() {
    let Some(az) = azurite::azurite() else { return };
    let (emu, dir, url) = world(az, 60, 0).await;
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&emu.url(), dir.path(), &["plan", "--out", "p.json"]).await;
    assert_eq!(code, 0, "{out}");
    let ledger = blob_ledger(az, &url).unwrap();
    let victim = ledger.entries.keys().last().unwrap().to_string();
    let (code, out) = run(&emu.url(), dir.path(), &["state", "rm", &victim]).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "p.json"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("the ledger changed"), "{out}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_blob_and_back_and_refuse_a_different_ledger() {
    let Some(az) = azurite::azurite() else { return };
    let emu = emulator().await;
    let dir = rich_workdir();
    // Apply with the default file ledger first.
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let file = dir.path().join(emulator_cli::LEDGER);
    let original = std::fs::read_to_string(&file).unwrap();
    let manifest_text = std::fs::read_to_string(dir.path().join("pbideploy.yaml")).unwrap();
    let url = ledger_url(az, dir.path(), 60);
    std::fs::write(dir.path().join("pbideploy.yaml"), &manifest_text).unwrap();
    let to_blob = [
        "state",
        "migrate",
        "--to",
        &url,
        "--to-credential",
        "file:conn.txt",
    ];
    let (code, out) = run(&emu.url(), dir.path(), &to_blob).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Copied the ledger"), "{out}");
    let in_blob = blob_ledger(az, &url).unwrap();
    assert_eq!(
        Some(&in_blob),
        emulator_cli::reliability::read_ledger(&dir.path().join("pbideploy.yaml")).as_ref()
    );
    // Again: the same ledger is there already.
    let (code, out) = run(&emu.url(), dir.path(), &to_blob).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already holds this ledger"), "{out}");
    // Back to a new file, from the blob.
    let back = [
        "state",
        "migrate",
        "--state",
        &url,
        "--state-credential",
        "file:conn.txt",
        "--to",
        "back.json",
    ];
    let (code, out) = run(&emu.url(), dir.path(), &back).await;
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(dir.path().join("back.json")).unwrap();
    assert_eq!(Ledger::from_json("back", &text).unwrap(), in_blob);
    // A different ledger at the destination is never overwritten.
    let (code, out) = run(
        &emu.url(),
        dir.path(),
        &[
            "state",
            "rm",
            "--state",
            "back.json",
            &in_blob.entries.keys().last().unwrap().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&emu.url(), dir.path(), &back).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("already holds a different ledger"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_blob_its_metadata_or_the_output() {
    let Some(az) = azurite::azurite() else { return };
    let (emu, dir, url) = world(az, 60, 0).await;
    let (code, out) = run(&emu.url(), dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let (_, history) = run(&emu.url(), dir.path(), &["state", "history"]).await;
    let reply = az
        .client(&url)
        .send(Call {
            method: Method::GET,
            max_body: 64 << 20,
            ..Call::default()
        })
        .unwrap();
    let mut seen = format!("{out}{history}{}", String::from_utf8_lossy(&reply.body));
    for (k, v) in &reply.headers {
        seen.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or_default()));
    }
    for secret in [PASSWORD, azurite::KEY, "e2e-secret"] {
        assert!(!seen.contains(secret), "`{secret}` leaked:\n{seen}");
    }
    assert!(history.contains("current"), "{history}");
    emu.shutdown().await;
}
