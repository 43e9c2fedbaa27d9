//! Crash safety: the `pbideploy apply` process is killed with SIGKILL at 20 points (before
//! the first step, during uploads, while polling imports, between steps, right after
//! checkpoints, inside ledger writes, at the end). The two ledger-write points must each land
//! inside the write (a temp file left behind), retried up to 5 times with a fresh estate.
//! After each kill the ledger is not corrupt, and a re-run
//! converges: exit 0, then plan shows no changes and the service holds exactly the desired
//! items (no duplicate dataset or report), the ledger matching it.
//!
//! The emulator runs in this process (so only the CLI dies) with request latency and a slow
//! import, which make the windows wide; where apply is comes from its `--json` events and
//! from the emulator's request log.

use crate::reliability;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pbideploy_emulator::{EmulatorConfig, RunningEmulator, start};
use serde_json::{Value, json};

/// What a kill waits for.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// The `n`-th (1-based) `--json` event whose type is `kind` and address ends with `address`.
    Event {
        kind: &'static str,
        address: &'static str,
        n: usize,
    },
    /// The `n`-th request the emulator finished whose method is `method` and whose path
    /// ends with `path`.
    Request {
        method: &'static str,
        path: &'static str,
        n: usize,
    },
    /// The `n`-th ledger temp file (`.<ledger>.*.tmp`) appearing beside the manifest:
    /// the write has begun (write, fsync, rename) and the kill lands inside it.
    LedgerWrite { n: usize },
}

#[derive(Debug, Clone, Copy)]
struct KillPoint {
    label: &'static str,
    trigger: Trigger,
    /// Wait this long after the trigger, then SIGKILL.
    delay_ms: u64,
}

const fn event(
    label: &'static str,
    kind: &'static str,
    address: &'static str,
    n: usize,
    delay_ms: u64,
) -> KillPoint {
    KillPoint {
        label,
        trigger: Trigger::Event { kind, address, n },
        delay_ms,
    }
}

const fn request(
    label: &'static str,
    method: &'static str,
    path: &'static str,
    n: usize,
    delay_ms: u64,
) -> KillPoint {
    KillPoint {
        label,
        trigger: Trigger::Request { method, path, n },
        delay_ms,
    }
}

const fn ledger_write(label: &'static str, n: usize) -> KillPoint {
    KillPoint {
        label,
        trigger: Trigger::LedgerWrite { n },
        delay_ms: 0,
    }
}

/// Ledger temp files in `dir` now.
fn ledger_temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(".pbideploy.default.pbideploy-state.json.") && n.ends_with(".tmp")
                })
                .collect()
        })
        .unwrap_or_default()
}

const POINTS: [KillPoint; 20] = [
    event("before any step", "apply_start", "", 1, 0),
    request("while reading the live state", "GET", "/groups", 1, 5),
    request(
        "a workspace created, before its checkpoint",
        "POST",
        "/groups",
        1,
        0,
    ),
    event(
        "right after a workspace checkpoint",
        "apply_complete",
        "Soak Data\"]",
        1,
        1,
    ),
    event(
        "while adding a workspace user",
        "apply_start",
        ".access[\"report-authors@contoso.com\"]",
        1,
        10,
    ),
    // The import step starts with hashing the PBIX, then streams it: the upload (a new
    // workspace's import history is known empty, so nothing is read before it).
    event(
        "during the dataset upload",
        "apply_start",
        "dataset[\"Sales\"]",
        1,
        2,
    ),
    ledger_write("during the first ledger write", 1),
    event(
        "during a report upload",
        "apply_start",
        "report[\"Sales Summary\"]",
        1,
        5,
    ),
    request("while polling the dataset import", "POST", "/imports", 1, 0),
    request(
        "while polling the dataset import, later",
        "POST",
        "/imports",
        1,
        150,
    ),
    request("while polling a report import", "POST", "/imports", 2, 60),
    event(
        "right after the dataset import checkpoint",
        "apply_complete",
        "dataset[\"Sales\"]",
        1,
        0,
    ),
    event(
        "during the parameter update",
        "apply_start",
        ".parameters",
        1,
        5,
    ),
    event(
        "right after the parameter checkpoint",
        "apply_complete",
        ".parameters",
        1,
        0,
    ),
    event(
        "during the credential update",
        "apply_start",
        ".credentials[\"Sql\"]",
        1,
        5,
    ),
    event(
        "during the schedule update",
        "apply_start",
        ".refresh_schedule",
        1,
        3,
    ),
    event(
        "while triggering the refresh",
        "apply_start",
        ".refresh",
        1,
        5,
    ),
    // A report's import binds it to its dataset (there is no separate rebind step on a fresh
    // estate): killed while the report's import runs.
    event(
        "during a report's import (which binds it)",
        "apply_start",
        "report[\"Sales Detail\"]",
        1,
        5,
    ),
    // Not "right after a report checkpoint": a report is now the run's last step, and apply
    // exits within milliseconds of its checkpoint, before a kill can land.
    event(
        "right after the schedule checkpoint",
        "apply_complete",
        ".refresh_schedule",
        1,
        0,
    ),
    ledger_write("during the fourth ledger write", 4),
];

fn cli(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = reliability::cli(dir, url, "not-checked");
    cmd.args(args);
    cmd
}

const APPLY: [&str; 5] = ["apply", "--auto-approve", "--json", "-f", "pbideploy.yaml"];

async fn finished_requests(emu: &RunningEmulator) -> Vec<(String, String)> {
    reliability::request_log(emu)
        .await
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_string(),
                r["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn event_matches(line: &str, kind: &str, address: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return false;
    };
    v["type"] == kind && v["address"].as_str().unwrap_or("").ends_with(address)
}

