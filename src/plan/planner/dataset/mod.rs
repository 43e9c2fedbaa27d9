//! One dataset: import -> take over -> parameters -> data sources / connections -> gateway
//! data sources + binding -> credentials -> refresh (and the schedule).

mod credentials;
mod gateway;
mod refresh;
mod sources;

use credentials::plan_credentials;
use gateway::plan_gateway;
use refresh::{plan_refresh, plan_schedule};
use sources::{plan_connections, plan_datasources, plan_parameters};

use serde_json::json;

use super::{Ctx, PlanError, change, project};
use crate::domain::address::Address;
use crate::domain::desired::{DesiredDataset, DesiredProject, DesiredWorkspace};
use crate::ledger::DatasetEntry;
use crate::live::model::LiveDataset;
use crate::plan::content::ProjectKind;
use crate::plan::model::{
    Action, AttrDiff, AttrValue, ChangeKind, DriftKind, ImportSpec, ItemRef, Operation,
};

/// What the dataset's steps share.
struct Step<'a> {
    addr: Address,
    item: ItemRef,
    live: Option<&'a LiveDataset>,
    entry: Option<&'a DatasetEntry>,
    /// A (re-)import is planned: the PBIX's own settings come back.
    imported: bool,
}

pub(super) fn plan_dataset(
    ctx: &mut Ctx<'_>,
    ws: &DesiredWorkspace,
    ds: &DesiredDataset,
    prereqs: &[Address],
) -> Result<(), PlanError> {
    let addr = Address::workspace(&ws.name).dataset(&ds.name);
    let found = ctx
        .live
        .workspace(&ws.name)
        .map(|w| w.datasets_named(&ds.name))
        .unwrap_or_default();
    if found.len() > 1 {
        return Err(PlanError::Duplicate {
            address: addr,
            count: found.len(),
        });
    }
    let mut step = Step {
        item: ItemRef {
            workspace: ws.name.clone(),
            name: ds.name.clone(),
        },
        live: found.first().copied(),
        entry: ctx.ledger.dataset(&addr),
        imported: false,
        addr,
    };
    let mut deps: Vec<Address> = prereqs.to_vec();
    let deployed = match &ds.project {
        Some(project) => plan_project(ctx, ds, &step, project, &deps),
        None => plan_import(ctx, ws, ds, &mut step, &deps),
    };
    if let Some(a) = deployed {
        step.imported = true;
        deps = vec![a];
    }
    // `takeover` means "take over before changing the dataset": only when the plan changes
    // what only the owner may change (all but the refresh), so that a dataset adopted from
    // another owner plans nothing until the manifest asks for a change.
    let mark = (ctx.changes.len(), ctx.drift.len());
    plan_settings(ctx, ds, &step, deps.clone(), None)?;
    let owner_only = ctx.changes[mark.0..]
        .iter()
        .any(|c| c.kind != ChangeKind::Refresh);
    if let Some(owner) = foreign_owner(ctx, &step) {
        if !ds.takeover {
            note_owner(ctx, &step, owner);
        } else if owner_only {
            ctx.changes.truncate(mark.0);
            ctx.drift.truncate(mark.1);
            let takeover = plan_takeover(ctx, &step, owner, &deps);
            plan_settings(ctx, ds, &step, vec![takeover.clone()], Some(takeover))?;
        }
    }
    Ok(())
}

/// Everything after the import: parameters, sources, gateway, credentials, schedule and
/// the refresh, after `takeover` when one is planned.
fn plan_settings(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    mut deps: Vec<Address>,
    takeover: Option<Address>,
) -> Result<(), PlanError> {
    let mut settings = Vec::new();
    let parameters = plan_parameters(ctx, ds, step, &deps)?;
    let datasources = plan_datasources(ctx, ds, step, &deps);
    settings.extend(parameters.iter().chain(datasources.iter()).cloned());
    // A parameter change re-points the data sources built from it (a new server is a new
    // data source, without binding or credentials), like an explicit re-pointing.
    let repointed = datasources.or(parameters);
    if let Some(a) = plan_connections(ctx, ds, step, &deps) {
        settings.push(a);
    }
    // Without re-pointing or a new connection, the live data sources are those apply meets.
    let sources_settled = settings.is_empty();
    // What `refresh.onApply: whenChanged` refreshes for: what the dataset loads changes (the
    // PBIX, parameters, sources and their gateway binding, credentials), not its owner or
    // schedule alone (on shared capacity each refresh spends one of the day's eight).
    let mut changed = step.imported || !settings.is_empty();
    if !settings.is_empty() {
        deps = settings;
    }
    let binding = plan_gateway(ctx, ds, step, &deps, repointed.is_some())?;
    if let Some(a) = &binding {
        changed = true;
        deps = vec![a.clone()];
    }
    let reset = if step.imported {
        Some("the import")
    } else if takeover.is_some() {
        Some("the take-over")
    } else if repointed.is_some() {
        Some("re-pointing the data sources")
    } else {
        binding.as_ref().map(|_| "the gateway binding")
    };
    let creds = plan_credentials(ctx, ds, step, &deps, reset, sources_settled);
    changed |= creds.changed;
    if !creds.planned.is_empty() {
        deps = creds.planned;
    }
    let mut all_deps = deps.clone();
    if let Some(a) = plan_schedule(ctx, ds, step, &deps) {
        all_deps.push(a);
    }
    plan_refresh(ctx, ds, step, all_deps, changed);
    Ok(())
}

