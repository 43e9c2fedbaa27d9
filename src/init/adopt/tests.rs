use std::collections::BTreeMap;

use super::*;
use crate::domain::desired::{DesiredCredential, DesiredReport, DesiredWorkspace};
use crate::domain::operation::{
    CredentialSpec, CredentialType, CredentialValue, DatasourceRef, ItemRef, PrivacyLevel,
};
use crate::domain::secret_ref::SecretRef;
use crate::live::model::{CredentialStatus, LiveDatasource, LiveImport, LiveReport};

fn sql(server: &str) -> DatasourceRef {
    DatasourceRef {
        datasource_type: "Sql".into(),
        connection_details: BTreeMap::from([("server".into(), server.into())]),
    }
}

fn credential(server: &str, fingerprint: CredentialFingerprint) -> DesiredCredential {
    DesiredCredential {
        matches: sql(server),
        spec: CredentialSpec {
            credential_type: CredentialType::Basic,
            fields: vec![
                ("username".into(), CredentialValue::Plain("svc".into())),
                (
                    "password".into(),
                    CredentialValue::Secret(SecretRef::Env("PW".into())),
                ),
            ],
            use_caller_identity: false,
            privacy_level: PrivacyLevel::Organizational,
            encrypted_connection: true,
            sso: false,
        },
        fingerprint,
    }
}

fn desired() -> DesiredState {
    DesiredState {
        workspaces: vec![DesiredWorkspace {
            name: "Sales".into(),
            datasets: vec![DesiredDataset {
                name: "Model".into(),
                pbix_sha256: "ab".repeat(32),
                parameters: BTreeMap::from([
                    ("Server".into(), "sql01".into()),
                    ("Db".into(), "Prod".into()),
                ]),
                credentials: vec![
                    credential("sql01", CredentialFingerprint::Known("fp1".into())),
                    credential("sql02", CredentialFingerprint::NotAvailable),
                ],
                ..DesiredDataset::default()
            }],
            reports: vec![DesiredReport {
                name: "Thin".into(),
                pbix_path: "pbix/thin.pbix".into(),
                pbix_sha256: "cd".repeat(32),
                dataset: Some(ItemRef {
                    workspace: "Sales".into(),
                    name: "Model".into(),
                }),
                project: None,
            }],
            ..DesiredWorkspace::default()
        }],
    }
}

fn source(server: &str) -> LiveDatasource {
    LiveDatasource {
        datasource: sql(server),
        gateway_id: Some("g".into()),
        datasource_id: Some(server.into()),
        on_premises_gateway: false,
        credential_status: CredentialStatus::Ok,
    }
}

fn live() -> LiveState {
    let import = |id: &str, updated: &str, ds: &[&str], rs: &[&str]| LiveImport {
        id: id.into(),
        updated: Some(updated.into()),
        dataset_ids: ds.iter().map(|s| s.to_string()).collect(),
        report_ids: rs.iter().map(|s| s.to_string()).collect(),
        ..LiveImport::default()
    };
    LiveState {
        workspaces: vec![LiveWorkspace {
            id: "w1".into(),
            name: "sales".into(),
            datasets: vec![LiveDataset {
                id: "d1".into(),
                name: "Model".into(),
                parameters: BTreeMap::from([
                    ("Server".into(), "sql01".into()),
                    ("Db".into(), "Test".into()),
                ]),
                datasources: vec![source("sql01"), source("sql02")],
                ..LiveDataset::default()
            }],
            reports: vec![
                LiveReport {
                    id: "r1".into(),
                    name: "Model".into(),
                    dataset_id: Some("d1".into()),
                    dataset_workspace_id: Some("w1".into()),
                },
                LiveReport {
                    id: "r2".into(),
                    name: "Thin".into(),
                    dataset_id: Some("d1".into()),
                    dataset_workspace_id: Some("w1".into()),
                },
            ],
            imports: vec![
                import("i1", "2026-01-01T00:00:00Z", &["d1"], &["r1"]),
                import("i2", "2026-02-01T00:00:00Z", &["d1"], &["r1"]),
                import("i3", "2026-01-15T00:00:00Z", &[], &["r2"]),
            ],
            ..LiveWorkspace::default()
        }],
        ..LiveState::default()
    }
}

