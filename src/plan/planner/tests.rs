//! Planner unit tests: every change kind and every drift kind, from values built in code.

use std::collections::BTreeMap;

use super::*;
use crate::domain::desired::*;
use crate::domain::secret_ref::SecretRef;
use crate::ledger::{CredentialEntry, DatasetEntry, LedgerEntry, ReportEntry, fingerprint};
use crate::live::model::*;
use crate::plan::model::*;

const SALT: &str = "5a17";

fn src(server: &str) -> DatasourceRef {
    DatasourceRef {
        datasource_type: "Sql".into(),
        connection_details: BTreeMap::from([
            ("server".to_string(), server.to_string()),
            ("database".to_string(), "sales".to_string()),
        ]),
    }
}

fn cred(fp: CredentialFingerprint) -> DesiredCredential {
    DesiredCredential {
        matches: src("prod-sql"),
        spec: CredentialSpec {
            credential_type: CredentialType::Basic,
            fields: vec![
                ("username".into(), CredentialValue::Plain("deploy".into())),
                (
                    "password".into(),
                    CredentialValue::Secret(SecretRef::Env("SQL_PW".into())),
                ),
            ],
            use_caller_identity: false,
            privacy_level: PrivacyLevel::Organizational,
            encrypted_connection: true,
            sso: false,
        },
        fingerprint: fp,
    }
}

fn schedule() -> RefreshSchedule {
    RefreshSchedule {
        enabled: true,
        days: vec!["Monday".into()],
        times: vec!["07:00".into()],
        time_zone: "UTC".into(),
        notify_option: "NoNotification".into(),
        frequency: None,
    }
}

fn user(id: &str) -> Principal {
    Principal {
        identifier: id.into(),
        principal_type: PrincipalType::User,
    }
}

/// A rich manifest: workspace with access, a dataset with every setting, a thin report.
fn desired() -> DesiredState {
    DesiredState {
        workspaces: vec![DesiredWorkspace {
            name: "Sales".into(),
            create: true,
            capacity: None,
            access: vec![DesiredAccess {
                principal: user("ann@x.com"),
                role: Some(WorkspaceRole::Member),
            }],
            prune: false,
            datasets: vec![DesiredDataset {
                name: "Model".into(),
                pbix_path: "model.pbix".into(),
                pbix_sha256: "h1".into(),
                project: None,
                takeover: true,
                keep_report: false,
                parameters: BTreeMap::from([("Env".to_string(), "prod".to_string())]),
                datasources: vec![DatasourceRule {
                    matches: src("dev-sql"),
                    connection_details: src("prod-sql").connection_details,
                }],
                connection_string: None,
                gateway: Some(DesiredGateway {
                    gateway: GatewayRef::Name("GW".into()),
                    create_datasources: true,
                }),
                credentials: vec![cred(CredentialFingerprint::Known(fingerprint(
                    SALT, b"pw1",
                )))],
                refresh: RefreshOnApply::WhenChanged,
                schedule: Some(schedule()),
                file: None,
            }],
            reports: vec![DesiredReport {
                name: "Overview".into(),
                pbix_path: "overview.pbix".into(),
                pbix_sha256: "r1".into(),
                dataset: Some(ItemRef {
                    workspace: "Sales".into(),
                    name: "Model".into(),
                }),
                project: None,
            }],
        }],
    }
}

fn gateway(with_source: bool) -> LiveGateway {
    LiveGateway {
        id: "gw1".into(),
        name: "GW".into(),
        public_key_modulus: "AA".into(),
        public_key_exponent: "AQAB".into(),
        datasources: if with_source {
            vec![LiveGatewayDatasource {
                id: "gds1".into(),
                name: "prod".into(),
                datasource: src("prod-sql"),
                credential_type: Some("Basic".into()),
            }]
        } else {
            vec![]
        },
    }
}

fn empty_tenant() -> LiveState {
    LiveState {
        principal: LivePrincipal {
            identities: vec!["sp-app".into()],
        },
        workspaces: vec![],
        gateways: vec![gateway(false)],
    }
}

