//! Local work, no service: `pbideploy validate` of a generated manifest of N datasets (the
//! binary as users run it, and `manifest::load` in-process; the datasets' PBIX files are
//! unchanged between runs, so the PBIX model cache is warm; a last row gives each dataset its
//! own modern XPress9 model from `../shared/fixtures/pbix`, skipped with a notice without
//! it), and rendering a plan of 2,000
//! changes in each format (text, Markdown, JSON): a plan the planner makes from that
//! manifest against an empty service, and the renderer tests' plan of 2,000 updates with
//! long connection-string word diffs. Each figure is the median of several runs; validate, run as a process 3× as often, also
//! shows its fastest run.
//!
//! Run: `cargo bench --bench local_work`. Settings: `PBIDEPLOY_BENCH_DATASETS` (2000),
//! `PBIDEPLOY_BENCH_CHANGES` (2000), `PBIDEPLOY_BENCH_RUNS` (7).

mod common;

/// The allocator the `pbideploy` binary uses, so in-process figures match the process ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/it/render_fixture/mod.rs"]
mod render_fixture;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Features, Table, env_num};
use pbideploy::ledger::Ledger;
use pbideploy::live::model::{LiveGateway, LiveState};
use pbideploy::manifest::{parse, schema};
use pbideploy::plan::model::Plan;
use pbideploy::plan::render::{render_json, render_markdown, render_text};
use pbideploy::plan::{PlanOptions, build, plan};

fn median(runs: usize, f: impl FnMut()) -> Duration {
    timed(runs, f)[runs.max(1) / 2]
}

/// The sorted times of `runs` runs of `f`.
fn timed(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The planner's plan for `path` against a service holding only the named gateway.
fn planned(path: &Path) -> Plan {
    let loaded = pbideploy::manifest::load(path, None, &[]).expect("manifest loads");
    let ledger = Ledger::new().expect("ledger");
    let desired = build::desired_state(&loaded, &ledger.salt, &pbideploy::env_vars::ProcessEnv)
        .expect("desired state");
    let live = LiveState {
        gateways: vec![LiveGateway {
            id: "1f69e798-5852-4fdd-ab01-33bb14b6e934".into(),
            name: "Local Gateway".into(),
            ..LiveGateway::default()
        }],
        ..LiveState::default()
    };
    plan(&desired, &live, &ledger, &PlanOptions::default()).expect("plan")
}

/// Where `manifest::load` spends its time: YAML to JSON with positions, then the schema.
fn load_phases(t: &mut Table, path: &Path, runs: usize) {
    let source = std::fs::read_to_string(path).expect("read manifest");
    let parse = median(runs, || {
        std::hint::black_box(parse::parse_document(&source).expect("parses"));
    });
    let (value, positions) = parse::parse_document(&source).expect("parses");
    let schema = median(runs, || {
        std::hint::black_box(schema::validate(&value, &positions));
    });
    t.info(
        "  of which: YAML → JSON + positions, schema",
        format!("{}, {}", ms(parse), ms(schema)),
    );
}

/// `pbideploy validate` as a pipeline runs it: a new process each time, its PBIX model cache
/// in `cache` (filled by a first, untimed run: the files are unchanged from one run to the
/// next). Returns the median and the fastest of `runs` runs (on a shared machine the fastest
/// shows the cost of the work itself, the median what a user meets) and the first run's time.
fn validate_process(path: &Path, cache: &Path, runs: usize) -> ((Duration, Duration), Duration) {
    let run = || {
        let start = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pbideploy"))
            .args(["validate", "-f"])
            .arg(path)
            .env("PBIDEPLOY_CACHE_DIR", cache)
            .output()
            .expect("run pbideploy validate");
        assert!(out.status.success(), "validate failed: {out:?}");
        start.elapsed()
    };
    let first = run();
    let times = timed(runs, || {
        run();
    });
    ((times[times.len() / 2], times[0]), first)
}

/// The shared fixture the modern-model row copies: a DirectQuery model whose `DataModel` is
/// XPress9 (its M in `DataMashup`), 43 KB.
const MODERN_FIXTURE: &str = "directquery-parameters.pbix";

/// Writes `n` distinct copies of `src` into `dir` (`m0000.pbix`, ...): the same ZIP with a
/// different archive comment, so each has its own content hash, as a repository of many
/// models would.
fn distinct_copies(src: &Path, dir: &Path, n: usize) {
    let bytes = std::fs::read(src).expect("read fixture");
    let eocd = bytes.len() - 22;
    assert_eq!(
        &bytes[eocd..eocd + 4],
        b"PK\x05\x06",
        "a ZIP without a comment"
    );
    std::fs::create_dir_all(dir).expect("models dir");
    for i in 0..n {
        let comment = format!("bench copy {i:06}");
        let mut copy = bytes.clone();
        copy[eocd + 20..eocd + 22].copy_from_slice(&(comment.len() as u16).to_le_bytes());
        copy.extend_from_slice(comment.as_bytes());
        std::fs::write(dir.join(format!("m{i:04}.pbix")), copy).expect("write copy");
    }
}

/// `validate` of `workspaces × per_ws` datasets, each with its own modern model PBIX (a
/// distinct copy of [`MODERN_FIXTURE`]) and a parameter checked against it: the files are
/// unchanged between runs, so the model cache must answer without decoding or hashing.
fn modern_rows(t: &mut Table, dir: &Path, workspaces: usize, per_ws: usize, runs: usize) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/pbix")
        .join(MODERN_FIXTURE);
    if !src.exists() {
        eprintln!(
            "NOTICE: ../shared/fixtures/pbix/{MODERN_FIXTURE} is absent; the modern-model row is not run"
        );
        return;
    }
    let n = workspaces * per_ws;
    distinct_copies(&src, &dir.join("models"), n);
    let mut text = String::from("apiVersion: pbideploy/v1\nworkspaces:\n");
    for w in 0..workspaces {
        text += &format!("  - name: Modern {w:03}\n    create: true\n    datasets:\n");
        for d in 0..per_ws {
            let i = w * per_ws + d;
            text += &format!(
                "      - name: Model {d:03}\n        pbix: models/m{i:04}.pbix\n        parameters: {{DatabaseName: AdventureWorksDW2012}}\n"
            );
        }
    }
    let path = common::write_manifest(dir, "modern.yaml", &text);
    let (times, first) = validate_process(&path, &dir.join("cache-modern"), runs);
    t.info(
        &format!("pbideploy validate, {n} distinct modern PBIX, empty cache (first run)"),
        ms(first),
    );
    validate_row(
        t,
        &format!("pbideploy validate, {n} distinct modern PBIX, warm cache"),
        times,
        runs,
    );
}

