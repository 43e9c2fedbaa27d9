//! Power BI Project items: upload the definition through the Fabric items API (create the
//! item with it, or `updateDefinition`), waiting for the long-running operation without
//! holding a step slot, then record the item and the definition's hash in the ledger.

use pbix::project::{self, Definition};

use super::{StepResult, dataset_address, record, report_address};
use crate::apply::StepError;
use crate::apply::checkpoint::{update_dataset, update_report};
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::plan::content::{DefinitionSpec, ProjectKind};
use crate::plan::model::Change;
use crate::powerbi::fabric::{
    self, CreateItem, DefinitionPart, FabricClient, FabricConfig, ItemType, Started,
};

/// Creates the item with its definition, or updates its definition.
pub async fn deploy(
    ctx: &StepContext,
    change: &Change,
    spec: &DefinitionSpec,
    slot: &Slot,
) -> StepResult {
    refuse_data_loss(spec)?;
    let def = desired(ctx, change, spec)?;
    let ws = ctx.resolver.workspace_id(&spec.target.workspace).await?;
    let (upload, bound) = match (spec.kind, &spec.bind_to) {
        (ProjectKind::Report, Some(target)) => {
            let (_, model) = ctx.resolver.dataset(target).await?;
            let def = project::bind_report(def, &model.id)
                .map_err(|e| StepError::new(format!("{}: {e}", spec.project_path)))?;
            (def, Some(model.id))
        }
        _ => (def.clone(), None),
    };
    let fabric = FabricClient::new(ctx.client.clone(), FabricConfig::default())?;
    let wire = fabric::Definition {
        format: None,
        parts: upload
            .parts
            .into_iter()
            .map(|p| DefinitionPart {
                path: p.path,
                bytes: p.bytes,
            })
            .collect(),
    };
    let item_type = match spec.kind {
        ProjectKind::SemanticModel => ItemType::SemanticModel,
        ProjectKind::Report => ItemType::Report,
    };
    let existing = match spec.kind {
        ProjectKind::SemanticModel => ctx
            .resolver
            .find_dataset(&ws, &spec.target.name)
            .await?
            .map(|d| d.id),
        ProjectKind::Report => ctx
            .resolver
            .find_report(&ws, &spec.target.name)
            .await?
            .map(|r| r.id),
    };
    let id = match existing {
        Some(id) => {
            let started = fabric
                .start_update_definition(&ws, &id, &wire, false)
                .await?;
            if let Started::Pending(op) = started {
                slot.idle(fabric.wait(op)).await?;
            }
            id
        }
        None => {
            let create = CreateItem {
                display_name: spec.target.name.clone(),
                item_type,
                description: None,
                folder_id: None,
                definition: wire,
            };
            let item = match fabric.start_create(&ws, &create).await? {
                Started::Done(item) => item,
                Started::Pending(op) => slot.idle(fabric.wait(op)).await?,
            };
            item.id
        }
    };
    finish(ctx, spec, &ws, &id, bound)
}

/// An update that drops imported data goes ahead only when the manifest allows it.
fn refuse_data_loss(spec: &DefinitionSpec) -> Result<(), StepError> {
    if spec.data_loss.is_empty() || spec.allow_data_loss {
        return Ok(());
    }
    Err(StepError::new(format!(
        "refused: the update of {} drops {}, whose imported data would be lost; nothing was sent",
        spec.project_path,
        spec.data_loss.join(", ")
    ))
    .with_hint("if that is intended, set `allowDataLoss: true` on the dataset and refresh it after apply; otherwise restore the table or column in the model"))
}

/// The definition built when the plan was made, checked against the plan's hash.
fn desired<'a>(
    ctx: &'a StepContext,
    change: &Change,
    spec: &DefinitionSpec,
) -> Result<&'a Definition, StepError> {
    let def = ctx
        .options
        .definitions
        .as_ref()
        .and_then(|d| d.items.get(&change.address))
        .ok_or_else(|| {
            StepError::new(format!(
                "the definition of {} was not built for this apply",
                spec.project_path
            ))
        })?;
    if !def.sha256().eq_ignore_ascii_case(&spec.sha256) {
        return Err(StepError::new(format!(
            "the project {} changed since the plan was made; run `pbideploy plan` again",
            spec.project_path
        )));
    }
    Ok(def)
}

fn finish(
    ctx: &StepContext,
    spec: &DefinitionSpec,
    ws: &str,
    id: &str,
    bound: Option<String>,
) -> StepResult {
    match spec.kind {
        ProjectKind::SemanticModel => {
            ctx.resolver
                .imported_dataset(ws, &spec.target.name, id, None);
            let addr = dataset_address(&spec.target);
            record(ctx, |l| {
                update_dataset(l, &addr, id, |e| {
                    e.pbix_sha256 = spec.sha256.clone();
                    e.import_id = None;
                    e.imported_at = None;
                    e.report_id = None;
                    // The new definition's data sources replace what was bound and credentialed.
                    super::import::forget_settings(e);
                });
            })?;
            Ok(Some(format!("semantic model id={id}")))
        }
        ProjectKind::Report => {
            ctx.resolver.reports_changed(ws);
            let addr = report_address(&spec.target);
            record(ctx, |l| {
                update_report(l, &addr, id, |e| {
                    e.pbix_sha256 = spec.sha256.clone();
                    e.import_id = None;
                    e.imported_at = None;
                    e.dataset = spec.bind_to.clone();
                    e.dataset_id = bound.clone();
                });
            })?;
            Ok(Some(format!("report id={id}")))
        }
    }
}
