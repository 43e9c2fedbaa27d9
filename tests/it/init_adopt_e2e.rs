//! `init` -> `state adopt` -> `plan` end to end against the in-process emulator: an estate
//! published without pbideploy's ledger (the five importable fixture PBIX files, a thin report
//! in another workspace, parameters, cloud and gateway credentials, a gateway binding, a
//! refresh schedule, a workspace user) is described by `init` with GET requests only, the
//! manifest validates, `adopt` records it, and the next plan shows no changes. Adopt refuses
//! an item the service does not have and writes nothing then. No secret is ever printed. The
//! quickstart estate does the same round trip without the shared fixtures (init to stdout).

use crate::common;
use crate::support::{Run, assert_cli_snapshot};

use std::path::{Path, PathBuf};

use pbideploy_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};

const CLIENT_ID: &str = "pbideploy-init-e2e";
const SQL_SECRET: &str = "Sentinel-Sql-5d1e";
const SSAS_SECRET: &str = "Sentinel-Ssas-77aa";
const WS: &str = "Adopt: Fixtures #1";
const REPORTS_WS: &str = "Adopt \"Reports\"";
const REGIONAL_SHA: &str = "aba504345740406fe35ea83c4dc194bb408ce467f09840bac1b82e5e8725cdab";
const REGIONAL_URL: &str = "https://microsoft-my.sharepoint.com/personal/misewell_microsoft_com/Documents/Documents/GitHub/ContosoBI/Contoso%20-%20Sales%20-%20Current%20Release/Contoso%20-%20Dynamics%20365%20Sales%20Source%20Data.xlsx";

