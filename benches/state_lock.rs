//! The Azure Blob ledger's bars (#17), against Azurite and the emulator:
//!
//! - 20 applies from 4 concurrent processes on one ledger, each run a fresh `pbideploy`
//!   process applying one workspace of the manifest (`--target`, `--lock-timeout`): every run
//!   succeeds, or fails cleanly naming the lock holder; the final ledger equals that of the
//!   same 20 applies run one after another (against a second emulator: compared by address,
//!   PBIX hash and parameters, the ids being the emulators' own).
//! - Lock acquire and release: at most 2 requests each, and under 100 ms (median and worst
//!   of the runs), against Azurite on loopback.
//!
//! Run: `cargo bench --bench state_lock`. Settings: `PBIDEPLOY_BENCH_APPLIES` (20),
//! `PBIDEPLOY_BENCH_PROCESSES` (4), `PBIDEPLOY_BENCH_LOCKS` (30),
//! `PBIDEPLOY_BENCH_LATENCY_MS` (10). Needs Azurite (`npm ci` in tools/azurite); without
//! it the bench prints SKIP (and fails with `CI` set).

mod common;

#[path = "../tests/it/common/azurite.rs"]
mod azurite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Emulator, Features, Table, env_num};
use pbideploy::ledger::azblob::AzBlobStore;
use pbideploy::ledger::store::LedgerStore;
use pbideploy::ledger::{Ledger, LedgerEntry};
use serde_json::json;

/// A new container; returns the ledger blob's URL in it.
fn container(az: &azurite::Azurite, name: &str) -> String {
    format!("{}/ledger.json", az.create_container(name))
}

fn store(az: &azurite::Azurite, url: &str) -> AzBlobStore {
    az.store(url, 60)
}

/// A work folder whose manifest has `n` workspaces and keeps its ledger at `url`.
fn workdir(az: &azurite::Azurite, url: &str, n: usize) -> tempfile::TempDir {
    let dir = common::workdir();
    std::fs::write(dir.path().join("conn.txt"), az.connection_string()).expect("secret");
    let manifest = common::manifest(n, 1, 0, Features::None).replacen(
        "workspaces:",
        &format!("state:\n  url: {url}\n  credential: {{file: conn.txt}}\nworkspaces:"),
        1,
    );
    common::write_manifest(dir.path(), "pbideploy.yaml", &manifest);
    dir
}

/// What must match between two ledgers made against different emulators.
fn comparable(ledger: &Ledger) -> BTreeMap<String, String> {
    ledger
        .entries
        .iter()
        .map(|(addr, e)| {
            let what = match e {
                LedgerEntry::Workspace(w) => format!("workspace created={}", w.created),
                LedgerEntry::Dataset(d) => format!("dataset {} {:?}", d.pbix_sha256, d.parameters),
                LedgerEntry::Report(r) => format!("report {}", r.pbix_sha256),
            };
            (addr.to_string(), what)
        })
        .collect()
}

struct Outcome {
    ok: usize,
    clean_failures: usize,
    unclean: Vec<String>,
    wall: Duration,
}

