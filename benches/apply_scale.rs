//! Apply at scale and under throttling, against an independent baseline. Two scenarios, each
//! on a freshly reset emulator with a per-request latency and an import processing delay:
//!
//! - **focused**: W₁ workspaces × D₁ datasets from one PBIX with a parameter and Basic cloud
//!   credentials (4 × 10 by default): `pbideploy apply` at the default parallelism, the
//!   sequential script ([`common::sequential`]: plain requests one at a time, polling every
//!   100 ms, the same work per dataset), and `pbideploy apply` throttled at R requests per
//!   second (429 + `Retry-After`);
//! - **scale**: N imports into W workspaces, PBIX only (100 into 10): `pbideploy apply` and
//!   the sequential script.
//!
//! `pbideploy apply` runs as users run it (the binary, client-secret auth); requests are
//! counted from the emulator's request log and shown by kind per dataset.
//!
//! Run: `cargo bench --bench apply_scale`. Settings: `PBIDEPLOY_BENCH_FOCUSED_WORKSPACES` (4),
//! `PBIDEPLOY_BENCH_FOCUSED_DATASETS` (10), `PBIDEPLOY_BENCH_IMPORTS` (100),
//! `PBIDEPLOY_BENCH_WORKSPACES` (10), `PBIDEPLOY_BENCH_LATENCY_MS` (25),
//! `PBIDEPLOY_BENCH_IMPORT_DELAY_MS` (300), `PBIDEPLOY_BENCH_THROTTLE_RPS` (5),
//! `PBIDEPLOY_BENCH_PARALLELISM` (unset: pbideploy's default, 8).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::sequential::{self, Target, Work};
use common::{CLOUD_SERVER, CLOUD_USER, Emulator, Features, Table, by_kind, env_num, secs};
use serde_json::{Value, json};

/// Requests in flight pbideploy allows at the default parallelism (twice the steps).
const DEFAULT_WINDOW: f64 = 16.0;

/// One run on a reset emulator.
struct Outcome {
    ok: bool,
    wall: Duration,
    /// Requests answered other than 429 (token requests excluded).
    served: usize,
    throttled: usize,
    not_found: usize,
    imports: usize,
    /// Requests by kind (429s included, tokens excluded).
    kinds: BTreeMap<&'static str, usize>,
}

/// The knobs and the manifest of one scenario.
struct Scenario {
    workspaces: usize,
    per_ws: usize,
    features: Features,
    knobs: Value,
}

impl Scenario {
    fn total(&self) -> usize {
        self.workspaces * self.per_ws
    }

    fn target(&self, dir: &Path) -> Target {
        let work = match self.features {
            Features::CloudParams => Work {
                parameters: vec![("Server".into(), CLOUD_SERVER.into())],
                basic: Some((CLOUD_USER.into(), "bench-password".into())),
            },
            _ => Work::default(),
        };
        Target {
            workspaces: (0..self.workspaces)
                .map(|w| {
                    let names = (0..self.per_ws).map(|d| format!("Model {d:03}")).collect();
                    (format!("Bench {w:03}"), names)
                })
                .collect(),
            pbix: sequential::pbix_in(dir),
            work,
        }
    }
}

fn outcome(emu: &Emulator, ok: bool, wall: Duration) -> Outcome {
    let log: Vec<_> = emu
        .log()
        .into_iter()
        .filter(|r| !r.path.ends_with("/oauth2/v2.0/token"))
        .collect();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    let imports = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/imports") && r.status == 202)
        .count();
    Outcome {
        ok,
        wall,
        served: log.len() - throttled,
        throttled,
        not_found: log.iter().filter(|r| r.status == 404).count(),
        imports,
        kinds: by_kind(&log),
    }
}

