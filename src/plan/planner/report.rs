//! Reports: import (thin or not) after the dataset they bind to, then rebind.

use serde_json::json;

use super::{Ctx, PlanError, change, project};
use crate::domain::address::Address;
use crate::domain::desired::{DesiredReport, DesiredState, DesiredWorkspace};
use crate::live::model::LiveReport;
use crate::plan::content::ProjectKind;
use crate::plan::model::{
    Action, AttrDiff, AttrValue, ChangeKind, DriftKind, ImportSpec, ItemRef, Operation,
};

pub(super) fn plan_report(
    ctx: &mut Ctx<'_>,
    desired: &DesiredState,
    ws: &DesiredWorkspace,
    r: &DesiredReport,
    prereqs: &[Address],
) -> Result<(), PlanError> {
    let addr = Address::workspace(&ws.name).report(&r.name);
    let found = ctx
        .live
        .workspace(&ws.name)
        .map(|w| w.reports_named(&r.name))
        .unwrap_or_default();
    if found.len() > 1 {
        return Err(PlanError::Duplicate {
            address: addr,
            count: found.len(),
        });
    }
    let live = found.first().copied();
    let item = ItemRef {
        workspace: ws.name.clone(),
        name: r.name.clone(),
    };
    // The target dataset: its live id (if any) and the change that creates/re-imports it.
    let target = match &r.dataset {
        Some(t) => Some(resolve_target(ctx, desired, &addr, t)?),
        None => None,
    };
    let mut deps = prereqs.to_vec();
    if let Some((_, Some(dep), _)) = &target {
        deps.push(dep.clone());
    }
    let imported = match &r.project {
        Some(_) => {
            let project = project::Item {
                kind: ProjectKind::Report,
                addr: &addr,
                target: &item,
                path: &r.pbix_path,
                sha256: &r.pbix_sha256,
                live_id: live.map(|l| l.id.as_str()),
                recorded: ctx
                    .ledger
                    .report(&addr)
                    .map(|e| (e.report_id.as_str(), e.pbix_sha256.as_str())),
                bind_to: r.dataset.as_ref(),
                allow_data_loss: false,
            };
            project::plan_definition(ctx, &project, &deps)
        }
        None => plan_import(ctx, r, &addr, &item, live, &deps),
    };
    if let Some(a) = &imported {
        deps = vec![a.clone()];
    }
    let Some((t, _, target_id)) = target else {
        return Ok(());
    };
    let bound_ok = match (live, &target_id) {
        (Some(l), Some(id)) if imported.is_none() => l
            .dataset_id
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case(id)),
        _ => false,
    };
    if let (Some(l), Some(entry)) = (live, ctx.ledger.report(&addr))
        && entry.dataset_id.is_some()
        && entry.dataset_id != l.dataset_id
    {
        ctx.note(
            &addr,
            DriftKind::ReboundOutside,
            "the report was rebound outside pbideploy".into(),
            vec![AttrDiff::values(
                "dataset_id",
                entry.dataset_id.clone().map(|d| json!(d)),
                json!(l.dataset_id),
            )],
        );
    }
    // The import binds the report to its dataset (its content is retargeted first): a
    // separate rebind would only repeat it.
    if bound_ok || imported.is_some() {
        return Ok(());
    }
    let before = live
        .and_then(|l| l.dataset_id.clone())
        .map(|d| AttrValue::Value(json!(d)));
    let after = target_id.map_or(AttrValue::KnownAfterApply, |d| AttrValue::Value(json!(d)));
    let c = change(
        addr.child("rebind"),
        ChangeKind::Rebind,
        Action::Update,
        format!(
            "the report must be bound to dataset \"{}\" in workspace \"{}\"",
            t.name, t.workspace
        ),
        deps,
        Operation::Rebind {
            report: item,
            dataset: t.clone(),
        },
        vec![
            AttrDiff::values(
                "dataset",
                None,
                json!(format!("{}/{}", t.workspace, t.name)),
            ),
            AttrDiff::new("dataset_id", before, Some(after)),
        ],
    );
    ctx.push(c);
    Ok(())
}