/// Runs `applies` targeted applies from `processes` concurrent workers.
fn applies(emu: &Emulator, dir: &Path, applies: usize, processes: usize) -> Outcome {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..processes {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= applies {
                        return;
                    }
                    let target = format!("workspace[\"Bench {i:03}\"]");
                    let run = common::pbideploy(
                        emu,
                        dir,
                        &[
                            "apply",
                            "-f",
                            "pbideploy.yaml",
                            "--auto-approve",
                            "--lock-timeout",
                            "600",
                            "--target",
                            &target,
                        ],
                    );
                    results.lock().expect("results").push(run);
                }
            });
        }
    });
    let wall = start.elapsed();
    let runs = results.into_inner().expect("results");
    let mut out = Outcome {
        ok: 0,
        clean_failures: 0,
        unclean: Vec::new(),
        wall,
    };
    for run in runs {
        if run.code == 0 {
            out.ok += 1;
        } else if run.stderr.contains("locked by another pbideploy run")
            && run.stderr.contains("running `pbideploy")
        {
            out.clean_failures += 1;
        } else {
            out.unclean.push(
                run.stderr
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn lock_costs(az: &azurite::Azurite, table: &mut Table, runs: usize) {
    let url = container(az, "bench-lock");
    let s = store(az, &url);
    drop(s.lock().expect("first lock")); // creates the blob
    let (mut acquire, mut release) = (Vec::new(), Vec::new());
    let (mut acq_req, mut rel_req) = (0, 0);
    for _ in 0..runs.max(1) {
        let before = s.requests_sent();
        let t = Instant::now();
        let lock = s.lock().expect("lock");
        acquire.push(t.elapsed());
        acq_req = acq_req.max(s.requests_sent() - before);
        let before = s.requests_sent();
        let t = Instant::now();
        drop(lock);
        release.push(t.elapsed());
        rel_req = rel_req.max(s.requests_sent() - before);
    }
    acquire.sort();
    release.sort();
    let limit = Duration::from_millis(100);
    for (what, times, requests) in [
        ("acquire", &acquire, acq_req),
        ("release", &release, rel_req),
    ] {
        table.check(
            &format!("lock {what}: requests (most)"),
            requests.to_string(),
            "<= 2".into(),
            requests <= 2,
        );
        let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
        table.check(
            &format!("lock {what}: median"),
            ms(median),
            "< 100 ms".into(),
            median < limit,
        );
        table.check(
            &format!("lock {what}: worst of {}", times.len()),
            ms(worst),
            "< 100 ms".into(),
            worst < limit,
        );
    }
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let Some(az) = azurite::azurite() else { return };
    let n: usize = env_num("PBIDEPLOY_BENCH_APPLIES", 20).max(1);
    let processes: usize = env_num("PBIDEPLOY_BENCH_PROCESSES", 4).max(1);
    let latency: u64 = env_num("PBIDEPLOY_BENCH_LATENCY_MS", 10);
    let mut table = Table::default();
    lock_costs(az, &mut table, env_num("PBIDEPLOY_BENCH_LOCKS", 30));

    let concurrent_url = container(az, "bench-concurrent");
    let sequential_url = container(az, "bench-sequential");
    let emu = Emulator::spawn();
    emu.knobs(json!({ "latencyMs": latency }));
    let dir = workdir(az, &concurrent_url, n);
    let out = applies(&emu, dir.path(), n, processes);
    table.info(
        &format!("{n} applies from {processes} processes"),
        common::secs(out.wall),
    );
    table.check(
        "runs that succeeded or failed cleanly (holder named)",
        format!("{} ok, {} clean failures", out.ok, out.clean_failures),
        format!("{n}"),
        out.ok + out.clean_failures == n && out.unclean.is_empty(),
    );
    for u in &out.unclean {
        println!("  unclean failure: {u}");
    }
    drop(emu);

    let emu = Emulator::spawn();
    emu.knobs(json!({ "latencyMs": latency }));
    let seq_dir = workdir(az, &sequential_url, n);
    let seq = applies(&emu, seq_dir.path(), n, 1);
    table.info(
        &format!("{n} applies one after another"),
        common::secs(seq.wall),
    );
    let concurrent = store(az, &concurrent_url)
        .load()
        .expect("load")
        .map(|l| comparable(&l));
    let sequential = store(az, &sequential_url)
        .load()
        .expect("load")
        .map(|l| comparable(&l));
    let entries = concurrent.as_ref().map_or(0, BTreeMap::len);
    table.check(
        "final ledger equals the sequential run's",
        format!(
            "{} ({entries} entries)",
            if concurrent == sequential {
                "equal"
            } else {
                "DIFFERENT"
            }
        ),
        "equal".into(),
        concurrent.is_some() && concurrent == sequential,
    );
    table.print("Azure Blob ledger: locking and concurrent applies (Azurite)");
}