/// A tenant where the last apply of `desired()` fully succeeded.
fn converged() -> (LiveState, Ledger) {
    let mut live = empty_tenant();
    live.gateways = vec![gateway(true)];
    live.workspaces.push(LiveWorkspace {
        id: "w1".into(),
        name: "Sales".into(),
        capacity_id: None,
        users: vec![LiveUser {
            principal: user("ann@x.com"),
            role: WorkspaceRole::Member,
        }],
        datasets: vec![LiveDataset {
            id: "d1".into(),
            name: "Model".into(),
            configured_by: Some("sp-app".into()),
            created_date: None,
            parameters: BTreeMap::from([("Env".to_string(), "prod".to_string())]),
            datasources: vec![LiveDatasource {
                datasource: src("prod-sql"),
                gateway_id: Some("gw1".into()),
                datasource_id: Some("gds1".into()),
                on_premises_gateway: true,
                credential_status: CredentialStatus::Ok,
            }],
            refresh_schedule: Some(schedule()),
        }],
        reports: vec![LiveReport {
            id: "r1".into(),
            name: "Overview".into(),
            dataset_id: Some("d1".into()),
            dataset_workspace_id: Some("w1".into()),
        }],
        imports: vec![LiveImport {
            id: "i1".into(),
            name: "Model".into(),
            state: "Succeeded".into(),
            created: Some("2026-01-01T00:00:00Z".into()),
            updated: Some("2026-01-01T00:00:00Z".into()),
            dataset_ids: vec!["d1".into()],
            report_ids: vec![],
        }],
    });
    let mut ledger = Ledger::with_salt(SALT);
    let ws = Address::workspace("Sales");
    ledger.set(
        ws.dataset("Model"),
        LedgerEntry::Dataset(DatasetEntry {
            dataset_id: "d1".into(),
            pbix_sha256: "h1".into(),
            import_id: Some("i1".into()),
            imported_at: Some("2026-01-01T00:00:00Z".into()),
            parameters: BTreeMap::from([("Env".to_string(), "prod".to_string())]),
            credentials: BTreeMap::from([(
                src("prod-sql").to_string(),
                CredentialEntry {
                    fingerprint: fingerprint(SALT, b"pw1"),
                    references: vec!["env:SQL_PW".into()],
                    applied_at: None,
                    settings: None,
                },
            )]),
            ..Default::default()
        }),
    );
    ledger.set(
        ws.report("Overview"),
        LedgerEntry::Report(ReportEntry {
            report_id: "r1".into(),
            pbix_sha256: "r1".into(),
            dataset_id: Some("d1".into()),
            ..Default::default()
        }),
    );
    (live, ledger)
}

fn run(d: &DesiredState, live: &LiveState, ledger: &Ledger) -> Plan {
    plan(d, live, ledger, &PlanOptions::default()).unwrap()
}

fn kinds(p: &Plan) -> Vec<(ChangeKind, Action)> {
    p.changes.iter().map(|c| (c.kind, c.action)).collect()
}

fn has_drift(p: &Plan, kind: DriftKind) -> bool {
    p.drift.iter().any(|d| d.kind == kind)
}