fn apply(emu: &Emulator, dir: &Path, s: &Scenario, knobs: Value, extra: &[&str]) -> Outcome {
    let text = common::manifest(s.workspaces, s.per_ws, 0, s.features);
    common::write_manifest(dir, "m.yaml", &text);
    emu.reset();
    emu.knobs(knobs);
    let _ = std::fs::remove_file(dir.join("state.json"));
    let mut args = vec![
        "apply",
        "-f",
        "m.yaml",
        "--auto-approve",
        "--state",
        "state.json",
    ];
    args.extend_from_slice(extra);
    let run = common::pbideploy(emu, dir, &args);
    if run.code != 0 {
        let tail: Vec<&str> = run.stderr.lines().rev().take(20).collect();
        eprintln!("apply {extra:?} exited {}:\n{}", run.code, tail.join("\n"));
    }
    outcome(emu, run.code == 0, run.wall)
}

fn script(emu: &Emulator, dir: &Path, s: &Scenario) -> Outcome {
    emu.reset();
    emu.knobs(s.knobs.clone());
    match sequential::run(emu, &s.target(dir)) {
        Ok(wall) => outcome(emu, true, wall),
        Err(e) => {
            eprintln!("the sequential script failed: {e}");
            outcome(emu, false, Duration::ZERO)
        }
    }
}

fn rows(t: &mut Table, label: &str, o: &Outcome, total: usize) {
    t.check(
        &format!("{label}: success, imports"),
        format!("{}, {}", o.ok, o.imports),
        format!("true, {total}"),
        o.ok && o.imports == total,
    );
    t.info(
        &format!("{label}: wall, requests (429s, 404s)"),
        format!(
            "{}, {} ({}, {})",
            secs(o.wall),
            o.served,
            o.throttled,
            o.not_found
        ),
    );
}

/// The floor of the focused run: the requests any client needs (per workspace a lookup and a
/// create; per dataset the upload, one status poll, the parameters, the data-source read and
/// the credentials) spread over the in-flight window, plus one dataset's chain of seven
/// requests and the import processing.
fn floor(s: &Scenario, latency: Duration, delay: Duration) -> Duration {
    let necessary = 2 * s.workspaces + 5 * s.total();
    latency.mul_f64(necessary as f64 / DEFAULT_WINDOW) + latency * 7 + delay
}

