//! Power BI Project items: create or update the definition when the one pbideploy would
//! upload is not the one the ledger recorded (or the item is new, gone, or not tracked).

use serde_json::json;

use super::{Ctx, change};
use crate::domain::address::Address;
use crate::plan::content::{DefinitionSpec, ProjectKind};
use crate::plan::model::{Action, AttrDiff, AttrValue, ChangeKind, DriftKind, ItemRef, Operation};

/// One project item as the planner sees it.
pub(super) struct Item<'a> {
    pub kind: ProjectKind,
    pub addr: &'a Address,
    pub target: &'a ItemRef,
    /// The folder as the manifest gave it and the hash of the definition to upload.
    pub path: &'a str,
    pub sha256: &'a str,
    /// The live item's id, if it exists.
    pub live_id: Option<&'a str>,
    /// What the ledger recorded: the item id and the definition hash.
    pub recorded: Option<(&'a str, &'a str)>,
    pub bind_to: Option<&'a ItemRef>,
    pub allow_data_loss: bool,
}

/// Plans the definition deploy of `item` after `deps`; `None` when it is up to date.
pub(super) fn plan_definition(
    ctx: &mut Ctx<'_>,
    item: &Item<'_>,
    deps: &[Address],
) -> Option<Address> {
    let what = match item.kind {
        ProjectKind::SemanticModel => "model",
        ProjectKind::Report => "report",
    };
    let mut hash = AttrDiff::values(
        "definition_sha256",
        item.recorded.map(|(_, sha)| json!(sha)),
        json!(item.sha256),
    );
    let addr = item.addr;
    let (action, reason) = match (item.live_id, item.recorded) {
        (None, None) => (Action::Create, "not in the service".to_owned()),
        (None, Some(_)) => {
            let note = format!(
                "the ledger records this {what} but it is no longer in the service; it will be created again"
            );
            ctx.note(addr, DriftKind::DeletedInService, note, vec![]);
            (
                Action::Create,
                "deleted in the service since the last apply".to_owned(),
            )
        }
        (Some(_), None) => {
            let note = "no ledger entry: the definition in the service is not known to be the one pbideploy deploys, so it is uploaded again (use `pbideploy state adopt` to record it instead)";
            ctx.note(addr, DriftKind::NotTracked, note.into(), vec![]);
            hash = hash.with_note("not tracked");
            (
                Action::Update,
                "content not tracked (no ledger entry)".to_owned(),
            )
        }
        (Some(live), Some((id, _))) if !live.eq_ignore_ascii_case(id) => {
            let note = format!(
                "re-created outside pbideploy (id {id} is now {live}); its definition is uploaded again"
            );
            ctx.note(addr, DriftKind::RepublishedOutside, note, vec![]);
            (Action::Update, "re-created by someone else".to_owned())
        }
        (Some(_), Some((_, sha))) if !sha.eq_ignore_ascii_case(item.sha256) => {
            hash = hash.with_note("forces definition update");
            (Action::Update, "the project definition changed".to_owned())
        }
        _ => return None,
    };
    let id = match item.live_id {
        Some(l) => AttrDiff::unchanged("id", json!(l)),
        None => AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
    };
    let mut attrs = vec![AttrDiff::values("project", None, json!(item.path))];
    if let Some(t) = item.bind_to {
        let bound = json!(format!("{}/{}", t.workspace, t.name));
        attrs.push(AttrDiff::values("dataset", None, bound));
    }
    attrs.extend([hash, id]);
    let spec = DefinitionSpec {
        target: item.target.clone(),
        kind: item.kind,
        project_path: item.path.to_owned(),
        sha256: item.sha256.to_owned(),
        exists: item.live_id.is_some(),
        bind_to: item.bind_to.cloned(),
        allow_data_loss: item.allow_data_loss,
        data_loss: Vec::new(),
    };
    let kind = match item.kind {
        ProjectKind::SemanticModel => ChangeKind::Dataset,
        ProjectKind::Report => ChangeKind::Report,
    };
    let c = change(
        addr.clone(),
        kind,
        action,
        reason,
        deps.to_vec(),
        Operation::Definition(spec),
        attrs,
    );
    Some(ctx.push(c))
}

#[cfg(test)]
mod tests {
    use crate::domain::address::Address;
    use crate::domain::desired::{
        DesiredDataset, DesiredProject, DesiredReport, DesiredState, DesiredWorkspace,
    };
    use crate::ledger::{DatasetEntry, Ledger, LedgerEntry, ReportEntry};
    use crate::live::model::{LiveDataset, LiveReport, LiveState, LiveWorkspace};
    use crate::plan::content::ProjectKind;
    use crate::plan::model::{Action, ChangeKind, ItemRef, Operation, Plan};
    use crate::plan::{PlanOptions, plan};

    const PROJECT: Option<DesiredProject> = Some(DesiredProject {
        allow_data_loss: false,
    });