/// A project model's definition deploy. Like an import, it may reset what the service
/// derives from the model (its data sources, so their binding and credentials), so the
/// settings after it are planned as after an import.
fn plan_project(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    project: &DesiredProject,
    deps: &[Address],
) -> Option<Address> {
    let item = project::Item {
        kind: ProjectKind::SemanticModel,
        addr: &step.addr,
        target: &step.item,
        path: &ds.pbix_path,
        sha256: &ds.pbix_sha256,
        live_id: step.live.map(|l| l.id.as_str()),
        recorded: step
            .entry
            .map(|e| (e.dataset_id.as_str(), e.pbix_sha256.as_str())),
        bind_to: None,
        allow_data_loss: project.allow_data_loss,
    };
    project::plan_definition(ctx, &item, deps)
}

fn plan_import(
    ctx: &mut Ctx<'_>,
    ws: &DesiredWorkspace,
    ds: &DesiredDataset,
    step: &mut Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let addr = step.addr.clone();
    let mut hash_attr = AttrDiff::values(
        "pbix_sha256",
        step.entry.map(|e| json!(e.pbix_sha256)),
        json!(ds.pbix_sha256),
    );
    let (action, reason) = match (step.live, step.entry) {
        (None, None) => (Action::Create, "not in the service".to_string()),
        (None, Some(_)) => {
            ctx.note(&addr, DriftKind::DeletedInService, "the ledger records this dataset but it is no longer in the service; it will be imported again".into(), vec![]);
            (
                Action::Create,
                "deleted in the service since the last apply".to_string(),
            )
        }
        (Some(_), None) => {
            ctx.note(&addr, DriftKind::NotTracked, "no ledger entry: the PBIX content in the service cannot be compared, so it is imported again (use `pbideploy state adopt` to record it instead)".into(), vec![]);
            hash_attr = hash_attr.with_note("not tracked");
            (
                Action::Update,
                "content not tracked (no ledger entry)".to_string(),
            )
        }
        (Some(live), Some(entry)) => {
            let republished = republished(ctx, ws, live, entry);
            if let Some(why) = republished {
                ctx.note(&addr, DriftKind::RepublishedOutside, format!("re-published outside pbideploy since our import ({why}); it will be imported again"), vec![]);
                (
                    Action::Update,
                    format!("re-published by someone else ({why})"),
                )
            } else if !entry.pbix_sha256.eq_ignore_ascii_case(&ds.pbix_sha256) {
                hash_attr = hash_attr.with_note("forces re-import");
                (Action::Update, "PBIX content changed".to_string())
            } else {
                return None;
            }
        }
    };
    let id_attr = match step.live {
        Some(l) => AttrDiff::unchanged("id", json!(l.id)),
        None => AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
    };
    let mut attrs = vec![
        AttrDiff::values("pbix", None, json!(ds.pbix_path)),
        hash_attr,
        id_attr,
    ];
    attrs.extend(sources::imported_attrs(ds));
    let c = change(
        addr,
        ChangeKind::Dataset,
        action,
        reason,
        deps.to_vec(),
        Operation::Import(ImportSpec {
            target: step.item.clone(),
            pbix_path: ds.pbix_path.clone(),
            pbix_sha256: ds.pbix_sha256.clone(),
            overwrite: step.live.is_some(),
            skip_report: !ds.keep_report,
            bind_to: None,
        }),
        attrs,
    );
    Some(ctx.push(c))
}

/// Why the live dataset is not the one we imported, if it is not.
fn republished(
    ctx: &Ctx<'_>,
    ws: &DesiredWorkspace,
    live: &LiveDataset,
    entry: &DatasetEntry,
) -> Option<String> {
    if !entry.dataset_id.eq_ignore_ascii_case(&live.id) {
        return Some(format!(
            "dataset id {} is now {}",
            entry.dataset_id, live.id
        ));
    }
    let ours = entry.import_id.as_deref()?;
    let lw = ctx.live.workspace(&ws.name)?;
    let newest = lw
        .imports
        .iter()
        .filter(|i| {
            i.dataset_ids
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&live.id))
        })
        .max_by(|a, b| a.updated.cmp(&b.updated))?;
    if newest.id.eq_ignore_ascii_case(ours) {
        return None;
    }
    match (&newest.updated, &entry.imported_at) {
        (Some(t), Some(mine)) if t <= mine => None,
        _ => Some(format!("import {} is newer than ours ({ours})", newest.id)),
    }
}

/// The dataset's owner when it is not the deploying principal (and no import makes us the
/// owner first).
fn foreign_owner<'a>(ctx: &Ctx<'_>, step: &Step<'a>) -> Option<&'a str> {
    let owner = step.live?.configured_by.as_deref()?;
    (!step.imported && !ctx.live.principal.is(owner)).then_some(owner)
}

/// `takeover` is off and another principal owns the dataset: drift, unless adopt recorded
/// this very owner.
fn note_owner(ctx: &mut Ctx<'_>, step: &Step<'_>, owner: &str) {
    let recorded = step.entry.and_then(|e| e.owner.as_deref());
    if recorded.is_some_and(|r| r.eq_ignore_ascii_case(owner)) {
        return;
    }
    ctx.note(
        &step.addr,
        DriftKind::OwnerChanged,
        format!("owned by {owner}, and `takeover` is off: owner-only steps may fail"),
        vec![],
    );
}

fn plan_takeover(ctx: &mut Ctx<'_>, step: &Step<'_>, owner: &str, deps: &[Address]) -> Address {
    let us = ctx
        .live
        .principal
        .identities
        .first()
        .cloned()
        .unwrap_or_default();
    let c = change(
        step.addr.child("takeover"),
        ChangeKind::Takeover,
        Action::Update,
        format!("the dataset is owned by {owner}, not the deploying principal"),
        deps.to_vec(),
        Operation::TakeOver {
            dataset: step.item.clone(),
        },
        vec![AttrDiff::values("owner", Some(json!(owner)), json!(us))],
    );
    ctx.push(c)
}
