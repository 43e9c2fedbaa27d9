//! End-to-end apply against the in-process emulator: plans built by the real planner from a
//! desired state, executed by the real executor, checked on the emulator's state and log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pbideploy::apply::checkpoint::Checkpoint;
use pbideploy::apply::output::Output;
use pbideploy::apply::secrets::{Secrets, resolve};
use pbideploy::apply::{ApplyOptions, ApplySummary, execute};
use pbideploy::domain::desired::{
    CredentialFingerprint, DesiredCredential, DesiredDataset, DesiredReport, DesiredState,
    DesiredWorkspace, RefreshOnApply,
};
use pbideploy::domain::secret_ref::SecretRef;
use pbideploy::ledger::Ledger;
use pbideploy::live::model::{LivePrincipal, LiveState};
use pbideploy::plan::model::*;
use pbideploy::plan::{PlanOptions, plan};
use pbideploy::powerbi::auth::{AccessToken, TokenFuture, TokenProvider};
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy_emulator::{EmulatorConfig, RunningEmulator, start};
use secrecy::SecretString;
use serde_json::Value;

struct Static(String);

impl TokenProvider for Static {
    fn token(&self) -> TokenFuture<'_> {
        let t = self.0.clone();
        Box::pin(async move {
            Ok(AccessToken {
                token: SecretString::from(t),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            })
        })
    }
    fn method(&self) -> &'static str {
        "static test token"
    }
}