fn position(p: &Plan, kind: ChangeKind) -> usize {
    p.changes
        .iter()
        .position(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {:?}", kinds(p)))
}

fn dataset_mut(live: &mut LiveState) -> &mut LiveDataset {
    &mut live.workspaces[0].datasets[0]
}

#[test]
fn empty_tenant_gets_a_full_plan_in_dependency_order() {
    let p = run(&desired(), &empty_tenant(), &Ledger::with_salt(SALT));
    use ChangeKind as K;
    for k in [
        K::Workspace,
        K::Access,
        K::Dataset,
        K::Parameters,
        K::Datasources,
        K::GatewayDatasource,
        K::GatewayBinding,
        K::Credentials,
        K::RefreshSchedule,
        K::Refresh,
        K::Report,
    ] {
        position(&p, k);
    }
    assert!(position(&p, K::Workspace) < position(&p, K::Dataset));
    assert!(position(&p, K::Access) < position(&p, K::Dataset));
    assert!(position(&p, K::Dataset) < position(&p, K::Parameters));
    assert!(position(&p, K::Parameters) < position(&p, K::GatewayBinding));
    assert!(position(&p, K::Datasources) < position(&p, K::GatewayBinding));
    assert!(position(&p, K::GatewayDatasource) < position(&p, K::GatewayBinding));
    let created = &p.changes[position(&p, K::GatewayDatasource)];
    assert_eq!(
        created.depends_on,
        [Address::workspace("Sales").dataset("Model")],
        "a gateway data source is created only once its dataset is imported"
    );
    assert!(position(&p, K::GatewayBinding) < position(&p, K::Credentials));
    assert!(position(&p, K::Credentials) < position(&p, K::Refresh));
    assert!(position(&p, K::Dataset) < position(&p, K::Report));
    // The report's import binds it to its dataset: no separate rebind repeats that.
    assert!(
        p.changes.iter().all(|c| c.kind != K::Rebind),
        "{:?}",
        kinds(&p)
    );
    assert!(position(&p, K::Dataset) < position(&p, K::Report));
    let ds = p
        .change(&Address::workspace("Sales").dataset("Model"))
        .unwrap();
    assert_eq!(ds.action, Action::Create);
    assert!(
        ds.attrs
            .iter()
            .any(|a| a.name == "id" && a.after == Some(AttrValue::KnownAfterApply))
    );
    // Every change's dependencies come earlier: the order is a topological one.
    for (i, c) in p.changes.iter().enumerate() {
        for d in &c.depends_on {
            let j = p.changes.iter().position(|x| &x.address == d).unwrap();
            assert!(j < i, "{} before {}", d, c.address);
        }
    }
    let s = p.summary();
    assert_eq!(s.add, 5, "{:?}", kinds(&p)); // workspace, access, dataset, gateway ds, report
    assert_eq!(s.delete, 0);
    assert!(p.has_changes());
    assert_eq!(p.pbix.len(), 2);
}

#[test]
fn converged_tenant_has_no_changes_and_no_drift() {
    let (live, ledger) = converged();
    let p = run(&desired(), &live, &ledger);
    assert!(p.changes.is_empty(), "{:?}", kinds(&p));
    assert!(p.drift.is_empty(), "{:?}", p.drift);
    assert!(p.summary().is_empty());
    assert_eq!(p.live_fingerprint.len(), 64);
}

#[test]
fn missing_workspace_without_create_is_an_error() {
    let mut d = desired();
    d.workspaces[0].create = false;
    let err = plan(
        &d,
        &empty_tenant(),
        &Ledger::with_salt(SALT),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("create: true"), "{err}");
}

#[test]
fn capacity_and_access_changes() {
    let (mut live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].capacity = Some(Some("cap-1".into()));
    d.workspaces[0].access = vec![
        DesiredAccess {
            principal: user("ann@x.com"),
            role: Some(WorkspaceRole::Admin),
        },
        DesiredAccess {
            principal: user("bob@x.com"),
            role: None,
        },
        DesiredAccess {
            principal: user("cy@x.com"),
            role: Some(WorkspaceRole::Viewer),
        },
    ];
    live.workspaces[0].users.push(LiveUser {
        principal: user("bob@x.com"),
        role: WorkspaceRole::Viewer,
    });
    live.workspaces[0].users.push(LiveUser {
        principal: user("zed@x.com"),
        role: WorkspaceRole::Admin,
    });
    let p = run(&d, &live, &ledger);
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Capacity, Action::Update),
            (ChangeKind::Access, Action::Update),
            (ChangeKind::Access, Action::Delete),
            (ChangeKind::Access, Action::Create),
        ]
    );
    // zed is not named by the manifest, so it is not managed.
    assert!(
        !p.changes
            .iter()
            .any(|c| c.address.to_string().contains("zed"))
    );
}

#[test]
fn content_changed_reimports_and_replans_the_dataset_settings() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0].pbix_sha256 = "h2".into();
    let p = run(&d, &live, &ledger);
    let ds = p
        .change(&Address::workspace("Sales").dataset("Model"))
        .unwrap();
    assert_eq!(ds.action, Action::Update);
    assert_eq!(ds.reason, "PBIX content changed");
    let hash = ds.attrs.iter().find(|a| a.name == "pbix_sha256").unwrap();
    assert_eq!(hash.note.as_deref(), Some("forces re-import"));
    let Operation::Import(spec) = &ds.operation else {
        panic!()
    };
    assert!(spec.overwrite);
    for k in [
        ChangeKind::Parameters,
        ChangeKind::Datasources,
        ChangeKind::GatewayBinding,
        ChangeKind::Credentials,
        ChangeKind::Refresh,
    ] {
        position(&p, k);
    }
    assert!(!p.changes.iter().any(|c| c.kind == ChangeKind::Takeover));
    // The report is untouched.
    assert!(!p.changes.iter().any(|c| c.kind == ChangeKind::Report));
}

