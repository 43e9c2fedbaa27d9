//! Fault soak: seeded apply runs against the emulator with 10% injected faults (500, 503,
//! dropped connections, failed imports) and 429 bursts from a tight request budget. Each
//! run must complete or fail cleanly; a second faulty run and then a clean re-run must
//! converge: the service holds exactly the desired items (no duplicate dataset or report),
//! the ledger is valid and matches the service, and plan reports no changes.
//!
//! 50 runs by default (about a second each); release checks run more:
//! `PBIDEPLOY_SOAK_RUNS=500 cargo test --release --test it fault_soak::`.

use crate::reliability;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pbideploy::apply::checkpoint::Checkpoint;
use pbideploy::apply::output::Output;
use pbideploy::apply::{ApplyOptions, execute, secrets};
use pbideploy::cli::{ConnectArgs, ServiceArgs};
use pbideploy::commands::plan::make_plan;
use pbideploy::live::model::LivePrincipal;
use pbideploy::manifest::{self, LoadedManifest};
use pbideploy::plan::PlanOptions;
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::retry::RetryPolicy;
use pbideploy::session::{ClientSecretProvider, Endpoints, Session};
use pbideploy_emulator::{EmulatorConfig, RunningEmulator, start};
use secrecy::SecretString;
use serde_json::{Value, json};

const CLIENT_ID: &str = "soak-deployer";

fn session(url: &str) -> Session {
    let endpoints = Endpoints {
        api_url: url.to_string(),
        authority_url: url.to_string(),
        scope: "https://analysis.windows.net/powerbi/api/.default".into(),
    };
    let provider =
        ClientSecretProvider::new(&endpoints, "soak", CLIENT_ID, SecretString::from("x"));
    let config = ClientConfig {
        api_base_url: url.to_string(),
        // Production delays, shrunk: the same classification and caps, in milliseconds.
        retry: RetryPolicy {
            max_retries: 6,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(100),
            jitter: true,
            ..RetryPolicy::default()
        },
        poll_initial: Duration::from_millis(5),
        poll_max: Duration::from_millis(20),
        ..ClientConfig::default()
    };
    Session {
        client: PowerBiClient::new(config, Arc::new(provider)).unwrap(),
        principal: LivePrincipal {
            identities: vec![CLIENT_ID.into()],
        },
        endpoints,
        local: None,
    }
}

/// What one apply did, as the CLI would report it.
#[derive(Debug, PartialEq)]
enum Outcome {
    NoChanges,
    Applied,
    /// A clean failure: some steps failed or were skipped, or planning/reading failed.
    Failed(String),
}

/// `pbideploy apply --auto-approve --json`, in-process (the same calls as the command).
async fn apply(
    loaded: &LoadedManifest,
    session: &Session,
    events: &Arc<Mutex<Vec<u8>>>,
) -> Outcome {
    let args = ServiceArgs {
        connect: ConnectArgs::default(),
        state: None,
        state_credential: None,
    };
    let planned = match make_plan(loaded, session, &args, PlanOptions::default()).await {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("plan: {}", e.message)),
    };
    if !planned.plan.has_changes() {
        return Outcome::NoChanges;
    }
    let secrets = secrets::resolve(&planned.plan, &loaded.root, &|_| None).unwrap();
    let checkpoint = Checkpoint::open(planned.ledger_store).unwrap();
    let options = ApplyOptions {
        parallelism: 4,
        base_dir: loaded.root.clone(),
        import_timeout: Duration::from_secs(20),
        ..ApplyOptions::default()
    };
    let out = Output::new(events.clone(), true);
    match execute(
        &planned.plan,
        session.client.clone(),
        secrets,
        Arc::new(checkpoint),
        out,
        options,
    )
    .await
    {
        Ok(summary) if summary.is_success() => Outcome::Applied,
        Ok(summary) => Outcome::Failed(format!(
            "{} failed, {} skipped; first: {:?}",
            summary.failed.len(),
            summary.skipped.len(),
            summary
                .failed
                .first()
                .map(|(a, e)| format!("{a}: {}", e.message))
        )),
        Err(e) => Outcome::Failed(format!("execute: {e}")),
    }
}