/// A PASS/MISS row for a validate run, judged on the median.
fn validate_row(t: &mut Table, label: &str, (median, fastest): (Duration, Duration), runs: usize) {
    t.check(
        label,
        format!("{} median, {} fastest of {runs}", ms(median), ms(fastest)),
        "≤ 100 ms".into(),
        median <= Duration::from_millis(100),
    );
}

fn render_rows(t: &mut Table, label: &str, plan: &Plan, runs: usize) {
    let n = plan.changes.len();
    let formats: [(&str, &dyn Fn() -> usize); 3] = [
        ("text", &|| render_text(plan, true).len()),
        ("markdown", &|| render_markdown(plan).len()),
        // A render error is a failed bench, not a fast run that meets its target.
        ("json", &|| render_json(plan).expect("render_json").len()),
    ];
    for (format, render) in formats {
        let bytes = render();
        let d = median(runs, || {
            std::hint::black_box(render());
        });
        t.check(
            &format!("render {format}: {label}, {n} changes"),
            format!("{} ({} KiB)", ms(d), bytes / 1024),
            "≤ 200 ms".into(),
            d <= Duration::from_millis(200),
        );
    }
}

fn main() {
    let datasets: usize = env_num("PBIDEPLOY_BENCH_DATASETS", 2000);
    let changes: usize = env_num("PBIDEPLOY_BENCH_CHANGES", 2000);
    let runs: usize = env_num("PBIDEPLOY_BENCH_RUNS", 7);
    let dir = common::workdir();
    let per_ws = 20;
    let workspaces = datasets.div_ceil(per_ws);
    let text = common::manifest(workspaces, per_ws, 0, Features::All);
    let path = common::write_manifest(dir.path(), "big.yaml", &text);

    let mut t = Table::default();
    t.info(
        "manifest",
        format!(
            "{} datasets in {workspaces} workspaces, every feature, {} KiB",
            workspaces * per_ws,
            text.len() / 1024
        ),
    );
    let process_runs = runs * 3;
    let cache = dir.path().join("cache");
    let (validate, _) = validate_process(&path, &cache, process_runs);
    validate_row(
        &mut t,
        "pbideploy validate (process, warm model cache)",
        validate,
        process_runs,
    );
    let load = median(runs, || {
        pbideploy::manifest::load(&path, None, &[]).expect("manifest loads");
    });
    t.info("manifest::load (in-process)", ms(load));
    load_phases(&mut t, &path, runs);
    let bare = common::manifest(workspaces, per_ws, 0, Features::None);
    let bare_path = common::write_manifest(dir.path(), "bare.yaml", &bare);
    let (validate_bare, _) = validate_process(&bare_path, &cache, process_runs);
    let label = format!("pbideploy validate, pbix only ({} KiB)", bare.len() / 1024);
    validate_row(&mut t, &label, validate_bare, process_runs);
    modern_rows(&mut t, dir.path(), workspaces, per_ws, process_runs);

    // Size the planner's plan to about `changes`: measure changes per dataset, then re-plan.
    let probe = planned(&path);
    let per_dataset = probe.changes.len() as f64 / (workspaces * per_ws) as f64;
    let wanted_ds = ((changes as f64 / per_dataset).ceil() as usize).max(1);
    let text = common::manifest(
        wanted_ds.div_ceil(per_ws),
        per_ws.min(wanted_ds),
        0,
        Features::All,
    );
    let sized = common::write_manifest(dir.path(), "sized.yaml", &text);
    let made = planned(&sized);
    let plan_time = median(runs, || {
        planned(&sized);
    });
    t.info(
        "load + desired state + planner (in-process)",
        format!("{} for {} changes", ms(plan_time), made.changes.len()),
    );
    render_rows(&mut t, "planner creates", &made, runs);
    render_rows(
        &mut t,
        "connection-string updates",
        &render_fixture::huge(changes),
        runs,
    );
    t.print("local work");
}