    /// Two project models and a project report on the first, in one workspace.
    fn desired(model_sha: &str) -> DesiredState {
        let model = |name: &str, sha: &str| DesiredDataset {
            name: name.into(),
            pbix_path: format!("pbip/{name}.SemanticModel"),
            pbix_sha256: sha.into(),
            project: PROJECT,
            ..DesiredDataset::default()
        };
        DesiredState {
            workspaces: vec![DesiredWorkspace {
                name: "Sales".into(),
                create: true,
                datasets: vec![model("Sales", model_sha), model("Other", "o1")],
                reports: vec![DesiredReport {
                    name: "Overview".into(),
                    pbix_path: "pbip/Overview.Report".into(),
                    pbix_sha256: "r1".into(),
                    dataset: Some(ItemRef {
                        workspace: "Sales".into(),
                        name: "Sales".into(),
                    }),
                    project: PROJECT,
                }],
                ..DesiredWorkspace::default()
            }],
        }
    }

    /// The service and ledger after `desired("m1")` was applied.
    fn converged() -> (LiveState, Ledger) {
        let ds = |id: &str, name: &str| LiveDataset {
            id: id.into(),
            name: name.into(),
            configured_by: Some("sp".into()),
            ..LiveDataset::default()
        };
        let mut live = LiveState::default();
        live.principal.identities = vec!["sp".into()];
        live.workspaces.push(LiveWorkspace {
            id: "w1".into(),
            name: "Sales".into(),
            datasets: vec![ds("d1", "Sales"), ds("d2", "Other")],
            reports: vec![LiveReport {
                id: "r1".into(),
                name: "Overview".into(),
                dataset_id: Some("d1".into()),
                dataset_workspace_id: Some("w1".into()),
            }],
            ..LiveWorkspace::default()
        });
        let mut ledger = Ledger::with_salt("5a17");
        let ws = Address::workspace("Sales");
        for (id, name, sha) in [("d1", "Sales", "m1"), ("d2", "Other", "o1")] {
            let entry = DatasetEntry {
                dataset_id: id.into(),
                pbix_sha256: sha.into(),
                ..DatasetEntry::default()
            };
            ledger.set(ws.dataset(name), LedgerEntry::Dataset(entry));
        }
        let report = ReportEntry {
            report_id: "r1".into(),
            pbix_sha256: "r1".into(),
            dataset_id: Some("d1".into()),
            ..ReportEntry::default()
        };
        ledger.set(ws.report("Overview"), LedgerEntry::Report(report));
        (live, ledger)
    }

    fn run(d: &DesiredState, live: &LiveState, ledger: &Ledger) -> Plan {
        plan(d, live, ledger, &PlanOptions::default()).unwrap()
    }

    #[test]
    fn new_items_are_created_by_definition_and_the_report_waits_only_for_its_model() {
        let p = run(
            &desired("m1"),
            &LiveState::default(),
            &Ledger::with_salt("s"),
        );
        let ws = Address::workspace("Sales");
        let report = p.change(&ws.report("Overview")).unwrap();
        let Operation::Definition(spec) = &report.operation else {
            panic!("{:?}", report.operation);
        };
        assert_eq!(spec.kind, ProjectKind::Report);
        assert_eq!(spec.bind_to.as_ref().unwrap().name, "Sales");
        assert!(!spec.exists);
        assert!(report.depends_on.contains(&ws.dataset("Sales")));
        assert!(!report.depends_on.contains(&ws.dataset("Other")));
        for name in ["Sales", "Other"] {
            let c = p.change(&ws.dataset(name)).unwrap();
            assert_eq!((c.kind, c.action), (ChangeKind::Dataset, Action::Create));
            assert!(
                matches!(&c.operation, Operation::Definition(s) if s.kind == ProjectKind::SemanticModel)
            );
        }
        assert!(
            !p.changes
                .iter()
                .any(|c| matches!(c.operation, Operation::Import(_))),
            "project items are never imported"
        );
    }

    #[test]
    fn an_applied_project_plans_nothing() {
        let (live, ledger) = converged();
        let p = run(&desired("m1"), &live, &ledger);
        assert!(!p.has_changes(), "{:#?}", p.changes);
    }

    #[test]
    fn items_the_manifest_dropped_are_pruned_and_listed_first() {
        let (live, ledger) = converged();
        let mut d = desired("m2");
        d.workspaces[0].prune = true;
        d.workspaces[0].datasets.retain(|ds| ds.name != "Other");
        let p = run(&d, &live, &ledger);
        let first = &p.changes[0];
        assert_eq!(first.address, Address::workspace("Sales").dataset("Other"));
        assert_eq!(first.action, Action::Delete);
        assert!(
            p.change(&Address::workspace("Sales").dataset("Sales"))
                .is_some()
        );
    }

    #[test]
    fn a_changed_definition_is_one_update_of_that_model() {
        let (live, ledger) = converged();
        let p = run(&desired("m2"), &live, &ledger);
        let changed: Vec<_> = p.changes.iter().filter(|c| c.action.is_change()).collect();
        assert_eq!(changed.len(), 1, "{changed:#?}");
        assert_eq!(
            changed[0].address,
            Address::workspace("Sales").dataset("Sales")
        );
        let Operation::Definition(spec) = &changed[0].operation else {
            panic!();
        };
        assert!(spec.exists);
        assert_eq!(spec.sha256, "m2");
    }
}