#[test]
fn deleted_in_service_is_drift_and_imported_again() {
    let (mut live, ledger) = converged();
    live.workspaces[0].reports.clear();
    let p = run(&desired(), &live, &ledger);
    assert!(has_drift(&p, DriftKind::DeletedInService));
    let r = p
        .change(&Address::workspace("Sales").report("Overview"))
        .unwrap();
    assert_eq!(r.action, Action::Create);
    let bound = r.attrs.iter().find(|a| a.name == "dataset").unwrap();
    assert_eq!(bound.after, Some(AttrValue::string("Sales/Model")));
    assert!(
        p.changes.iter().all(|c| c.kind != ChangeKind::Rebind),
        "its import binds it: {:?}",
        kinds(&p)
    );
}

#[test]
fn republished_with_a_new_id_is_drift() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).id = "d9".into();
    live.workspaces[0].reports[0].dataset_id = Some("d9".into());
    let p = run(&desired(), &live, &ledger);
    assert!(has_drift(&p, DriftKind::RepublishedOutside));
    assert_eq!(p.changes[0].kind, ChangeKind::Dataset);
    assert_eq!(p.changes[0].action, Action::Update);
}

#[test]
fn republished_by_a_newer_import_is_drift() {
    let (mut live, ledger) = converged();
    live.workspaces[0].imports.push(LiveImport {
        id: "i2".into(),
        name: "Model".into(),
        state: "Succeeded".into(),
        created: Some("2026-02-01T00:00:00Z".into()),
        updated: Some("2026-02-01T00:00:00Z".into()),
        dataset_ids: vec!["d1".into()],
        report_ids: vec![],
    });
    let p = run(&desired(), &live, &ledger);
    let d = p
        .drift
        .iter()
        .find(|d| d.kind == DriftKind::RepublishedOutside)
        .unwrap();
    assert!(d.message.contains("i2"), "{}", d.message);
}

#[test]
fn no_ledger_entry_is_not_tracked() {
    let (live, _) = converged();
    let p = run(&desired(), &live, &Ledger::with_salt(SALT));
    assert!(has_drift(&p, DriftKind::NotTracked));
    let ds = p
        .change(&Address::workspace("Sales").dataset("Model"))
        .unwrap();
    assert!(ds.reason.contains("not tracked"));
    // Credentials were never applied by pbideploy, so they are planned.
    position(&p, ChangeKind::Credentials);
}

#[test]
fn foreign_owner_is_taken_over_and_credentials_reapplied() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).configured_by = Some("someone@x.com".into());
    // Nothing to change: no take-over either (`takeover` takes over before a change).
    assert_eq!(kinds(&run(&desired(), &live, &ledger)), vec![]);
    dataset_mut(&mut live)
        .parameters
        .insert("Env".into(), "test".into());
    let p = run(&desired(), &live, &ledger);
    assert_eq!(kinds(&p)[0], (ChangeKind::Takeover, Action::Update));
    let parameters = &p.changes[position(&p, ChangeKind::Parameters)];
    assert!(
        parameters
            .depends_on
            .iter()
            .any(|d| d.to_string().ends_with("takeover"))
    );
    let creds = &p.changes[position(&p, ChangeKind::Credentials)];
    assert!(creds.reason.contains("reset"));
    // The block shows why, not only `(N unchanged attributes hidden)`.
    let secret = creds.attrs.iter().find(|a| a.name == "secret").unwrap();
    assert_eq!(secret.note.as_deref(), Some("reset by the take-over"));
    let text = crate::plan::render::render_text(&p, false);
    assert!(
        text.contains("secret") && text.contains("# reset by the take-over"),
        "{text}"
    );
}

#[test]
fn takeover_off_reports_the_owner_instead() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).configured_by = Some("someone@x.com".into());
    let mut d = desired();
    d.workspaces[0].datasets[0].takeover = false;
    let p = run(&d, &live, &ledger);
    assert!(p.changes.is_empty());
    assert!(has_drift(&p, DriftKind::OwnerChanged));
}