type Target = (ItemRef, Option<Address>, Option<String>);

/// The dataset a report binds to: its ref, the change that imports it (if planned), its live id.
fn resolve_target(
    ctx: &Ctx<'_>,
    desired: &DesiredState,
    addr: &Address,
    t: &ItemRef,
) -> Result<Target, PlanError> {
    let ds_addr = Address::workspace(&t.workspace).dataset(&t.name);
    let import = ctx
        .changes
        .iter()
        .find(|c| {
            c.address == ds_addr && c.kind == ChangeKind::Dataset && c.action != Action::Delete
        })
        .map(|c| c.address.clone());
    let live = ctx
        .live
        .workspace(&t.workspace)
        .and_then(|w| w.datasets_named(&t.name).first().map(|d| d.id.clone()));
    if live.is_none() && desired.dataset(t).is_none() {
        return Err(PlanError::UnknownDataset {
            address: addr.clone(),
            workspace: t.workspace.clone(),
            dataset: t.name.clone(),
        });
    }
    // A dataset re-imported in place keeps its id; a new one's id is known after apply.
    let id = match (&import, &live) {
        (Some(_), None) => None,
        _ => live,
    };
    Ok((t.clone(), import, id))
}

fn plan_import(
    ctx: &mut Ctx<'_>,
    r: &DesiredReport,
    addr: &Address,
    item: &ItemRef,
    live: Option<&LiveReport>,
    deps: &[Address],
) -> Option<Address> {
    let entry = ctx.ledger.report(addr);
    let mut hash = AttrDiff::values(
        "pbix_sha256",
        entry.map(|e| json!(e.pbix_sha256)),
        json!(r.pbix_sha256),
    );
    let (action, reason) = match (live, entry) {
        (None, None) => (Action::Create, "not in the service".to_string()),
        (None, Some(_)) => {
            ctx.note(addr, DriftKind::DeletedInService, "the ledger records this report but it is no longer in the service; it will be imported again".into(), vec![]);
            (
                Action::Create,
                "deleted in the service since the last apply".to_string(),
            )
        }
        (Some(_), None) => {
            ctx.note(addr, DriftKind::NotTracked, "no ledger entry: the report content in the service cannot be compared, so it is imported again".into(), vec![]);
            hash = hash.with_note("not tracked");
            (
                Action::Update,
                "content not tracked (no ledger entry)".to_string(),
            )
        }
        (Some(l), Some(e)) if !e.report_id.eq_ignore_ascii_case(&l.id) => {
            ctx.note(addr, DriftKind::RepublishedOutside, format!("re-published outside pbideploy (report id {} is now {}); it will be imported again", e.report_id, l.id), vec![]);
            (Action::Update, "re-published by someone else".to_string())
        }
        (Some(_), Some(e)) if !e.pbix_sha256.eq_ignore_ascii_case(&r.pbix_sha256) => {
            hash = hash.with_note("forces re-import");
            (Action::Update, "PBIX content changed".to_string())
        }
        _ => return None,
    };
    let id = match live {
        Some(l) => AttrDiff::unchanged("id", json!(l.id)),
        None => AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
    };
    let c = change(
        addr.clone(),
        ChangeKind::Report,
        action,
        reason,
        deps.to_vec(),
        Operation::Import(ImportSpec {
            target: item.clone(),
            pbix_path: r.pbix_path.clone(),
            pbix_sha256: r.pbix_sha256.clone(),
            overwrite: live.is_some(),
            skip_report: false,
            bind_to: r.dataset.clone(),
        }),
        [
            Some(AttrDiff::values("pbix", None, json!(r.pbix_path))),
            r.dataset.as_ref().map(|t| {
                AttrDiff::values(
                    "dataset",
                    None,
                    json!(format!("{}/{}", t.workspace, t.name)),
                )
            }),
            Some(hash),
            Some(id),
        ]
        .into_iter()
        .flatten()
        .collect(),
    );
    Some(ctx.push(c))
}
