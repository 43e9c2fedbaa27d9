//! Plans built in code for the renderer tests: a rich one touching every change kind, action,
//! value marker and drift kind (with hostile names), an empty one and a huge one.
#![allow(dead_code)]

use std::collections::BTreeMap;

use pbideploy::domain::secret_ref::SecretRef;
use pbideploy::plan::model::*;
use serde_json::json;

fn item(ws: &str, name: &str) -> ItemRef {
    ItemRef {
        workspace: ws.to_string(),
        name: name.to_string(),
    }
}

fn change(
    address: Address,
    kind: ChangeKind,
    action: Action,
    attrs: Vec<AttrDiff>,
    reason: &str,
    operation: Operation,
) -> Change {
    Change {
        address,
        kind,
        action,
        attrs,
        reason: reason.to_string(),
        depends_on: Vec::new(),
        operation,
    }
}

fn credentials() -> CredentialSpec {
    CredentialSpec {
        credential_type: CredentialType::Basic,
        fields: vec![
            (
                "username".to_string(),
                CredentialValue::Plain("svc_sales".to_string()),
            ),
            (
                "password".to_string(),
                CredentialValue::Secret(SecretRef::Env("SQL_PASSWORD".to_string())),
            ),
        ],
        use_caller_identity: false,
        privacy_level: PrivacyLevel::Organizational,
        encrypted_connection: true,
        sso: false,
    }
}

fn sql(server: &str) -> DatasourceRef {
    DatasourceRef {
        datasource_type: "Sql".to_string(),
        connection_details: BTreeMap::from([
            ("server".to_string(), server.to_string()),
            ("database".to_string(), "sales".to_string()),
        ]),
    }
}

pub fn base(changes: Vec<Change>, drift: Vec<Drift>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        tool_version: "0.1.0".to_string(),
        created_at: "2026-11-28T04:00:00Z".to_string(),
        manifest: FileFingerprint {
            path: "pbideploy.yaml".to_string(),
            sha256: "ab".repeat(32),
        },
        environment: Some("prod".to_string()),
        live_fingerprint: "cd".repeat(32),
        ledger_fingerprint: None,
        pbix: vec![FileFingerprint {
            path: "reports/sales.pbix".to_string(),
            sha256: "ef".repeat(32),
        }],
        refresh_only: false,
        targets: Vec::new(),
        changes,
        drift,
        content: Vec::new(),
    }
}

pub fn no_changes() -> Plan {
    base(Vec::new(), Vec::new())
}

const OLD_CONN: &str = "Data Source=tcp:srv-prod.database.windows.net,1433;Initial Catalog=sales;Encrypt=True;Connect Timeout=30;Application Name=PowerBI";
const NEW_CONN: &str = "Data Source=tcp:srv-prod-2.database.windows.net,1433;Initial Catalog=sales;Encrypt=True;Connect Timeout=60;Application Name=PowerBI";