#[test]
fn parameter_change_and_outside_edit() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live)
        .parameters
        .insert("Env".into(), "test".into());
    let p = run(&desired(), &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Parameters)];
    assert_eq!(c.attrs[0].before, Some(AttrValue::string("test")));
    assert_eq!(c.attrs[0].after, Some(AttrValue::string("prod")));
    assert!(has_drift(&p, DriftKind::SettingsChangedOutside));
    // whenChanged: the parameter change triggers a refresh after it.
    assert!(position(&p, ChangeKind::Parameters) < position(&p, ChangeKind::Refresh));
}

#[test]
fn a_parameter_change_sets_the_credentials_again_after_it() {
    // The parameter may build a data source's server: the source it yields is a new one,
    // without credentials, so they are set again after the parameters.
    let (mut live, ledger) = converged();
    dataset_mut(&mut live)
        .parameters
        .insert("Env".into(), "test".into());
    let p = run(&desired(), &live, &ledger);
    assert!(position(&p, ChangeKind::Parameters) < position(&p, ChangeKind::Credentials));
    assert!(position(&p, ChangeKind::Credentials) < position(&p, ChangeKind::Refresh));
}

#[test]
fn a_changed_repointing_target_re_points_from_the_target_applied_before() {
    // The last apply re-pointed dev-sql to prod-sql (ledger); the manifest now says prod-sql-2.
    let (live, mut ledger) = converged();
    let addr = Address::workspace("Sales").dataset("Model");
    let Some(LedgerEntry::Dataset(e)) = ledger.entries.get_mut(&addr) else {
        panic!()
    };
    e.datasource_updates = vec![(src("dev-sql"), src("prod-sql").connection_details)];
    let mut d = desired();
    d.workspaces[0].datasets[0].datasources[0].connection_details =
        src("prod-sql-2").connection_details;
    d.workspaces[0].datasets[0].credentials[0].matches = src("prod-sql-2");
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Datasources)];
    let Operation::UpdateDatasources { updates, .. } = &c.operation else {
        panic!()
    };
    assert_eq!(
        updates[0].matches,
        src("dev-sql"),
        "recorded under the rule"
    );
    assert_eq!(
        updates[0].selects(),
        &src("prod-sql"),
        "selects the live source"
    );
    // Without the ledger's record the rule finds nothing to re-point: a note, no change.
    forget_repointing(&mut ledger, &addr);
    let p = run(&d, &live, &ledger);
    assert!(!p.changes.iter().any(|c| c.kind == ChangeKind::Datasources));
    assert!(has_drift(&p, DriftKind::Note));
}

fn forget_repointing(ledger: &mut Ledger, addr: &Address) {
    if let Some(LedgerEntry::Dataset(e)) = ledger.entries.get_mut(addr) {
        e.datasource_updates.clear();
    }
}

#[test]
fn unknown_parameter_names_the_available_ones() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0]
        .parameters
        .insert("env".into(), "x".into());
    let err = plan(&d, &live, &ledger, &PlanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("Env"), "{err}");
}

#[test]
fn datasource_repointing_and_connection_string() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).datasources[0].datasource = src("dev-sql");
    let mut d = desired();
    d.workspaces[0].datasets[0].connection_string = Some("data source=x".into());
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Datasources)];
    let Operation::UpdateDatasources { updates, .. } = &c.operation else {
        panic!()
    };
    assert_eq!(updates[0].matches, src("dev-sql"));
    position(&p, ChangeKind::Connections);
    // Re-pointing gives new data source ids: bind and credentials follow.
    assert!(position(&p, ChangeKind::Datasources) < position(&p, ChangeKind::GatewayBinding));
    assert!(position(&p, ChangeKind::GatewayBinding) < position(&p, ChangeKind::Credentials));
}

