//! Plan at scale: a generated manifest of W workspaces × D datasets (every feature managed:
//! access, parameters, data-source re-pointing, gateway binding, credentials, schedule) plus
//! R thin reports per workspace, against an emulator that already matches it (set up by an
//! apply), with L ms latency per request. Measures `pbideploy plan` as users run it (the
//! binary, client-secret auth) and, in the same run, a baseline that replays the same reads
//! one request at a time; counts requests per dataset from the emulator's request log, and
//! checks that a manifest managing no feature reads no per-dataset detail.
//!
//! Run: `cargo bench --bench plan_scale`. Settings: `PBIDEPLOY_BENCH_WORKSPACES` (20),
//! `PBIDEPLOY_BENCH_DATASETS` (10 per workspace), `PBIDEPLOY_BENCH_REPORTS` (10 per
//! workspace), `PBIDEPLOY_BENCH_LATENCY_MS` (25).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Emulator, Features, Logged, Table, by_kind, env_num, expect_exit, pbideploy, secs};
use pbideploy::powerbi::client::DEFAULT_MAX_IN_FLIGHT;
use serde_json::json;

/// The longest chain of dependent requests of a plan that manages credentials: token →
/// workspace by name → its dataset list → a dataset's data sources → a data source's status.
const CRITICAL_PATH: u32 = 5;

fn per_dataset(kinds: &BTreeMap<&'static str, usize>) -> usize {
    kinds
        .iter()
        .filter(|(k, _)| k.starts_with("dataset:"))
        .map(|(_, n)| n)
        .sum()
}

/// Replays `reads` one at a time with a plain HTTP client: the baseline.
fn sequential_replay(emu: &Emulator, reads: &[Logged]) -> (Duration, usize) {
    let token = emu.token();
    emu.block_on(async {
        let start = Instant::now();
        let mut failed = 0;
        for r in reads.iter().filter(|r| r.method == "GET") {
            let mut url = format!("{}{}", emu.url, r.path);
            if !r.query.is_empty() {
                url = format!("{url}?{}", r.query);
            }
            let ok = match emu.http().get(&url).bearer_auth(&token).send().await {
                Ok(resp) => {
                    let ok = resp.status().as_u16() == r.status;
                    resp.bytes().await.is_ok() && ok
                }
                Err(_) => false,
            };
            failed += usize::from(!ok);
        }
        (start.elapsed(), failed)
    })
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let workspaces: usize = env_num("PBIDEPLOY_BENCH_WORKSPACES", 20);
    let datasets: usize = env_num("PBIDEPLOY_BENCH_DATASETS", 10);
    let reports: usize = env_num("PBIDEPLOY_BENCH_REPORTS", 10);
    let latency_ms: u64 = env_num("PBIDEPLOY_BENCH_LATENCY_MS", 25);
    let emu = Emulator::spawn();
    let dir = common::workdir();
    let full = common::manifest(workspaces, datasets, reports, Features::All);
    let none = common::manifest(workspaces, datasets, reports, Features::None);
    common::write_manifest(dir.path(), "full.yaml", &full);
    common::write_manifest(dir.path(), "none.yaml", &none);

    eprintln!(
        "setting up {workspaces} × {datasets} datasets + {reports} reports (apply, no latency)…"
    );
    let setup = pbideploy(
        &emu,
        dir.path(),
        &[
            "apply",
            "-f",
            "full.yaml",
            "--auto-approve",
            "--parallelism",
            "32",
        ],
    );
    expect_exit(&setup, "setup apply", &[0]);
    eprintln!("setup took {}", secs(setup.wall));

    emu.knobs(json!({ "latencyMs": latency_ms }));
    let plan_args = ["plan", "-f", "full.yaml", "--detailed-exitcode"];
    let mark = emu.mark();
    let run = pbideploy(&emu, dir.path(), &plan_args);
    let log = emu.log_since(&mark);
    expect_exit(&run, "plan", &[0, 2]);
    let kinds = by_kind(&log);
    let requests = log.len();

    let mark = emu.mark();
    let bare = pbideploy(&emu, dir.path(), &["plan", "-f", "none.yaml"]);
    expect_exit(&bare, "plan of the manifest managing nothing", &[0]);
    let bare_kinds = by_kind(&emu.log_since(&mark));

    eprintln!("baseline: replaying {requests} reads one at a time…");
    let (baseline, replay_failed) = sequential_replay(&emu, &log);

    let n_datasets = workspaces * datasets;
    let latency = Duration::from_millis(latency_ms);
    let concurrency = DEFAULT_MAX_IN_FLIGHT;
    let model = latency * (requests as u32) / (concurrency as u32) + latency * CRITICAL_PATH;
    let speedup = baseline.as_secs_f64() / run.wall.as_secs_f64();
    let per_ds = per_dataset(&kinds) as f64 / n_datasets.max(1) as f64;
    let bare_detail = per_dataset(&bare_kinds)
        + bare_kinds.get("workspace users").copied().unwrap_or(0)
        + bare_kinds.get("gateways").copied().unwrap_or(0)
        + bare_kinds.get("gateway data sources").copied().unwrap_or(0);

    let mut t = Table::default();
    t.info(
        "scale",
        format!("{workspaces} ws × {datasets} datasets + {reports} reports/ws, {latency_ms} ms"),
    );
    t.check(
        "live state already matches (plan exit code)",
        run.code.to_string(),
        "0 = no changes".into(),
        run.code == 0,
    );
    t.info("plan wall time", secs(run.wall));
    t.info("requests", requests.to_string());
    t.info(
        "baseline (same reads, one at a time)",
        format!("{} ({replay_failed} answered differently)", secs(baseline)),
    );
    t.check(
        "speed-up over baseline",
        format!("{speedup:.1}×"),
        "≥ 12×".into(),
        speedup >= 12.0,
    );
    t.check(
        "wall vs requests×latency÷concurrency + critical path",
        format!(
            "{} vs {} (concurrency {concurrency}, path {CRITICAL_PATH})",
            secs(run.wall),
            secs(model)
        ),
        format!("≤ 1.5 × model = {}", secs(model.mul_f64(1.5))),
        run.wall <= model.mul_f64(1.5),
    );
    t.check(
        "requests per dataset, every feature managed",
        format!("{per_ds:.2}"),
        "≤ 6".into(),
        per_ds <= 6.0,
    );
    t.check(
        "feature requests when the manifest manages none",
        bare_detail.to_string(),
        "0".into(),
        bare_detail == 0,
    );
    t.print("plan at scale");
    let mut k = Table::default();
    for (name, n) in &kinds {
        let bare = bare_kinds.get(name).copied().unwrap_or(0);
        k.info(
            name,
            format!("{n:>5}   (manifest managing nothing: {bare})"),
        );
    }
    k.print("requests of the plan by kind");
}
