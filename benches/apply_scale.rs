//! Apply at scale and under throttling: N PBIX imports into W new workspaces, with an import
//! processing delay and a per-request latency, run three times on a freshly reset emulator:
//! at the default parallelism, sequentially (`--parallelism 1`, the baseline), and at the
//! default parallelism with the emulator's throttle at R requests per second (429 +
//! `Retry-After`). `pbideploy apply` runs as users run it (the binary, client-secret auth);
//! requests are counted from the emulator's request log.
//!
//! Run: `cargo bench --bench apply_scale`. Settings: `PBIDEPLOY_BENCH_IMPORTS` (100),
//! `PBIDEPLOY_BENCH_WORKSPACES` (10), `PBIDEPLOY_BENCH_LATENCY_MS` (25),
//! `PBIDEPLOY_BENCH_IMPORT_DELAY_MS` (300), `PBIDEPLOY_BENCH_THROTTLE_RPS` (5),
//! `PBIDEPLOY_BENCH_PARALLELISM` (unset: pbideploy's default).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Emulator, Features, Table, by_kind, env_num, pbideploy, secs};
use serde_json::{Value, json};

/// One apply on a reset emulator.
struct Outcome {
    code: i32,
    wall: Duration,
    /// Requests answered other than 429.
    served: usize,
    throttled: usize,
    imports: usize,
    /// Requests by kind (429s included).
    kinds: BTreeMap<&'static str, usize>,
}

fn apply(emu: &Emulator, dir: &std::path::Path, knobs: Value, extra: &[&str], n: u32) -> Outcome {
    emu.reset();
    emu.knobs(knobs);
    let state = format!("state-{n}.json");
    let mut args = vec!["apply", "-f", "m.yaml", "--auto-approve", "--state", &state];
    args.extend_from_slice(extra);
    let run = pbideploy(emu, dir, &args);
    if run.code != 0 {
        eprintln!(
            "apply {extra:?} exited {}:\n{}",
            run.code,
            run.stderr
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let log = emu.log();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    let imports = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/imports") && r.status == 202)
        .count();
    Outcome {
        code: run.code,
        wall: run.wall,
        served: log.len() - throttled,
        throttled,
        imports,
        kinds: by_kind(&log),
    }
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let imports: usize = env_num("PBIDEPLOY_BENCH_IMPORTS", 100);
    let workspaces: usize = env_num::<usize>("PBIDEPLOY_BENCH_WORKSPACES", 10).max(1);
    let latency_ms: u64 = env_num("PBIDEPLOY_BENCH_LATENCY_MS", 25);
    let delay_ms: u64 = env_num("PBIDEPLOY_BENCH_IMPORT_DELAY_MS", 300);
    let rps: f64 = env_num("PBIDEPLOY_BENCH_THROTTLE_RPS", 5.0);
    let parallelism: Option<String> = std::env::var("PBIDEPLOY_BENCH_PARALLELISM").ok();
    let emu = Emulator::spawn();
    let dir = common::workdir();
    let per_ws = imports.div_ceil(workspaces);
    let text = common::manifest(workspaces, per_ws, 0, Features::None);
    common::write_manifest(dir.path(), "m.yaml", &text);
    let knobs = json!({ "latencyMs": latency_ms, "importDelayMs": delay_ms });
    let mut par_args: Vec<&str> = Vec::new();
    if let Some(p) = &parallelism {
        par_args = vec!["--parallelism", p];
    }

    eprintln!("apply at the default parallelism…");
    let parallel = apply(&emu, dir.path(), knobs.clone(), &par_args, 1);
    eprintln!("apply sequentially (baseline)…");
    let sequential = apply(&emu, dir.path(), knobs.clone(), &["--parallelism", "1"], 2);
    eprintln!("apply throttled at {rps} requests/s…");
    let mut throttled_knobs = knobs;
    throttled_knobs["throttleRps"] = json!(rps);
    let throttled = apply(&emu, dir.path(), throttled_knobs, &par_args, 3);

    let total = workspaces * per_ws;
    let mut t = Table::default();
    t.info(
        "scale",
        format!(
            "{total} imports into {workspaces} workspaces, {delay_ms} ms import delay, {latency_ms} ms latency"
        ),
    );
    for (label, o) in [
        ("parallel (default)", &parallel),
        ("sequential baseline", &sequential),
        ("throttled", &throttled),
    ] {
        t.check(
            &format!("{label}: exit code, imports"),
            format!("{}, {}", o.code, o.imports),
            format!("0, {total}"),
            o.code == 0 && o.imports == total,
        );
        t.info(
            &format!("{label}: wall, requests (429s)"),
            format!("{}, {} ({})", secs(o.wall), o.served, o.throttled),
        );
    }
    let speedup = sequential.wall.as_secs_f64() / parallel.wall.as_secs_f64();
    t.check(
        "speed-up over sequential",
        format!("{speedup:.1}×"),
        "≥ 6×".into(),
        speedup >= 6.0,
    );
    let bound = Duration::from_secs_f64(throttled.served as f64 / rps);
    t.check(
        &format!("throttled wall vs requests ÷ {rps} rps"),
        format!("{} vs {}", secs(throttled.wall), secs(bound)),
        format!("≤ 1.3 × = {}", secs(bound.mul_f64(1.3))),
        throttled.code == 0 && throttled.wall <= bound.mul_f64(1.3),
    );
    t.print("apply at scale");
    let mut k = Table::default();
    for (name, n) in &parallel.kinds {
        let th = throttled.kinds.get(name).copied().unwrap_or(0);
        k.info(name, format!("{n:>5}   (throttled run: {th})"));
    }
    k.print("requests of the parallel apply by kind");
}