/// Runs apply until `point` fires, then SIGKILLs it. Returns the events seen; panics when
/// the process ended before the trigger (the point would test nothing), except for a
/// ledger-write point, which the caller retries. Also says whether a ledger temp file was
/// left behind, i.e. the kill landed inside a ledger write.
async fn apply_and_kill(
    dir: &Path,
    emu: &RunningEmulator,
    point: &KillPoint,
) -> (Vec<String>, bool) {
    let mut child: Child = cli(dir, &emu.url(), &APPLY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "{}: no trigger within 60 s",
            point.label
        );
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        let fired = match point.trigger {
            Trigger::Event { kind, address, n } => {
                lines
                    .iter()
                    .filter(|l| event_matches(l, kind, address))
                    .count()
                    >= n
            }
            Trigger::Request { method, path, n } => {
                finished_requests(emu)
                    .await
                    .iter()
                    .filter(|(m, p)| m == method && p.ends_with(path))
                    .count()
                    >= n
            }
            Trigger::LedgerWrite { n } => {
                // Spin (no sleep): the write-fsync-rename window lasts milliseconds.
                let mut seen = std::collections::HashSet::new();
                loop {
                    seen.extend(ledger_temps(dir));
                    if seen.len() >= n {
                        break true;
                    }
                    if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                        break false;
                    }
                }
            }
        };
        if fired {
            tokio::time::sleep(Duration::from_millis(point.delay_ms)).await;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            if matches!(point.trigger, Trigger::LedgerWrite { .. }) {
                // A loaded machine can hide a temp file from the spin (its whole life is a
                // few milliseconds), so apply may finish first: not inside a write; the
                // caller retries on a fresh estate.
                lines.extend(rx.try_iter());
                return (lines, false);
            }
            panic!(
                "{}: apply ended ({status}) before the kill point\n{}",
                point.label,
                lines.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "{}: apply finished before the kill",
        point.label
    );
    lines.extend(rx.try_iter());
    let mid_write = !ledger_temps(dir).is_empty();
    (lines, mid_write)
}

fn run(dir: &Path, url: &str, args: &[&str]) -> (i32, String) {
    let out = cli(dir, url, args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Tries per ledger-write kill point: the spin sees the temp file within microseconds, but a
/// kill can still land after the rename, or (on a loaded machine) the spin can miss a write
/// altogether; a retry (a fresh estate) lands inside the write.
const LEDGER_WRITE_ATTEMPTS: usize = 10;

#[cfg(unix)]
#[test]
fn killed_applies_never_corrupt_the_ledger_and_re_runs_converge() {
    let rt = reliability::runtime();
    let mut mid_writes = 0;
    rt.block_on(async {
        for (i, point) in POINTS.iter().enumerate() {
            let must_land = matches!(point.trigger, Trigger::LedgerWrite { .. });
            for attempt in 1.. {
                let mid_write = kill_and_converge(i, point).await;
                if mid_write || !must_land {
                    mid_writes += usize::from(mid_write);
                    break;
                }
                assert!(
                    attempt < LEDGER_WRITE_ATTEMPTS,
                    "kill point {i} ({}): in {attempt} tries no kill landed inside a ledger write",
                    point.label
                );
                println!("kill point {i}: attempt {attempt} did not land inside a write; again");
            }
        }
    });
    println!(
        "crash safety: {} kills, {mid_writes} inside a ledger write (temp file left behind)",
        POINTS.len()
    );
}

/// One kill at `point` on a fresh estate, then the checks: the ledger parses, a re-run exits
/// 0, plan shows no changes, no temp file is left, the service holds exactly the desired
/// items. Returns whether the kill landed inside a ledger write.
async fn kill_and_converge(i: usize, point: &KillPoint) -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = reliability::write_project(tmp.path());
    let emu = start(EmulatorConfig {
        seed: i as u64,
        latency_ms: 25,
        import_delay_ms: 400,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let context = format!("kill point {i} ({})", point.label);
    let (events, mid_write) = apply_and_kill(tmp.path(), &emu, point).await;

    // The ledger is valid (or absent when the kill came before the first checkpoint).
    reliability::read_ledger(&manifest);
    reliability::set_knobs(&emu, json!({"latencyMs": 0, "importDelayMs": 0})).await;
    let url = emu.url();
    let dir = tmp.path().to_path_buf();
    let (code, out) = tokio::task::spawn_blocking(move || run(&dir, &url, &APPLY))
        .await
        .unwrap();
    assert_eq!(
        code,
        0,
        "{context}: the re-run failed\n{out}\nkilled run:\n{}",
        events.join("\n")
    );
    let url = emu.url();
    let dir = tmp.path().to_path_buf();
    let (code, out) = tokio::task::spawn_blocking(move || {
        run(
            &dir,
            &url,
            &["plan", "--detailed-exitcode", "-f", "pbideploy.yaml"],
        )
    })
    .await
    .unwrap();
    assert_eq!(
        code, 0,
        "{context}: plan shows changes after the re-run\n{out}"
    );
    assert_eq!(
        ledger_temps(tmp.path()),
        Vec::<String>::new(),
        "{context}: the re-run left a ledger temp file behind"
    );
    let ledger = reliability::read_ledger(&manifest).expect("a ledger after the re-run");
    reliability::assert_converged(&emu.snapshot(), &ledger, &context);
    println!(
        "{context}: killed after {} events{}; converged",
        events.len(),
        if mid_write {
            ", inside a ledger write"
        } else {
            ""
        }
    );
    emu.shutdown().await;
    mid_write
}