#[test]
fn a_rule_whose_target_keeps_the_matched_details_converges() {
    // `match: {server: prod-sql}` `set: {server: prod-sql, database: sales}`: the converged
    // source still matches the rule, but already has the target details.
    let (live, ledger) = converged();
    let mut d = desired();
    let mut narrow = src("prod-sql");
    narrow.connection_details.remove("database");
    d.workspaces[0].datasets[0].datasources[0].matches = narrow;
    let p = run(&d, &live, &ledger);
    assert!(!p.has_changes(), "{:?}", kinds(&p));
    let (mut live, _) = converged();
    dataset_mut(&mut live).datasources[0].datasource = src("prod-sql");
    dataset_mut(&mut live).datasources[0]
        .datasource
        .connection_details
        .insert("database".into(), "other".into());
    let p = run(&d, &live, &ledger);
    position(&p, ChangeKind::Datasources);
}

#[test]
fn unbound_dataset_is_bound_and_unknown_gateway_is_an_error() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).datasources[0].gateway_id = None;
    let p = run(&desired(), &live, &ledger);
    assert_eq!(kinds(&p)[0], (ChangeKind::GatewayBinding, Action::Update));
    live.gateways.clear();
    assert!(matches!(
        plan(&desired(), &live, &ledger, &PlanOptions::default()),
        Err(PlanError::UnknownGateway { .. })
    ));
}

#[test]
fn rotated_secret_is_planned_with_sensitive_values_only() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::Known(
        fingerprint(SALT, b"pw2"),
    ))];
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Credentials)];
    assert!(c.reason.contains("rotated"));
    let secret = c.attrs.iter().find(|a| a.name == "secret").unwrap();
    assert!(secret.sensitive);
    assert_eq!(secret.after, Some(AttrValue::Sensitive));
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("env:SQL_PW") || json.contains("SQL_PW"));
    assert!(
        !json.contains(&fingerprint(SALT, b"pw2")),
        "fingerprints stay out of plans"
    );
}

/// The converged ledger with the credential's settings recorded as `settings` returns them.
fn with_recorded_settings(
    ledger: &mut Ledger,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) {
    let mut settings = cred(CredentialFingerprint::NotAvailable).spec.settings();
    edit(&mut settings);
    let addr = Address::workspace("Sales").dataset("Model");
    let Some(LedgerEntry::Dataset(entry)) = ledger.entries.get_mut(&addr) else {
        panic!("no dataset entry")
    };
    for c in entry.credentials.values_mut() {
        c.settings = Some(settings.clone());
    }
}

#[test]
fn rotated_secret_is_shown_as_changed_not_folded() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::Known(
        fingerprint(SALT, b"pw2"),
    ))];
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Credentials)];
    let secret = c.attrs.iter().find(|a| a.name == "secret").unwrap();
    assert!(!secret.is_unchanged(), "{secret:?}");
    assert_eq!(secret.note.as_deref(), Some("rotated"));
    let text = crate::plan::render::render_text(&p, false);
    assert!(text.contains("~ secret"), "{text}");
}

#[test]
fn changed_privacy_level_is_planned_with_before_and_after() {
    let (live, mut ledger) = converged();
    with_recorded_settings(&mut ledger, |s| {
        s.insert("privacy_level".into(), serde_json::json!("Private"));
    });
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::Known(
        fingerprint(SALT, b"pw1"),
    ))];
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Credentials)];
    assert_eq!(c.reason, "credential settings changed (privacy_level)");
    let attr = c.attrs.iter().find(|a| a.name == "privacy_level").unwrap();
    assert_eq!(
        attr.before,
        Some(AttrValue::Value(serde_json::json!("Private")))
    );
    assert_eq!(
        attr.after,
        Some(AttrValue::Value(serde_json::json!("Organizational")))
    );
    let secret = c.attrs.iter().find(|a| a.name == "secret").unwrap();
    assert!(secret.is_unchanged(), "the secret itself did not change");
}

#[test]
fn recorded_settings_that_match_plan_nothing_even_without_the_secret() {
    let (live, mut ledger) = converged();
    with_recorded_settings(&mut ledger, |_| {});
    for fp in [
        CredentialFingerprint::Known(fingerprint(SALT, b"pw1")),
        CredentialFingerprint::NotAvailable,
    ] {
        let mut d = desired();
        d.workspaces[0].datasets[0].credentials = vec![cred(fp)];
        let p = run(&d, &live, &ledger);
        assert!(p.changes.is_empty(), "{:?}", kinds(&p));
    }
}