/// The importable fixtures (the sixth, a .pbit template, is refused by the Imports API).
const FIXTURES: [&str; 5] = [
    "directquery-parameters.pbix",
    "2018SU10 Data Profiling Demo - October.pbix",
    "Regional Sales Sample.pbix",
    "live-connection-ssas.pbix",
    "live-connection-pbiservice.pbix",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> Option<PathBuf> {
    let one = common::shared_data("fixtures/pbix/directquery-parameters.pbix")?;
    one.parent().map(Path::to_path_buf)
}

/// The estate as another tool would have published it: applied once, then the ledger removed.
fn seed_manifest() -> String {
    format!(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: "{WS}"
    create: true
    access:
      - principal: ana@contoso.com
        principalType: User
        role: Viewer
    datasets:
      - name: directquery-parameters
        pbix: seed/directquery-parameters.pbix
        parameters: {{DatabaseName: AdventureWorksDW2012}}
        credentials:
          - match: {{type: Sql}}
            type: Basic
            username: sa
            password: {{env: SEED_SQL_PASSWORD}}
        refresh: {{onApply: never}}
      - name: 2018SU10 Data Profiling Demo - October
        pbix: seed/2018SU10 Data Profiling Demo - October.pbix
        credentials:
          - match: {{type: OData}}
            type: Anonymous
        refresh:
          onApply: never
          schedule: {{days: [Monday, Thursday], times: ["06:00", "18:30"], timeZone: UTC}}
      - name: Regional Sales Sample
        pbix: seed/Regional Sales Sample.pbix
        refresh: {{onApply: never}}
      - name: live-connection-ssas
        pbix: seed/live-connection-ssas.pbix
        gateway: {{name: Local Gateway, createDatasources: true}}
        credentials:
          - match: {{type: AnalysisServices}}
            type: Windows
            username: CONTOSO\svc
            password: {{env: SEED_SSAS_PASSWORD}}
        refresh: {{onApply: never}}
    reports:
      - name: live-connection-pbiservice
        pbix: seed/live-connection-pbiservice.pbix
        dataset: directquery-parameters
  - name: '{REPORTS_WS}'
    create: true
    reports:
      - name: Sales Summary
        pbix: seed/sales-summary.pbix
        dataset: "{WS}/directquery-parameters"
"#
    )
}

/// Runs pbideploy in `dir` against the emulator (in a blocking thread so the emulator on this
/// runtime keeps serving), with `env` set; fails if a secret shows up in its output.
async fn run(url: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let (url, dir) = (url.to_string(), dir.to_path_buf());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = crate::support::pbideploy();
        cmd.current_dir(&dir)
            .args(&args)
            .args(["--service-url", &url, "--color", "never"])
            .env("AZURE_TENANT_ID", "e2e")
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", "e2e-secret")
            .env("AZURE_AUTHORITY_HOST", &url);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    let r = Run::from(out);
    for s in [SQL_SECRET, SSAS_SECRET] {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "a secret was printed:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    r
}

async fn requests(url: &str) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{url}/_emulator/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_array().cloned().unwrap_or_default()
}

/// Publishes the estate and forgets the ledger. Returns the emulator.
async fn seeded(dir: &Path, fixtures: &Path) -> RunningEmulator {
    let emu = pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    // Regional Sales keeps its model in XPress9: tell the emulator what the service derives.
    emu.with_model(|m| {
        let seed = serde_json::from_value(json!({
            "datasources": [{"datasourceType": "Web", "connectionDetails": {"url": REGIONAL_URL}}],
            "parameters": []
        }))
        .unwrap();
        m.tenant.pbix_views.insert(REGIONAL_SHA.into(), seed);
    });
    for sub in ["seed", "pbix"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for f in FIXTURES {
            std::fs::copy(fixtures.join(f), dir.join(sub).join(f)).unwrap();
        }
    }
    std::fs::copy(
        repo().join("manifests/pbix/sales-summary.pbix"),
        dir.join("seed/sales-summary.pbix"),
    )
    .unwrap();
    std::fs::write(dir.join("seed.yaml"), seed_manifest()).unwrap();
    let secrets = [
        ("SEED_SQL_PASSWORD", SQL_SECRET),
        ("SEED_SSAS_PASSWORD", SSAS_SECRET),
    ];
    // The first apply cannot create the gateway data source of a dataset it has not
    // imported yet (the planner only knows a new PBIX's sources from `datasources` rules), so
    // the binding fails once (exit 3) and the second apply, which sees the sources, binds it.
    let apply = ["apply", "-f", "seed.yaml", "--auto-approve"];
    let first = run(&emu.url(), dir, &apply, &secrets).await;
    assert!(
        matches!(first.code, 0 | 3),
        "seed apply:\n{}\n{}",
        first.stdout,
        first.stderr
    );
    let out = run(&emu.url(), dir, &apply, &secrets).await;
    assert_eq!(out.code, 0, "seed apply:\n{}\n{}", out.stdout, out.stderr);
    std::fs::remove_file(dir.join("seed.default.pbideploy-state.json")).unwrap();
    emu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_then_adopt_then_plan_shows_no_changes() {
    let Some(fixtures) = fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let emu = seeded(dir, &fixtures).await;
    let url = emu.url();

    // init reads with GET only and writes the manifest.
    let before = requests(&url).await.len();
    let out = run(
        &url,
        dir,
        &[
            "init",
            "--workspace",
            WS,
            "--workspace",
            &REPORTS_WS.to_lowercase(),
            "--pbix-dir",
            "pbix",
            "-o",
            "pbideploy.yaml",
        ],
        &[],
    )
    .await;
    assert_cli_snapshot!("init", out);
    let log = requests(&url).await;
    let api: Vec<&Value> = log[before..]
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1.0/")))
        .collect();
    assert!(api.len() > 10, "{api:?}");
    for r in api {
        assert_eq!(r["method"], "GET", "init sent a write: {r}");
    }
    let text = std::fs::read_to_string(dir.join("pbideploy.yaml")).unwrap();
    crate::support::cli_snapshot_settings().bind(|| insta::assert_snapshot!("init_manifest", text));
    // A second init does not overwrite the manifest.
    let again = run(&url, dir, &["init", "--workspace", WS], &[]).await;
    assert_cli_snapshot!("init_again", again);

    // The placeholders filled in (the PBIX put in place, the user name set), the manifest
    // validates; until then validate refuses the user name.
    let placeholder = dir.join(format!("pbix/{REPORTS_WS}/Sales Summary.pbix").replace('"', "_"));
    std::fs::create_dir_all(placeholder.parent().unwrap()).unwrap();
    std::fs::copy(dir.join("seed/sales-summary.pbix"), &placeholder).unwrap();
    let v = crate::support::pbideploy()
        .current_dir(dir)
        .args(["validate", "-f", "pbideploy.yaml", "--color", "never"])
        .output()
        .unwrap();
    assert_cli_snapshot!("validate_placeholder", Run::from(v));
    let text = text.replace("<TODO-username>", "svc_reader");
    std::fs::write(dir.join("pbideploy.yaml"), &text).unwrap();
    let v = crate::support::pbideploy()
        .current_dir(dir)
        .args(["validate", "-f", "pbideploy.yaml", "--color", "never"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));

    let secrets = [
        ("PBI_DIRECTQUERY_PARAMETERS_SQL_PASSWORD", SQL_SECRET),
        (
            "PBI_LIVE_CONNECTION_SSAS_ANALYSISSERVICES_PASSWORD",
            SSAS_SECRET,
        ),
    ];
    let plan = ["plan", "-f", "pbideploy.yaml", "--detailed-exitcode"];
    // Without a ledger every PBIX would be imported again.
    assert_cli_snapshot!("plan_without_ledger", run(&url, dir, &plan, &secrets).await);

    // Adopt refuses an item the service does not have, and writes nothing.
    let extra = text.replacen(
        "    datasets:\n",
        "    datasets:\n      - name: Not Published\n        pbix: pbix/directquery-parameters.pbix\n",
        1,
    );
    std::fs::write(dir.join("extra.yaml"), &extra).unwrap();
    let out = run(&url, dir, &["state", "adopt", "-f", "extra.yaml"], &secrets).await;
    assert_cli_snapshot!("adopt_refused", out);
    assert!(!dir.join("extra.default.pbideploy-state.json").exists());

    let out = run(
        &url,
        dir,
        &["state", "adopt", "-f", "pbideploy.yaml"],
        &secrets,
    )
    .await;
    assert_cli_snapshot!("adopt", out);
    let before = requests(&url).await.len();
    let out = run(&url, dir, &plan, &secrets).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "No changes. The service matches the manifest."),
        "{}",
        out.stderr
    );
    let log = requests(&url).await;
    assert!(
        log[before..].iter().all(
            |r| r["method"] == "GET" || !r["path"].as_str().unwrap_or("").starts_with("/v1.0/")
        )
    );

    // Adopt leaves differences for plan: a changed parameter is exactly one change. It moves
    // the data source, so the credential rule init wrote for it follows (`validate` refuses
    // a rule that matches no source the dataset will have).
    let edited = text.replace("AdventureWorksDW2012", "AdventureWorksDW2014");
    std::fs::write(dir.join("pbideploy.yaml"), edited).unwrap();
    let out = run(
        &url,
        dir,
        &["plan", "-f", "pbideploy.yaml", "--format", "json"],
        &secrets,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p: Value = serde_json::from_str(&out.stdout).unwrap();
    let changed: Vec<String> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .filter_map(|c| c["address"].as_str().map(str::to_string))
        .collect();
    // The parameter, the credentials of the data source it re-points (a new data source has
    // none), and the refresh `onApply: whenChanged` (the default) asks for after them: all of
    // the one dataset.
    let ds = "workspace[\"Adopt: Fixtures #1\"].dataset[\"directquery-parameters\"]";
    assert_eq!(
        changed.first(),
        Some(&format!("{ds}.parameters")),
        "{changed:?}"
    );
    assert_eq!(
        changed.last(),
        Some(&format!("{ds}.refresh")),
        "{changed:?}"
    );
    assert!(
        changed[1..changed.len() - 1]
            .iter()
            .all(|c| c.starts_with(&format!("{ds}.credentials["))),
        "{changed:?}"
    );
    emu.shutdown().await;
}

/// Without the shared fixtures too: the quickstart estate, init to stdout, adopt, no changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_round_trip_through_stdout_and_unknown_workspaces_refused() {
    let emu = pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let url = emu.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("pbix")).unwrap();
    for f in ["sales.pbix", "sales-summary.pbix"] {
        std::fs::copy(
            repo().join("manifests/pbix").join(f),
            dir.join("pbix").join(f),
        )
        .unwrap();
    }
    std::fs::copy(repo().join("manifests/quickstart.yaml"), dir.join("q.yaml")).unwrap();
    let out = run(&url, dir, &["apply", "-f", "q.yaml", "--auto-approve"], &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    std::fs::remove_file(dir.join("q.default.pbideploy-state.json")).unwrap();

    let out = run(
        &url,
        dir,
        &[
            "init",
            "--workspace",
            "Nowhere",
            "--workspace",
            "pbideploy quickstart",
            "-o",
            "m.yaml",
        ],
        &[],
    )
    .await;
    assert_cli_snapshot!("init_unknown_workspace", out);
    assert!(!dir.join("m.yaml").exists());

    let args = [
        "init",
        "--workspace",
        "PBIDEPLOY QUICKSTART",
        "--pbix-dir",
        "pbix",
        "-o",
        "-",
    ];
    let out = run(&url, dir, &args, &[]).await;
    // The manifest on stdout; on stderr the count of TODOs (the report's placeholder).
    assert_cli_snapshot!("init_stdout", out);
    let text = out
        .stdout
        .replace("pbix/Sales Summary.pbix", "pbix/sales-summary.pbix");
    std::fs::write(dir.join("m.yaml"), text).unwrap();
    let out = run(&url, dir, &["state", "adopt", "-f", "m.yaml"], &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = run(
        &url,
        dir,
        &["plan", "-f", "m.yaml", "--detailed-exitcode"],
        &[],
    )
    .await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "No changes. The service matches the manifest."),
        "{}",
        out.stderr
    );
    emu.shutdown().await;
}