/// Every ChangeKind and Action, every AttrValue marker, every DriftKind, hostile names.
pub fn rich() -> Plan {
    let sales = Address::workspace("Sales");
    let model = sales.dataset("Sales Model");
    let hostile_ws = Address::workspace("Evil\x1b[2J\r::set-output name=x::y");
    let hostile_ds = hostile_ws.dataset("<details>|x|\n::add-mask::secret");
    let legacy = Address::workspace("Legacy");
    let gateway = Address::gateway("GW-Prod");
    let mut changes = vec![
        change(
            sales.clone(),
            ChangeKind::Workspace,
            Action::Create,
            vec![
                AttrDiff::values("name", None, json!("Sales")),
                AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
            ],
            "in the manifest, not in the service",
            Operation::CreateWorkspace {
                workspace: "Sales".into(),
            },
        ),
        change(
            sales.child("capacity"),
            ChangeKind::Capacity,
            Action::Update,
            vec![AttrDiff::values("capacity", Some(json!("A1")), json!("P1"))],
            "capacity differs",
            Operation::AssignCapacity {
                workspace: "Sales".into(),
                capacity_id: Some("P1".into()),
            },
        ),
        change(
            sales.keyed("access", "ana@contoso.com"),
            ChangeKind::Access,
            Action::Create,
            vec![AttrDiff::values("role", None, json!("Member"))],
            "principal named in the manifest",
            Operation::SetAccess {
                workspace: "Sales".into(),
                principal: Principal {
                    identifier: "ana@contoso.com".into(),
                    principal_type: PrincipalType::User,
                },
                role: WorkspaceRole::Member,
                existing: false,
            },
        ),
        change(
            model.clone(),
            ChangeKind::Dataset,
            Action::Update,
            vec![
                AttrDiff::values("pbix_sha256", Some(json!("1111")), json!("2222"))
                    .with_note("forces re-import"),
                // What the PBIX gives the re-imported dataset (#14).
                AttrDiff::values(
                    "parameters",
                    None,
                    json!({"Database": "Sales", "Server": "sql-prod"}),
                ),
                AttrDiff::values(
                    "datasources",
                    None,
                    json!(["Sql database=Sales;server=sql-prod"]),
                ),
                AttrDiff::unchanged("name", json!("Sales Model")),
                AttrDiff::unchanged("storage_mode", json!("Import")),
                AttrDiff::new(
                    "id",
                    Some(AttrValue::string("6f1c")),
                    Some(AttrValue::string("6f1c")),
                ),
            ],
            "PBIX content changed since the last import",
            Operation::Import(ImportSpec {
                target: item("Sales", "Sales Model"),
                pbix_path: "reports/sales.pbix".into(),
                pbix_sha256: "2222".into(),
                overwrite: true,
                skip_report: true,
                bind_to: None,
            }),
        ),
        change(
            model.child("takeover"),
            ChangeKind::Takeover,
            Action::Update,
            vec![AttrDiff::values(
                "owner",
                Some(json!("bob@contoso.com")),
                json!("pbideploy-sp"),
            )],
            "the dataset is owned by someone else",
            Operation::TakeOver {
                dataset: item("Sales", "Sales Model"),
            },
        ),
        change(
            model.child("parameters"),
            ChangeKind::Parameters,
            Action::Update,
            vec![
                AttrDiff::values(
                    "parameter.ServerName",
                    Some(json!("srv-prod")),
                    json!("srv-prod-2"),
                ),
                AttrDiff::unchanged("parameter.Database", json!("sales")),
            ],
            "parameter values differ",
            Operation::UpdateParameters {
                dataset: item("Sales", "Sales Model"),
                values: BTreeMap::from([("ServerName".into(), "srv-prod-2".into())]),
            },
        ),
        change(
            model.child("datasources"),
            ChangeKind::Datasources,
            Action::Update,
            vec![AttrDiff::values(
                "sql.server",
                Some(json!("srv-prod")),
                json!("srv-prod-2"),
            )],
            "data source points elsewhere",
            Operation::UpdateDatasources {
                dataset: item("Sales", "Sales Model"),
                updates: vec![DatasourceUpdate {
                    matches: sql("srv-prod"),
                    connection_details: BTreeMap::from([("server".into(), "srv-prod-2".into())]),
                    selector: None,
                }],
            },
        ),
        change(
            model.child("connections"),
            ChangeKind::Connections,
            Action::Update,
            vec![AttrDiff::values(
                "connection_string",
                Some(json!(OLD_CONN)),
                json!(NEW_CONN),
            )],
            "connection string differs",
            Operation::SetAllConnections {
                dataset: item("Sales", "Sales Model"),
                connection_string: NEW_CONN.into(),
            },
        ),
        change(
            gateway.keyed("datasource", "sales-sql"),
            ChangeKind::GatewayDatasource,
            Action::Create,
            vec![
                AttrDiff::values("datasource_type", None, json!("Sql")),
                AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
                AttrDiff::new("credentials", None, Some(AttrValue::Sensitive)).sensitive(),
            ],
            "the manifest asks for a gateway data source",
            Operation::CreateGatewayDatasource {
                gateway: GatewayRef::Name("GW-Prod".into()),
                datasource: sql("srv-prod-2"),
                datasource_name: "sales-sql".into(),
                credentials: credentials(),
            },
        ),
        change(
            model.child("gateway_binding"),
            ChangeKind::GatewayBinding,
            Action::Update,
            vec![AttrDiff::new(
                "gateway",
                Some(AttrValue::Value(json!(null))),
                Some(AttrValue::string("GW-Prod")),
            )],
            "not bound to the gateway",
            Operation::BindToGateway {
                dataset: item("Sales", "Sales Model"),
                gateway: GatewayRef::Name("GW-Prod".into()),
                create_missing: Vec::new(),
            },
        ),
        change(
            model.keyed("credentials", "Sql srv-prod-2/sales"),
            ChangeKind::Credentials,
            Action::Update,
            vec![
                AttrDiff::values("credential_type", Some(json!("Basic")), json!("Basic")),
                AttrDiff::new(
                    "password",
                    Some(AttrValue::NotChecked),
                    Some(AttrValue::Sensitive),
                )
                .sensitive(),
            ],
            "secret not available in this build: not checked, will be set",
            Operation::SetCredentials {
                dataset: item("Sales", "Sales Model"),
                datasource: sql("srv-prod-2"),
                credentials: credentials(),
            },
        ),
        change(
            model.child("refresh"),
            ChangeKind::Refresh,
            Action::Read,
            Vec::new(),
            "refresh on apply",
            Operation::Refresh {
                dataset: item("Sales", "Sales Model"),
            },
        ),
        change(
            model.child("refresh_schedule"),
            ChangeKind::RefreshSchedule,
            Action::Update,
            vec![
                AttrDiff::values("times", Some(json!(["06:00"])), json!(["06:00", "18:00"])),
                AttrDiff::unchanged("time_zone", json!("UTC")),
            ],
            "schedule differs",
            Operation::SetRefreshSchedule {
                dataset: item("Sales", "Sales Model"),
                schedule: RefreshSchedule {
                    enabled: true,
                    days: vec!["Monday".into()],
                    times: vec!["06:00".into(), "18:00".into()],
                    time_zone: "UTC".into(),
                    notify_option: "NoNotification".into(),
                    frequency: None,
                },
            },
        ),
        change(
            sales.report("Overview").child("rebind"),
            ChangeKind::Rebind,
            Action::Update,
            vec![AttrDiff::values(
                "dataset",
                Some(json!("Old Model")),
                json!("Sales Model"),
            )],
            "report bound to another dataset",
            Operation::Rebind {
                report: item("Sales", "Overview"),
                dataset: item("Sales", "Sales Model"),
            },
        ),
        change(
            sales.report("Overview"),
            ChangeKind::Report,
            Action::Replace,
            vec![
                AttrDiff::values(
                    "datasource_type",
                    Some(json!("Sql")),
                    json!("AnalysisServices"),
                )
                .with_note("forces replacement"),
            ],
            "the report's connection type cannot change in place",
            Operation::Import(ImportSpec {
                target: item("Sales", "Overview"),
                pbix_path: "reports/overview.pbix".into(),
                pbix_sha256: "3333".into(),
                overwrite: false,
                skip_report: false,
                bind_to: Some(item("Sales", "Sales Model")),
            }),
        ),
        change(
            legacy.dataset("Old Model"),
            ChangeKind::Dataset,
            Action::Delete,
            vec![AttrDiff::new(
                "name",
                Some(AttrValue::string("Old Model")),
                None,
            )],
            "managed by pbideploy, no longer in the manifest (prune: true)",
            Operation::DeleteDataset {
                dataset: item("Legacy", "Old Model"),
            },
        ),
        change(
            legacy.clone(),
            ChangeKind::Workspace,
            Action::NoOp,
            vec![AttrDiff::unchanged("name", json!("Legacy"))],
            "matches",
            Operation::CreateWorkspace {
                workspace: "Legacy".into(),
            },
        ),
        change(
            hostile_ds.clone(),
            ChangeKind::Dataset,
            Action::Create,
            vec![AttrDiff::values(
                "description",
                None,
                json!("\x1b]0;pwned\x07\n::error::injected"),
            )],
            "hostile\r\n::warning::name",
            Operation::Import(ImportSpec {
                target: item("Evil", "x"),
                pbix_path: "reports/evil.pbix".into(),
                pbix_sha256: "4444".into(),
                overwrite: false,
                skip_report: false,
                bind_to: None,
            }),
        ),
    ];
    changes[3].depends_on = vec![sales.clone()];
    let drift = rich_drift(&model, &legacy, &hostile_ds);
    base(changes, drift)
}