#[test]
fn changed_user_name_is_planned_even_when_the_secret_is_not_available() {
    let (live, mut ledger) = converged();
    with_recorded_settings(&mut ledger, |s| {
        s.insert("username".into(), serde_json::json!("old-user"));
    });
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::NotAvailable)];
    let p = run(&d, &live, &ledger);
    let c = &p.changes[position(&p, ChangeKind::Credentials)];
    assert_eq!(c.reason, "credential settings changed (username)");
    let secret = c.attrs.iter().find(|a| a.name == "secret").unwrap();
    assert_eq!(secret.after, Some(AttrValue::NotChecked));
}

#[test]
fn unavailable_secret_is_not_checked_instead_of_failing() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::NotAvailable)];
    let p = run(&d, &live, &ledger);
    assert!(p.changes.is_empty());
    assert!(has_drift(&p, DriftKind::CredentialNotChecked));
}

#[test]
fn failing_credentials_are_drift_and_reapplied() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).datasources[0].credential_status =
        CredentialStatus::Failing("DM_GWPipeline_Gateway_InvalidConnectionCredentials".into());
    let p = run(&desired(), &live, &ledger);
    assert!(has_drift(&p, DriftKind::CredentialFailing));
    assert!(
        p.changes[position(&p, ChangeKind::Credentials)]
            .reason
            .contains("failing")
    );
}

#[test]
fn report_bound_elsewhere_is_rebound_and_reported() {
    let (mut live, ledger) = converged();
    live.workspaces[0].reports[0].dataset_id = Some("other".into());
    let p = run(&desired(), &live, &ledger);
    assert_eq!(kinds(&p), vec![(ChangeKind::Rebind, Action::Update)]);
    assert!(has_drift(&p, DriftKind::ReboundOutside));
}

#[test]
fn schedule_and_refresh_always() {
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).refresh_schedule = None;
    let mut d = desired();
    d.workspaces[0].datasets[0].refresh = RefreshOnApply::Always;
    let p = run(&d, &live, &ledger);
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::RefreshSchedule, Action::Update),
            (ChangeKind::Refresh, Action::Update)
        ]
    );
}

#[test]
fn when_changed_refreshes_for_what_the_dataset_loads_not_its_owner_or_schedule() {
    let refreshes = |p: &Plan| p.changes.iter().any(|c| c.kind == ChangeKind::Refresh);
    // A take-over for a schedule change (the credentials it reset are applied again, the
    // same secret).
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).configured_by = Some("someone@x.com".into());
    dataset_mut(&mut live).refresh_schedule = None;
    let p = run(&desired(), &live, &ledger);
    position(&p, ChangeKind::Takeover);
    position(&p, ChangeKind::Credentials);
    assert!(!refreshes(&p), "take-over and schedule: {:?}", kinds(&p));
    // A schedule change alone.
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).refresh_schedule = None;
    let p = run(&desired(), &live, &ledger);
    assert_eq!(
        kinds(&p),
        vec![(ChangeKind::RefreshSchedule, Action::Update)]
    );
    // A rotated secret, with or without a take-over, is a change.
    let (mut live, ledger) = converged();
    dataset_mut(&mut live).configured_by = Some("someone@x.com".into());
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials = vec![cred(CredentialFingerprint::Known(
        fingerprint(SALT, b"pw2"),
    ))];
    let p = run(&d, &live, &ledger);
    assert!(refreshes(&p), "rotated secret");
    // The refresh reads as an action that will run, not as a setting.
    let text = crate::plan::render::render_text(&p, false);
    assert!(
        text.contains("workspace[\"Sales\"].dataset[\"Model\"].refresh: a refresh will run"),
        "{text}"
    );
    assert!(!text.contains("notify"), "{text}");
    let markdown = crate::plan::render::render_markdown(&p);
    assert!(markdown.contains("a refresh will run"), "{markdown}");
}