fn kinds_table(title: &str, o: &Outcome, other: &Outcome, datasets: usize) {
    let mut k = Table::default();
    let per = |n: usize| n as f64 / datasets.max(1) as f64;
    for (name, n) in &o.kinds {
        let th = other.kinds.get(name).copied().unwrap_or(0);
        k.info(
            name,
            format!("{:>6.2}   (throttled run: {:.2})", per(*n), per(th)),
        );
    }
    k.info(
        "total",
        format!(
            "{:>6.2}   (throttled run: {:.2})",
            per(o.served + o.throttled),
            per(other.served + other.throttled)
        ),
    );
    k.print(title);
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let latency_ms: u64 = env_num("PBIDEPLOY_BENCH_LATENCY_MS", 25);
    let delay_ms: u64 = env_num("PBIDEPLOY_BENCH_IMPORT_DELAY_MS", 300);
    let rps: f64 = env_num("PBIDEPLOY_BENCH_THROTTLE_RPS", 5.0);
    let parallelism: Option<String> = std::env::var("PBIDEPLOY_BENCH_PARALLELISM").ok();
    let knobs = json!({ "latencyMs": latency_ms, "importDelayMs": delay_ms });
    let focused = Scenario {
        workspaces: env_num::<usize>("PBIDEPLOY_BENCH_FOCUSED_WORKSPACES", 4).max(1),
        per_ws: env_num::<usize>("PBIDEPLOY_BENCH_FOCUSED_DATASETS", 10).max(1),
        features: Features::CloudParams,
        knobs: knobs.clone(),
    };
    let imports: usize = env_num("PBIDEPLOY_BENCH_IMPORTS", 100);
    let workspaces = env_num::<usize>("PBIDEPLOY_BENCH_WORKSPACES", 10).max(1);
    let scale = Scenario {
        workspaces,
        per_ws: imports.div_ceil(workspaces),
        features: Features::None,
        knobs: knobs.clone(),
    };
    let emu = Emulator::spawn();
    let dir = common::workdir();
    let mut par: Vec<&str> = Vec::new();
    if let Some(p) = &parallelism {
        par = vec!["--parallelism", p];
    }

    eprintln!("focused: pbideploy apply…");
    let f_apply = apply(&emu, dir.path(), &focused, knobs.clone(), &par);
    eprintln!("focused: the sequential script…");
    let f_script = script(&emu, dir.path(), &focused);
    eprintln!("focused: pbideploy apply throttled at {rps} requests/s…");
    let mut throttled_knobs = knobs;
    throttled_knobs["throttleRps"] = json!(rps);
    let f_throttled = apply(&emu, dir.path(), &focused, throttled_knobs, &par);
    eprintln!("scale: pbideploy apply…");
    let s_apply = apply(&emu, dir.path(), &scale, scale.knobs.clone(), &par);
    eprintln!("scale: the sequential script…");
    let s_script = script(&emu, dir.path(), &scale);

    let latency = Duration::from_millis(latency_ms);
    let delay = Duration::from_millis(delay_ms);
    let mut t = Table::default();
    let n = focused.total();
    t.info(
        "focused",
        format!(
            "{} workspaces × {} datasets (parameter + Basic cloud credentials), {delay_ms} ms import delay, {latency_ms} ms latency",
            focused.workspaces, focused.per_ws
        ),
    );
    rows(&mut t, "apply", &f_apply, n);
    rows(&mut t, "sequential script", &f_script, n);
    rows(&mut t, "apply throttled", &f_throttled, n);
    let speedup = f_script.wall.as_secs_f64() / f_apply.wall.as_secs_f64();
    t.check(
        "speed-up over the sequential script",
        format!("{speedup:.1}×"),
        "≥ 8×".into(),
        f_apply.ok && f_script.ok && speedup >= 8.0,
    );
    let fl = floor(&focused, latency, delay);
    let ratio = f_apply.wall.as_secs_f64() / fl.as_secs_f64();
    t.check(
        "wall vs floor (needed requests × latency ÷ 16 + 7-request chain + processing)",
        format!("{} vs {} = {ratio:.2}×", secs(f_apply.wall), secs(fl)),
        "≤ 2×".into(),
        f_apply.ok && ratio <= 2.0,
    );
    let per_ds = f_apply.served as f64 / n as f64;
    t.check(
        "requests per dataset (all requests ÷ datasets)",
        format!("{per_ds:.2}"),
        "≤ 7".into(),
        per_ds <= 7.0,
    );
    t.check(
        "404 answers in the apply",
        f_apply.not_found.to_string(),
        "0".into(),
        f_apply.not_found == 0,
    );
    let bound = Duration::from_secs_f64(f_throttled.served as f64 / rps);
    t.check(
        &format!("throttled wall vs requests ÷ {rps} rps"),
        format!("{} vs {}", secs(f_throttled.wall), secs(bound)),
        format!("≤ 1.3 × = {}", secs(bound.mul_f64(1.3))),
        f_throttled.ok && f_throttled.wall <= bound.mul_f64(1.3),
    );
    t.check(
        "throttled requests (429s included)",
        (f_throttled.served + f_throttled.throttled).to_string(),
        "< 412 (before #15)".into(),
        f_throttled.served + f_throttled.throttled < 412,
    );
    let m = scale.total();
    t.info(
        "scale",
        format!(
            "{m} imports into {} workspaces (PBIX only)",
            scale.workspaces
        ),
    );
    rows(&mut t, "apply", &s_apply, m);
    rows(&mut t, "sequential script", &s_script, m);
    let speedup = s_script.wall.as_secs_f64() / s_apply.wall.as_secs_f64();
    t.check(
        "speed-up over the sequential script",
        format!("{speedup:.1}×"),
        "≥ 10×".into(),
        s_apply.ok && s_script.ok && speedup >= 10.0,
    );
    t.print("apply at scale");
    kinds_table(
        "focused apply: requests per dataset by kind",
        &f_apply,
        &f_throttled,
        n,
    );
    let mut k = Table::default();
    for (name, c) in &f_script.kinds {
        k.info(name, format!("{:>6.2}", *c as f64 / n as f64));
    }
    k.print("focused sequential script: requests per dataset by kind");
}
