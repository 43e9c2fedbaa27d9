//! Power BI Project deployment at scale against an independent baseline: W workspaces × M
//! PBIP semantic models and as many PBIP reports (each bound to its model), on a freshly
//! reset emulator with a per-request latency and a Fabric long-running-operation delay.
//! `pbideploy apply` (the binary, client-secret auth, default parallelism) against the
//! sequential script ([`common::fabric_sequential`]: one item at a time, each operation
//! followed to its end as documented), in the same run. Target: apply at least 8× faster.
//!
//! Run: `cargo bench --bench pbip_scale`. Settings: `PBIDEPLOY_BENCH_WORKSPACES` (4),
//! `PBIDEPLOY_BENCH_MODELS` (10 per workspace), `PBIDEPLOY_BENCH_LATENCY_MS` (25),
//! `PBIDEPLOY_BENCH_LRO_DELAY_MS` (1000).

mod common;

use std::path::Path;
use std::time::Duration;

use common::fabric_sequential::{self, Target};
use common::{Emulator, Table, env_num, secs};
use serde_json::json;

/// The speed-up over the sequential script the issue asks for.
const TARGET_SPEEDUP: f64 = 8.0;

const MODEL: &str = "pbip/Bench.SemanticModel";
const REPORT: &str = "pbip/Bench.Report";

/// A small TMDL model and a PBIR-Legacy report bound `byPath` to it.
fn write_items(dir: &Path) {
    let files = [
        (
            format!("{MODEL}/definition.pbism"),
            "{\"version\": \"4.0\", \"settings\": {}}\n",
        ),
        (
            format!("{MODEL}/definition/database.tmdl"),
            "database\n\tcompatibilityLevel: 1550\n",
        ),
        (
            format!("{MODEL}/definition/model.tmdl"),
            "model Model\n\tculture: en-US\n\tdefaultPowerBIDataSourceVersion: powerBI_V3\n\nref table Sales\n",
        ),
        (
            format!("{MODEL}/definition/tables/Sales.tmdl"),
            "table Sales\n\n\tmeasure Total = SUM(Sales[Amount])\n\n\tcolumn Amount\n\t\tdataType: int64\n\t\tsummarizeBy: sum\n\t\tsourceColumn: Amount\n\n\tpartition Sales = m\n\t\tmode: import\n\t\tsource =\n\t\t\t\tlet\n\t\t\t\t    Source = #table(type table [Amount = Int64.Type], {{1}})\n\t\t\t\tin\n\t\t\t\t    Source\n\n",
        ),
        (
            format!("{REPORT}/definition.pbir"),
            "{\"version\": \"4.0\", \"datasetReference\": {\"byPath\": {\"path\": \"../Bench.SemanticModel\"}}}\n",
        ),
        (
            format!("{REPORT}/report.json"),
            "{\"config\": \"{}\", \"layoutOptimization\": 0, \"sections\": [{\"name\": \"ReportSection\", \"displayName\": \"Page 1\", \"ordinal\": 0, \"visualContainers\": []}]}\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("item folder");
        std::fs::write(path, text).expect("item file");
    }
}

fn names(workspaces: usize, models: usize) -> Vec<(String, Vec<(String, String)>)> {
    (0..workspaces)
        .map(|w| {
            let items = (0..models)
                .map(|m| (format!("Model {m:03}"), format!("Report {m:03}")))
                .collect();
            (format!("Bench {w:03}"), items)
        })
        .collect()
}

fn manifest(workspaces: &[(String, Vec<(String, String)>)]) -> String {
    let mut m = String::from("apiVersion: pbideploy/v1\nworkspaces:\n");
    for (ws, items) in workspaces {
        m += &format!("  - name: {ws}\n    create: true\n    datasets:\n");
        for (model, _) in items {
            m += &format!(
                "      - name: {model}\n        project: {MODEL}\n        refresh: {{onApply: never}}\n"
            );
        }
        m += "    reports:\n";
        for (model, report) in items {
            m += &format!(
                "      - name: {report}\n        project: {REPORT}\n        dataset: {model}\n"
            );
        }
    }
    m
}

/// Items created through the Fabric API in the emulator's log.
fn created(emu: &Emulator) -> usize {
    emu.log()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/items") && r.status < 300)
        .count()
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let workspaces = env_num::<usize>("PBIDEPLOY_BENCH_WORKSPACES", 4).max(1);
    let models = env_num::<usize>("PBIDEPLOY_BENCH_MODELS", 10).max(1);
    let latency_ms: u64 = env_num("PBIDEPLOY_BENCH_LATENCY_MS", 25);
    let lro_ms: u64 = env_num("PBIDEPLOY_BENCH_LRO_DELAY_MS", 1000);
    let knobs = json!({ "latencyMs": latency_ms, "lroDelayMs": lro_ms });
    let emu = Emulator::spawn();
    let dir = tempfile::tempdir().expect("tempdir");
    write_items(dir.path());
    let targets = names(workspaces, models);
    common::write_manifest(dir.path(), "m.yaml", &manifest(&targets));
    let total = 2 * workspaces * models;

    eprintln!("pbideploy apply…");
    emu.reset();
    emu.knobs(knobs.clone());
    let args = [
        "apply",
        "-f",
        "m.yaml",
        "--auto-approve",
        "--state",
        "state.json",
    ];
    let run = common::pbideploy(&emu, dir.path(), &args);
    common::expect_exit(&run, "pbideploy apply", &[0]);
    let apply_items = created(&emu);

    eprintln!("the sequential script…");
    emu.reset();
    emu.knobs(knobs);
    let target = Target {
        workspaces: targets,
        model_dir: dir.path().join(MODEL),
        report_dir: dir.path().join(REPORT),
    };
    let script = fabric_sequential::run(&emu, &target)
        .unwrap_or_else(|e| panic!("the sequential script failed: {e}"));
    let script_items = created(&emu);

    let mut t = Table::default();
    t.info(
        "scenario",
        format!("{workspaces} workspaces × {models} PBIP models + {models} reports, {lro_ms} ms operation delay, {latency_ms} ms latency"),
    );
    t.check(
        "apply: items created",
        apply_items.to_string(),
        total.to_string(),
        apply_items == total,
    );
    t.check(
        "script: items created",
        script_items.to_string(),
        total.to_string(),
        script_items == total,
    );
    t.info("apply: wall", secs(run.wall));
    t.info("sequential script: wall", secs(script));
    let speedup = script.as_secs_f64() / run.wall.as_secs_f64().max(f64::EPSILON);
    t.check(
        "speed-up over the sequential script",
        format!("{speedup:.1}×"),
        format!("≥ {TARGET_SPEEDUP}×"),
        speedup >= TARGET_SPEEDUP,
    );
    t.info(
        "floor (two operation delays)",
        secs(Duration::from_millis(2 * lro_ms)),
    );
    t.print("pbip_scale");
}