async fn plan_has_changes(loaded: &LoadedManifest, session: &Session) -> bool {
    let args = ServiceArgs {
        connect: ConnectArgs::default(),
        state: None,
        state_credential: None,
    };
    let planned = make_plan(loaded, session, &args, PlanOptions::default())
        .await
        .unwrap_or_else(|e| panic!("plan after convergence failed: {}", e.message));
    planned.plan.has_changes()
}

/// From the emulator's request log: (requests, injected 500/503, 429).
async fn injected(emu: &RunningEmulator) -> (usize, usize, usize) {
    let statuses: Vec<u64> = reliability::request_log(emu)
        .await
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    let faults = statuses.iter().filter(|s| **s == 500 || **s == 503).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    (statuses.len(), faults, throttled)
}

fn failed_imports(state: &Value) -> usize {
    state["imports"]
        .as_array()
        .map(|v| v.iter().filter(|i| i["state"] == "Failed").count())
        .unwrap_or(0)
}

#[derive(Default, Debug)]
struct Tally {
    runs: usize,
    requests: usize,
    faults: usize,
    throttled: usize,
    failed_imports: usize,
    clean_failures: usize,
}

async fn soak_one(seed: u64, dir: &Path, tally: &mut Tally) {
    let manifest_path = reliability::write_project(dir);
    let loaded = manifest::load(&manifest_path, None, &[]).unwrap();
    let emu = start(EmulatorConfig {
        seed,
        fault_rate: 0.10,
        // A budget below the apply's burst rate: parallel steps get 429 bursts.
        throttle_rps: 25.0,
        import_delay_ms: 10,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let session = session(&emu.url());
    let events = Arc::new(Mutex::new(Vec::new()));
    let context = format!("seed {seed}");

    // Two runs under faults: each completes or fails cleanly, and the ledger stays valid.
    for _ in 0..2 {
        if let Outcome::Failed(why) = apply(&loaded, &session, &events).await {
            if std::env::var_os("PBIDEPLOY_SOAK_VERBOSE").is_some() {
                println!("{context}: failed cleanly: {why}");
            }
            tally.clean_failures += 1;
        }
        reliability::read_ledger(&manifest_path);
    }
    let (requests, faults, throttled) = injected(&emu).await;
    tally.requests += requests;
    tally.faults += faults;
    tally.throttled += throttled;
    tally.failed_imports += failed_imports(&emu.snapshot());

    // Faults off: one re-run converges, a second has nothing to do, plan shows no changes.
    reliability::set_knobs(&emu, json!({"faultRate": 0.0, "throttleRps": 0.0})).await;
    let rerun = apply(&loaded, &session, &events).await;
    assert!(
        matches!(rerun, Outcome::Applied | Outcome::NoChanges),
        "{context}: the re-run did not converge: {rerun:?}\n{}",
        String::from_utf8_lossy(&events.lock().unwrap())
    );
    assert_eq!(
        apply(&loaded, &session, &events).await,
        Outcome::NoChanges,
        "{context}"
    );
    assert!(
        !plan_has_changes(&loaded, &session).await,
        "{context}: plan shows changes"
    );
    let ledger = reliability::read_ledger(&manifest_path).expect("a ledger after convergence");
    reliability::assert_converged(&emu.snapshot(), &ledger, &context);

    let events = String::from_utf8_lossy(&events.lock().unwrap()).to_string();
    for line in events.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("{context}: event is not JSON ({e}): {line}"));
    }
    assert!(
        !events.contains(reliability::SECRET),
        "{context}: the secret leaked into events"
    );
    tally.runs += 1;
    emu.shutdown().await;
}

#[test]
fn seeded_fault_runs_converge_without_duplicates() {
    let runs: u64 = std::env::var("PBIDEPLOY_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let rt = reliability::runtime();
    let mut tally = Tally::default();
    rt.block_on(async {
        for seed in 0..runs {
            let tmp = tempfile::tempdir().unwrap();
            tokio::time::timeout(
                Duration::from_secs(60),
                soak_one(seed, tmp.path(), &mut tally),
            )
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: the run did not finish within 60 s"));
        }
    });
    println!("fault soak: {tally:?}");
    assert_eq!(tally.runs as u64, runs);
    // The soak is only meaningful if faults were injected.
    assert!(tally.faults > 0 && tally.throttled > 0, "{tally:?}");
}