fn rich_drift(model: &Address, legacy: &Address, hostile: &Address) -> Vec<Drift> {
    let kinds = [
        (
            DriftKind::DeletedInService,
            model.clone(),
            "the ledger records it but the service has no such dataset",
        ),
        (
            DriftKind::RepublishedOutside,
            model.clone(),
            "import id differs from the ledger: re-published by someone else",
        ),
        (
            DriftKind::NotTracked,
            model.clone(),
            "no ledger entry; content cannot be compared",
        ),
        (
            DriftKind::CredentialFailing,
            model.child("credentials"),
            "credential status is Failed in the service",
        ),
        (
            DriftKind::CredentialNotChecked,
            model.child("credentials"),
            "secret SQL_PASSWORD not available here",
        ),
        (
            DriftKind::OwnerChanged,
            model.clone(),
            "owner is now bob@contoso.com",
        ),
        (
            DriftKind::SettingsChangedOutside,
            model.child("parameters"),
            "ServerName changed in the service",
        ),
        (
            DriftKind::ReboundOutside,
            legacy.report("Overview"),
            "bound to Old Model",
        ),
        (
            DriftKind::Duplicate,
            legacy.dataset("Twin"),
            "two datasets named Twin",
        ),
        (
            DriftKind::Orphaned,
            legacy.dataset("Old Model"),
            "no longer in the manifest",
        ),
        (
            DriftKind::Note,
            hostile.clone(),
            "\x1b[31mred\x1b[0m ::set-output name=a::b",
        ),
    ];
    kinds
        .into_iter()
        .map(|(kind, address, message)| Drift {
            address,
            kind,
            message: message.to_string(),
            attrs: if kind == DriftKind::SettingsChangedOutside {
                vec![AttrDiff::values(
                    "parameter.ServerName",
                    Some(json!("srv-prod")),
                    json!("srv-hacked"),
                )]
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// `n` dataset updates over 40 workspaces, each with a long connection-string diff.
pub fn huge(n: usize) -> Plan {
    let changes = (0..n)
        .map(|i| {
            let ws = format!("Workspace {:02}", i % 40);
            let addr = Address::workspace(&ws)
                .dataset(&format!("Model {i:04}"))
                .child("connections");
            change(
                addr,
                ChangeKind::Connections,
                if i % 100 == 0 {
                    Action::Delete
                } else {
                    Action::Update
                },
                vec![AttrDiff::values(
                    "connection_string",
                    Some(json!(OLD_CONN)),
                    json!(NEW_CONN),
                )],
                "connection string differs",
                Operation::SetAllConnections {
                    dataset: item(&ws, "m"),
                    connection_string: NEW_CONN.into(),
                },
            )
        })
        .collect();
    base(changes, Vec::new())
}