#[test]
fn prune_deletes_reports_before_datasets_only_when_enabled() {
    let (mut live, mut ledger) = converged();
    let ws = Address::workspace("Sales");
    live.workspaces[0].datasets.push(LiveDataset {
        id: "d2".into(),
        name: "Old".into(),
        ..Default::default()
    });
    live.workspaces[0].reports.push(LiveReport {
        id: "r2".into(),
        name: "OldR".into(),
        ..Default::default()
    });
    ledger.set(
        ws.dataset("Old"),
        LedgerEntry::Dataset(DatasetEntry::default()),
    );
    ledger.set(
        ws.report("OldR"),
        LedgerEntry::Report(ReportEntry::default()),
    );
    let p = run(&desired(), &live, &ledger);
    assert!(p.changes.is_empty());
    assert_eq!(
        p.drift
            .iter()
            .filter(|d| d.kind == DriftKind::Orphaned)
            .count(),
        2
    );
    let mut d = desired();
    d.workspaces[0].prune = true;
    let p = run(&d, &live, &ledger);
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Report, Action::Delete),
            (ChangeKind::Dataset, Action::Delete)
        ]
    );
    assert_eq!(p.summary().delete, 2);
    assert_eq!(p.changes[1].depends_on, vec![ws.report("OldR")]);
}

#[test]
fn targets_keep_their_dependencies_only() {
    let opts = PlanOptions {
        targets: vec![
            Address::workspace("Sales")
                .dataset("Model")
                .child("parameters"),
        ],
        ..Default::default()
    };
    let p = plan(&desired(), &empty_tenant(), &Ledger::with_salt(SALT), &opts).unwrap();
    let got: Vec<ChangeKind> = p.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        got,
        vec![
            ChangeKind::Workspace,
            ChangeKind::Access,
            ChangeKind::Dataset,
            ChangeKind::Parameters
        ]
    );
    let bad = PlanOptions {
        targets: vec![Address::workspace("Nope")],
        ..Default::default()
    };
    assert!(matches!(
        plan(&desired(), &empty_tenant(), &Ledger::with_salt(SALT), &bad),
        Err(PlanError::UnknownTarget(_))
    ));
}

#[test]
fn refresh_only_shows_drift_and_plans_nothing() {
    let (mut live, ledger) = converged();
    live.workspaces[0].reports.clear();
    let opts = PlanOptions {
        refresh_only: true,
        ..Default::default()
    };
    let p = plan(&desired(), &live, &ledger, &opts).unwrap();
    assert!(p.changes.is_empty());
    assert!(p.refresh_only);
    assert!(has_drift(&p, DriftKind::DeletedInService));
}

#[test]
fn duplicate_names_in_the_service_are_an_error() {
    let (mut live, ledger) = converged();
    let dup = live.workspaces[0].datasets[0].clone();
    live.workspaces[0].datasets.push(LiveDataset {
        id: "dx".into(),
        ..dup
    });
    let err = plan(&desired(), &live, &ledger, &PlanOptions::default()).unwrap_err();
    assert!(
        matches!(err, PlanError::Duplicate { count: 2, .. }),
        "{err}"
    );
}

#[test]
fn plan_json_round_trips() {
    let p = run(&desired(), &empty_tenant(), &Ledger::with_salt(SALT));
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn a_credential_rule_matching_no_live_source_is_noted_unless_the_sources_change() {
    let (live, ledger) = converged();
    let mut d = desired();
    d.workspaces[0].datasets[0].credentials[0].matches = src("other-sql");
    let p = run(&d, &live, &ledger);
    let notes: Vec<&str> = p
        .drift
        .iter()
        .filter(|n| n.kind == DriftKind::Note)
        .map(|n| n.message.as_str())
        .collect();
    assert!(
        notes.iter().any(|m| m.contains("credential rule")
            && m.contains("other-sql")
            && m.contains("prod-sql")),
        "{notes:?}"
    );
    // A re-pointing planned in the same run changes the sources first: no guess about them.
    let mut ledger = ledger;
    let addr = Address::workspace("Sales").dataset("Model");
    let Some(LedgerEntry::Dataset(e)) = ledger.entries.get_mut(&addr) else {
        panic!()
    };
    e.datasource_updates = vec![(src("dev-sql"), src("prod-sql").connection_details)];
    let mut repointed = d.clone();
    repointed.workspaces[0].datasets[0].datasources[0].connection_details =
        src("other-sql").connection_details;
    let p = run(&repointed, &live, &ledger);
    assert!(p.changes.iter().any(|c| c.kind == ChangeKind::Datasources));
    assert!(
        !p.drift
            .iter()
            .any(|n| n.message.contains("credential rule")),
        "{:?}",
        p.drift
    );
}
