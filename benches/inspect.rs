//! `pbideploy inspect` end to end on the largest fixture (Adventure Works, a 2.4 MB PBIX
//! whose XPress9 `DataModel` decodes to a 6.8 MB ABF): wall time and the process's peak
//! resident set (target ≤ 48 MiB, #14), beside the decoder alone in
//! `cargo bench -p pbix --bench xpress9` (which compares with Microsoft's C decoder). Also
//! `validate` of a manifest using that file, with an empty PBIX model cache and with the
//! cache filled: what the cache saves once the file is unchanged.
//!
//! Run: `cargo bench --bench inspect` (runs: `PBIDEPLOY_BENCH_RUNS`, default 7). Needs
//! `../shared/fixtures/pbix`; without it the bench prints a notice and measures nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Table, env_num};

const FIXTURE: &str = "Adventure Works, Internet Sales.pbix";
const RSS_TARGET_MIB: f64 = 48.0;

fn fixture() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/pbix")
        .join(FIXTURE);
    path.exists().then_some(path)
}

/// One run of `pbideploy ARGS` in `dir` with the model cache in `cache`: (wall, peak KiB).
fn measured(dir: &Path, cache: &Path, args: &[&str]) -> (Duration, u64) {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pbideploy"))
        .current_dir(dir)
        .args(args)
        .env("PBIDEPLOY_CACHE_DIR", cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pbideploy");
    let (code, peak) = common::wait_with_peak_rss(child);
    assert_eq!(code, 0, "pbideploy {args:?} failed");
    (start.elapsed(), peak)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs: usize = env_num("PBIDEPLOY_BENCH_RUNS", 7).max(1);
    let Some(path) = fixture() else {
        eprintln!("NOTICE: ../shared/fixtures/pbix/{FIXTURE} is absent; benchmark not run");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("pbix")).expect("pbix dir");
    std::fs::copy(&path, dir.path().join("pbix/aw.pbix")).expect("copy fixture");
    let cache = dir.path().join("cache");
    let mut t = Table::default();

    let mut inspect: Vec<(Duration, u64)> = (0..runs)
        .map(|_| {
            measured(
                dir.path(),
                &cache,
                &["inspect", "pbix/aw.pbix", "--format", "json"],
            )
        })
        .collect();
    inspect.sort();
    let (wall, _) = inspect[runs / 2];
    let peak = inspect.iter().map(|(_, p)| *p).max().unwrap_or(0);
    let peak_mib = peak as f64 / 1024.0;
    t.info(
        &format!("pbideploy inspect ({FIXTURE})"),
        format!("{} median of {runs}", ms(wall)),
    );
    t.check(
        "  peak RSS (largest of the runs)",
        format!("{peak_mib:.1} MiB"),
        format!("≤ {RSS_TARGET_MIB} MiB"),
        peak_mib <= RSS_TARGET_MIB,
    );

    let manifest = "apiVersion: pbideploy/v1\nworkspaces:\n  - name: W\n    datasets:\n      - name: AW\n        pbix: pbix/aw.pbix\n        credentials:\n          - match: {type: File}\n            type: Windows\n            username: u\n            password: {env: PW}\n";
    std::fs::write(dir.path().join("m.yaml"), manifest).expect("manifest");
    let validate = ["validate", "-f", "m.yaml"];
    let cold: Vec<Duration> = (0..runs)
        .map(|i| {
            let empty = dir.path().join(format!("cold-{i}"));
            measured(dir.path(), &empty, &validate).0
        })
        .collect();
    measured(dir.path(), &cache, &validate);
    let mut warm: Vec<Duration> = (0..runs)
        .map(|_| measured(dir.path(), &cache, &validate).0)
        .collect();
    let mut cold = cold;
    cold.sort();
    warm.sort();
    t.info(
        "pbideploy validate, model read (empty cache)",
        format!("{} median", ms(cold[runs / 2])),
    );
    t.info(
        "pbideploy validate, model cached (file unchanged)",
        format!("{} median", ms(warm[runs / 2])),
    );
    t.print("inspect");
}
