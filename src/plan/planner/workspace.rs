//! Workspaces: create, capacity, access roles of the principals the manifest names, prune.

use serde_json::json;

use super::{Ctx, PlanError, change};
use crate::domain::address::Address;
use crate::domain::desired::{DesiredState, DesiredWorkspace};
use crate::ledger::LedgerEntry;
use crate::live::model::eq_name;
use crate::plan::model::{Action, AttrDiff, AttrValue, ChangeKind, DriftKind, ItemRef, Operation};

/// Plan the workspace itself, its capacity and access; returns what content must wait for.
pub(super) fn plan_workspace(
    ctx: &mut Ctx<'_>,
    ws: &DesiredWorkspace,
) -> Result<Vec<Address>, PlanError> {
    let addr = Address::workspace(&ws.name);
    let live = ctx.live.workspace(&ws.name);
    let mut prereqs = Vec::new();
    let mut created = Vec::new();
    if live.is_none() {
        if !ws.create {
            return Err(PlanError::MissingWorkspace(ws.name.clone()));
        }
        let c = change(
            addr.clone(),
            ChangeKind::Workspace,
            Action::Create,
            "the workspace does not exist in the service",
            vec![],
            Operation::CreateWorkspace {
                workspace: ws.name.clone(),
            },
            vec![
                AttrDiff::values("name", None, json!(ws.name)),
                AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
            ],
        );
        created.push(ctx.push(c));
    }
    prereqs.extend(created.iter().cloned());
    if let Some(want) = &ws.capacity {
        let have = live.and_then(|w| w.capacity_id.clone());
        let same = match (&have, want) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            let shown = |v: &Option<String>| json!(v.clone().unwrap_or_else(|| "shared".into()));
            let c = change(
                addr.child("capacity"),
                ChangeKind::Capacity,
                Action::Update,
                "the workspace's capacity differs from the manifest",
                created.clone(),
                Operation::AssignCapacity {
                    workspace: ws.name.clone(),
                    capacity_id: want.clone(),
                },
                vec![AttrDiff::values(
                    "capacity",
                    live.map(|_| shown(&have)),
                    shown(want),
                )],
            );
            prereqs.push(ctx.push(c));
        }
    }
    for access in &ws.access {
        let id = &access.principal.identifier;
        let current = live.and_then(|w| {
            w.users
                .iter()
                .find(|u| u.principal.identifier.eq_ignore_ascii_case(id))
        });
        let a = addr.keyed("access", id);
        let role_json = |r| json!(format!("{r:?}"));
        let planned = match (access.role, current) {
            (Some(r), None) => Some((
                Action::Create,
                "the principal has no role on the workspace",
                Operation::SetAccess {
                    workspace: ws.name.clone(),
                    principal: access.principal.clone(),
                    role: r,
                    existing: false,
                },
                AttrDiff::values("role", None, role_json(r)),
            )),
            (Some(r), Some(u)) if u.role != r => Some((
                Action::Update,
                "the principal's role differs from the manifest",
                Operation::SetAccess {
                    workspace: ws.name.clone(),
                    principal: access.principal.clone(),
                    role: r,
                    existing: true,
                },
                AttrDiff::values("role", Some(role_json(u.role)), role_json(r)),
            )),
            (None, Some(u)) => Some((
                Action::Delete,
                "the manifest removes this principal",
                Operation::RemoveAccess {
                    workspace: ws.name.clone(),
                    principal: access.principal.clone(),
                },
                AttrDiff::new("role", Some(AttrValue::Value(role_json(u.role))), None),
            )),
            _ => None,
        };
        if let Some((action, reason, op, attr)) = planned {
            let c = change(
                a,
                ChangeKind::Access,
                action,
                reason,
                created.clone(),
                op,
                vec![attr],
            );
            prereqs.push(ctx.push(c));
        }
    }
    Ok(prereqs)
}

/// Ledger-managed datasets/reports of `ws` no longer in the manifest: deleted with
/// `prune: true`, reported as orphaned otherwise.
pub(super) fn plan_prune(ctx: &mut Ctx<'_>, ws: &DesiredWorkspace) {
    let ws_addr = Address::workspace(&ws.name);
    let live = ctx.live.workspace(&ws.name);
    let entries: Vec<(Address, bool)> = ctx
        .ledger
        .entries
        .iter()
        .filter(|(a, _)| a.segments.len() == 2 && a.starts_with(&ws_addr))
        .filter_map(|(a, e)| match e {
            LedgerEntry::Dataset(_) => Some((a.clone(), true)),
            LedgerEntry::Report(_) => Some((a.clone(), false)),
            LedgerEntry::Workspace(_) => None,
        })
        .collect();
    let mut report_deletes = Vec::new();
    // Reports first so a dataset delete can depend on them.
    for (addr, is_dataset) in entries
        .iter()
        .filter(|(_, d)| !d)
        .chain(entries.iter().filter(|(_, d)| *d))
    {
        let Some(name) = addr.last().and_then(|s| s.key.clone()) else {
            continue;
        };
        let wanted = if *is_dataset {
            ws.datasets.iter().any(|d| eq_name(&d.name, &name))
        } else {
            ws.reports.iter().any(|r| eq_name(&r.name, &name))
        };
        if wanted {
            continue;
        }
        let exists = live.is_some_and(|w| {
            if *is_dataset {
                !w.datasets_named(&name).is_empty()
            } else {
                !w.reports_named(&name).is_empty()
            }
        });
        if !exists {
            ctx.note(
                addr,
                DriftKind::DeletedInService,
                "in the ledger but neither in the manifest nor in the service; `pbideploy state rm` forgets it".into(),
                vec![],
            );
            continue;
        }
        if !ws.prune {
            ctx.note(
                addr,
                DriftKind::Orphaned,
                "managed by pbideploy but no longer in the manifest; kept because `prune` is off for this workspace".into(),
                vec![],
            );
            continue;
        }
        let item = ItemRef {
            workspace: ws.name.clone(),
            name: name.clone(),
        };
        let (kind, op, deps) = if *is_dataset {
            (
                ChangeKind::Dataset,
                Operation::DeleteDataset { dataset: item },
                report_deletes.clone(),
            )
        } else {
            (
                ChangeKind::Report,
                Operation::DeleteReport { report: item },
                vec![],
            )
        };
        let c = change(
            addr.clone(),
            kind,
            Action::Delete,
            "managed by pbideploy, no longer in the manifest, and the workspace has `prune: true`",
            deps,
            op,
            vec![AttrDiff::new("name", Some(AttrValue::string(&name)), None)],
        );
        let a = ctx.push(c);
        if !is_dataset {
            report_deletes.push(a);
        }
    }
}

/// Workspaces in the ledger that the manifest no longer names are never deleted: say so.
pub(super) fn note_orphan_workspaces(ctx: &mut Ctx<'_>, desired: &DesiredState) {
    let orphans: Vec<Address> = ctx
        .ledger
        .entries
        .keys()
        .filter(|a| a.segments.len() == 1)
        .filter(|a| {
            a.workspace_name()
                .is_some_and(|n| !desired.workspaces.iter().any(|w| eq_name(&w.name, n)))
        })
        .cloned()
        .collect();
    for a in orphans {
        ctx.note(
            &a,
            DriftKind::Orphaned,
            "the ledger tracks this workspace but the manifest no longer names it; pbideploy never deletes whole workspaces".into(),
            vec![],
        );
    }
}