#[test]
fn adopt_records_ids_hashes_and_only_what_matches() {
    let ledger = Ledger::with_salt("00");
    let a = adopt(&desired(), &live(), &ledger, &[], "2026-03-01T00:00:00Z").unwrap();
    let ws = Address::workspace("Sales");
    let get = |addr: &Address| {
        a.entries
            .iter()
            .find(|(k, _)| k.same_item(addr))
            .map(|(_, e)| e.clone())
            .unwrap()
    };
    let LedgerEntry::Workspace(w) = get(&ws) else {
        panic!()
    };
    assert_eq!((w.id.as_str(), w.created), ("w1", false));
    let LedgerEntry::Dataset(d) = get(&ws.dataset("Model")) else {
        panic!()
    };
    assert_eq!(d.dataset_id, "d1");
    assert_eq!(d.report_id.as_deref(), Some("r1"));
    assert_eq!(d.import_id.as_deref(), Some("i2"), "the newest import");
    assert_eq!(d.imported_at.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(d.pbix_sha256, "ab".repeat(32));
    assert_eq!(
        d.parameters,
        BTreeMap::from([("Server".to_string(), "sql01".to_string())])
    );
    assert_eq!(d.credentials.len(), 1);
    let c = &d.credentials[&sql("sql01").to_string()];
    assert_eq!(c.fingerprint, "fp1");
    assert_eq!(c.references, vec!["env:PW".to_string()]);
    assert!(c.settings.is_some());
    let LedgerEntry::Report(r) = get(&ws.report("Thin")) else {
        panic!()
    };
    assert_eq!(r.report_id, "r2");
    assert_eq!(r.import_id.as_deref(), Some("i3"));
    assert_eq!(r.dataset_id.as_deref(), Some("d1"));
    assert!(
        a.left.iter().any(|l| l.contains("parameter Db")),
        "{:?}",
        a.left
    );
    assert!(a.left.iter().any(|l| l.contains("env:PW")), "{:?}", a.left);
    assert_eq!(a.adopted.len(), 2);
}

#[test]
fn failing_credentials_are_not_vouched_for() {
    let mut live = live();
    live.workspaces[0].datasets[0].datasources[0].credential_status =
        CredentialStatus::Failing("DM_Bad".into());
    let a = adopt(&desired(), &live, &Ledger::with_salt("00"), &[], "t").unwrap();
    let d = a
        .entries
        .iter()
        .find_map(|(_, e)| match e {
            LedgerEntry::Dataset(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert!(d.credentials.is_empty());
    assert!(a.left.iter().any(|l| l.contains("DM_Bad")), "{:?}", a.left);
}

#[test]
fn missing_items_and_unknown_addresses_refuse_everything() {
    let mut live = live();
    live.workspaces[0].reports.retain(|r| r.name != "Thin");
    let err = adopt(&desired(), &live, &Ledger::with_salt("00"), &[], "t").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
    assert!(
        err.problems[0].contains("report[\"Thin\"] does not exist"),
        "{:?}",
        err.problems
    );

    // Selecting only the dataset adopts it alone.
    let only = Address::workspace("sales").dataset("model");
    let a = adopt(&desired(), &live, &Ledger::with_salt("00"), &[only], "t").unwrap();
    assert_eq!(a.adopted.len(), 1);

    let nothing = Address::workspace("Other");
    let err = adopt(&desired(), &live, &Ledger::with_salt("00"), &[nothing], "t").unwrap_err();
    assert!(
        err.problems[0].contains("names no dataset or report"),
        "{:?}",
        err.problems
    );

    let empty = LiveState::default();
    let err = adopt(&desired(), &empty, &Ledger::with_salt("00"), &[], "t").unwrap_err();
    assert!(
        err.problems[0].contains("does not exist in the service"),
        "{:?}",
        err.problems
    );
}

#[test]
fn the_owner_adopt_found_is_not_drift_but_a_later_one_is() {
    use crate::plan::model::DriftKind;
    use crate::plan::{PlanOptions, plan};
    let mut live = live();
    live.workspaces[0].datasets[0].configured_by = Some("publisher@contoso.com".into());
    let mut ledger = Ledger::with_salt("00");
    let a = adopt(&desired(), &live, &ledger, &[], "t").unwrap();
    for (addr, entry) in a.entries {
        ledger.set(addr, entry);
    }
    let owner_drift = |live: &LiveState| {
        plan(&desired(), live, &ledger, &PlanOptions::default())
            .unwrap()
            .drift
            .iter()
            .any(|d| d.kind == DriftKind::OwnerChanged)
    };
    assert!(!owner_drift(&live), "adopt recorded this owner");
    live.workspaces[0].datasets[0].configured_by = Some("PUBLISHER@contoso.com".into());
    assert!(!owner_drift(&live), "owners compare case-insensitively");
    live.workspaces[0].datasets[0].configured_by = Some("someone-else@contoso.com".into());
    assert!(owner_drift(&live), "a new owner since adopt is drift");
}