async fn setup() -> (RunningEmulator, PowerBiClient) {
    let emu = start(EmulatorConfig::default()).await.unwrap();
    let url = emu.url();
    let r: Value = reqwest::Client::new()
        .post(format!("{url}/tenant1/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "deployer"),
            ("client_secret", "s3cret"),
            ("scope", "https://analysis.windows.net/powerbi/api/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"].as_str().unwrap().to_string();
    let config = ClientConfig {
        api_base_url: url,
        poll_initial: Duration::from_millis(20),
        poll_max: Duration::from_millis(100),
        ..ClientConfig::default()
    };
    let client = PowerBiClient::new(config, Arc::new(Static(token))).unwrap();
    (emu, client)
}

fn pbix_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

fn sha(p: &str) -> String {
    pbideploy::untrusted_file::sha256(&pbix_dir().join(p)).unwrap()
}

fn desired(params: &[(&str, &str)], with_creds: bool) -> DesiredState {
    let credentials = if with_creds {
        vec![DesiredCredential {
            matches: DatasourceRef {
                datasource_type: "Sql".into(),
                connection_details: BTreeMap::new(),
            },
            spec: CredentialSpec {
                credential_type: CredentialType::Basic,
                fields: vec![
                    ("username".into(), CredentialValue::Plain("svc".into())),
                    (
                        "password".into(),
                        CredentialValue::Secret(SecretRef::Env("APPLY_E2E_PW".into())),
                    ),
                ],
                use_caller_identity: false,
                privacy_level: PrivacyLevel::Organizational,
                encrypted_connection: true,
                sso: false,
            },
            fingerprint: CredentialFingerprint::NotAvailable,
        }]
    } else {
        vec![]
    };
    DesiredState {
        workspaces: vec![DesiredWorkspace {
            name: "E2E".into(),
            create: true,
            datasets: vec![DesiredDataset {
                name: "Sales".into(),
                pbix_path: "pbix/sales.pbix".into(),
                pbix_sha256: sha("pbix/sales.pbix"),
                takeover: true,
                keep_report: true,
                parameters: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                credentials,
                refresh: RefreshOnApply::WhenChanged,
                ..DesiredDataset::default()
            }],
            reports: vec![DesiredReport {
                name: "Sales Summary".into(),
                pbix_path: "pbix/sales-summary.pbix".into(),
                pbix_sha256: sha("pbix/sales-summary.pbix"),
                dataset: Some(ItemRef {
                    workspace: "E2E".into(),
                    name: "Sales".into(),
                }),
                project: None,
            }],
            ..DesiredWorkspace::default()
        }],
    }
}

fn make_plan(d: &DesiredState) -> Plan {
    let live = LiveState {
        principal: LivePrincipal {
            identities: vec!["deployer".into()],
        },
        ..LiveState::default()
    };
    plan(
        d,
        &live,
        &Ledger::with_salt("00"),
        &PlanOptions {
            created_at: "2026-01-01T00:00:00Z".into(),
            ..PlanOptions::default()
        },
    )
    .unwrap()
}

async fn run(
    client: &PowerBiClient,
    plan: &Plan,
    secrets: Secrets,
    checkpoint: Arc<Checkpoint>,
) -> (ApplySummary, String) {
    let buf: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let sink: pbideploy::apply::output::Sink = buf.clone();
    let options = ApplyOptions {
        base_dir: pbix_dir(),
        wait_refresh: true,
        ..ApplyOptions::default()
    };
    let s = execute(
        plan,
        client.clone(),
        secrets,
        checkpoint,
        Output::new(sink, false),
        options,
    )
    .await
    .unwrap();
    let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    (s, text)
}

fn secrets_for(plan: &Plan) -> Secrets {
    resolve(plan, &pbix_dir(), &|n: &str| {
        (n == "APPLY_E2E_PW").then(|| "p@ss\"word".to_string())
    })
    .unwrap()
}

fn count(state: &Value, kind: &str, name: &str) -> usize {
    state[kind]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"] == name)
        .count()
}

#[tokio::test]
async fn applies_a_fresh_plan_in_order_and_rerun_converges_without_duplicates() {
    let (emu, client) = setup().await;
    let d = desired(&[("Server", "prod-sql"), ("Database", "SalesProd")], true);
    let p = make_plan(&d);
    assert!(p.has_changes());
    let checkpoint = Arc::new(Checkpoint::in_memory(Ledger::with_salt("00")));
    let (s, text) = run(&client, &p, secrets_for(&p), checkpoint.clone()).await;
    assert!(s.is_success(), "{text}");
    assert!(text.contains("Apply complete:"), "{text}");
    assert!(!text.contains("p@ss"), "secret leaked: {text}");

    let state = emu.snapshot();
    assert_eq!(count(&state, "datasets", "Sales"), 1);
    assert_eq!(count(&state, "reports", "Sales Summary"), 1);
    let ds = state["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Sales")
        .unwrap()
        .clone();
    let report = state["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Sales Summary")
        .unwrap()
        .clone();
    assert_eq!(
        report["datasetId"], ds["id"],
        "thin report bound to the deployed dataset"
    );
    let params = ds["parameters"].to_string();
    assert!(
        params.contains("prod-sql") && params.contains("SalesProd"),
        "{params}"
    );

    // Order on the request log: dataset import before parameters before credentials before
    // refresh; the thin report's import after the dataset's.
    let log: Vec<(String, String)> = emu
        .app()
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let pos = |pred: &dyn Fn(&(String, String)) -> bool| log.iter().position(pred);
    let imports: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, (m, p))| m == "POST" && p.ends_with("/imports"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(imports.len(), 2, "{log:?}");
    let params_at = pos(&|(m, p)| m == "POST" && p.ends_with("Default.UpdateParameters")).unwrap();
    let creds_at = pos(&|(m, p)| m == "PATCH" && p.contains("/gateways/")).unwrap();
    let refresh_at = pos(&|(m, p)| m == "POST" && p.ends_with("/refreshes")).unwrap();
    assert!(
        imports[0] < params_at && params_at < creds_at && creds_at < refresh_at,
        "{log:?}"
    );

    // The ledger has the ids and only a fingerprint of the secret.
    let ledger = checkpoint.snapshot();
    let json = ledger.to_json();
    assert!(json.contains(ds["id"].as_str().unwrap()));
    assert!(!json.contains("p@ss"));

    // A re-run of the same plan (as after a kill before anything was recorded) converges:
    // same ids, no duplicate dataset or report.
    let (s2, text2) = run(&client, &p, secrets_for(&p), checkpoint.clone()).await;
    assert!(s2.is_success(), "{text2}");
    let state2 = emu.snapshot();
    assert_eq!(count(&state2, "datasets", "Sales"), 1);
    assert_eq!(count(&state2, "reports", "Sales Summary"), 1);
    let ds2 = state2["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Sales")
        .unwrap()
        .clone();
    assert_eq!(ds2["id"], ds["id"]);
}

#[tokio::test]
async fn a_failure_skips_dependents_and_reports_the_service_error() {
    let (emu, client) = setup().await;
    let d = desired(&[("NoSuchParameter", "x")], false);
    let p = make_plan(&d);
    let checkpoint = Arc::new(Checkpoint::in_memory(Ledger::with_salt("00")));
    let (s, text) = run(&client, &p, Secrets::default(), checkpoint.clone()).await;
    assert_eq!(s.failed.len(), 1, "{text}");
    assert!(s.failed[0].0.to_string().contains("parameters"), "{text}");
    assert!(s.failed[0].1.code.is_some(), "{text}");
    assert!(text.contains("Apply failed"), "{text}");
    // The refresh depended on the parameters and was skipped; the report (independent of
    // the parameters) was imported.
    assert!(
        s.skipped.iter().any(|a| a.to_string().contains("refresh")),
        "{text}"
    );
    assert_eq!(count(&emu.snapshot(), "reports", "Sales Summary"), 1);
    // The import was checkpointed before the failure.
    let ledger = checkpoint.snapshot();
    assert!(
        ledger
            .entries
            .keys()
            .any(|a| a.to_string().contains("dataset") && !a.to_string().contains("report")),
        "{ledger:?}"
    );
}

#[tokio::test]
async fn missing_secret_is_an_error_naming_the_reference_before_any_change() {
    let d = desired(&[], true);
    let p = make_plan(&d);
    let err = resolve(&p, &pbix_dir(), &|_: &str| None::<String>).unwrap_err();
    assert!(err.to_string().contains("env:APPLY_E2E_PW"), "{err}");
}

/// A ledger whose lock is already lost (a blob lease whose renewal failed).
struct LostLockStore;

struct LostLock;

impl pbideploy::ledger::store::HeldLock for LostLock {
    fn check(&self) -> Result<(), pbideploy::ledger::LedgerError> {
        Err(pbideploy::ledger::LedgerError::LockLost {
            ledger: "test".into(),
            reason: "renewing the lease failed".into(),
        })
    }
}

impl pbideploy::ledger::store::LedgerStore for LostLockStore {
    fn describe(&self) -> String {
        "test".into()
    }
    fn load(&self) -> Result<Option<Ledger>, pbideploy::ledger::LedgerError> {
        Ok(None)
    }
    fn lock(&self) -> Result<pbideploy::ledger::store::LedgerLock, pbideploy::ledger::LedgerError> {
        Ok(pbideploy::ledger::store::LedgerLock::new(LostLock))
    }
    fn save(
        &self,
        _: &Ledger,
        _: &pbideploy::ledger::store::LedgerLock,
    ) -> Result<(), pbideploy::ledger::LedgerError> {
        panic!("nothing may be written once the lock is lost")
    }
}

#[tokio::test]
async fn a_lost_ledger_lock_starts_no_step() {
    use pbideploy::ledger::store::LedgerStore as _;
    let (emu, client) = setup().await;
    let d = desired(&[("Server", "prod-sql"), ("Database", "SalesProd")], true);
    let p = make_plan(&d);
    let lock = LostLockStore.lock().unwrap();
    let checkpoint = Arc::new(Checkpoint::locked(
        Box::new(LostLockStore),
        lock,
        Ledger::with_salt("00"),
    ));
    let (s, text) = run(&client, &p, secrets_for(&p), checkpoint).await;
    assert!(s.done.is_empty(), "{text}");
    assert!(text.contains("not started: lost the lock"), "{text}");
    assert_eq!(count(&emu.snapshot(), "datasets", "Sales"), 0, "{text}");
}
