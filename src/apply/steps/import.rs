//! Import steps: PBIX import with `CreateOrOverwrite` (re-import keeps ids and never
//! duplicates), thin-report retargeting before import and rebinding after it, report
//! rebinds and report deletes.

use std::path::Path;

use super::{StepResult, dataset_address, record, report_address};
use crate::apply::StepError;
use crate::apply::checkpoint::{update_dataset, update_report};
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::pbix::{DatasetTarget, retarget_to_temp};
use crate::plan::model::{Change, ChangeKind, ImportSpec, ItemRef};
use crate::powerbi::types::{Import, ImportOptions};

/// Import a PBIX (dataset or report) and record the ids it produced.
pub async fn import(
    ctx: &StepContext,
    change: &Change,
    spec: &ImportSpec,
    slot: &Slot,
) -> StepResult {
    let ws = ctx.resolver.workspace_id(&spec.target.workspace).await?;
    let path = ctx.options.base_dir.join(&spec.pbix_path);
    let sha = crate::untrusted_file::sha256(&path)
        .map_err(|e| StepError::new(format!("cannot read the PBIX {}: {e}", path.display())))?;
    if !sha.eq_ignore_ascii_case(&spec.pbix_sha256) {
        return Err(StepError::new(format!(
            "the PBIX {} changed since the plan was made; run `pbideploy plan` again",
            spec.pbix_path
        )));
    }
    let is_report = change.kind == ChangeKind::Report;
    let name = &spec.target.name;
    let mut _temp = None;
    let mut upload: &Path = &path;
    let mut bound_id = None;
    if let Some(target) = &spec.bind_to {
        let (_, ds) = ctx.resolver.dataset(target).await?;
        let t = DatasetTarget {
            dataset_id: ds.id.clone(),
            dataset_name: ds.name.clone(),
            workspace_name: target.workspace.clone(),
        };
        let file = retarget_to_temp(&path, &t).map_err(|e| StepError::new(e.to_string()))?;
        _temp = Some(file);
        if let Some(f) = &_temp {
            upload = f.path();
        }
        // A report bound to another dataset would be duplicated by the import: bind it to
        // the dataset its new content names first, so the import overwrites it in place.
        if let Some(r) = ctx.resolver.find_report(&ws, name).await?
            && !same(r.dataset_id.as_deref(), &ds.id)
        {
            ctx.client.rebind_report(&ws, &r.id, &ds.id).await?;
            ctx.resolver.rebound(&ws, &r.id, &ds.id);
        }
        bound_id = Some(ds.id);
    } else if !is_report && !spec.skip_report {
        unbind_own_report(ctx, &ws, name).await?;
    }
    let mut options = ImportOptions::create_or_overwrite(format!("{name}.pbix"));
    options.skip_report = !is_report && spec.skip_report;
    let total = std::fs::metadata(upload).map(|m| m.len()).unwrap_or(0);
    let progress = crate::apply::progress::upload(&ctx.output, change, total);
    let existing = ctx.resolver.imports(&ws).await?;
    let import_id = ctx
        .client
        .import_pbix_after(&ws, &existing, upload, &options, Some(progress))
        .await?;
    let wait = ctx
        .client
        .wait_for_import(&ws, &import_id, ctx.options.import_timeout);
    let done = slot.idle(wait).await?;
    ctx.resolver.import_finished(&ws, &done);
    if is_report {
        finish_report(ctx, spec, &ws, &done, bound_id).await
    } else {
        finish_dataset(ctx, spec, &ws, &done).await
    }
}

fn same(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

/// Before re-importing a dataset PBIX whose report was rebound to another dataset, bind the
/// report back to its own dataset: otherwise the service creates a second report.
async fn unbind_own_report(ctx: &StepContext, ws: &str, name: &str) -> Result<(), StepError> {
    let Some(ds) = ctx.resolver.find_dataset(ws, name).await? else {
        return Ok(());
    };
    if let Some(r) = ctx.resolver.find_report(ws, name).await?
        && !same(r.dataset_id.as_deref(), &ds.id)
    {
        ctx.client.rebind_report(ws, &r.id, &ds.id).await?;
        ctx.resolver.rebound(ws, &r.id, &ds.id);
    }
    Ok(())
}

fn imported_at(done: &Import) -> Option<String> {
    done.updated_date_time
        .clone()
        .or_else(|| done.created_date_time.clone())
}

async fn finish_dataset(
    ctx: &StepContext,
    spec: &ImportSpec,
    ws: &str,
    done: &Import,
) -> StepResult {
    let dataset_id = match done.datasets.first() {
        Some(d) => d.id.clone(),
        None => ctx
            .resolver
            .find_dataset(ws, &spec.target.name)
            .await?
            .map(|d| d.id)
            .ok_or_else(|| {
                StepError::new(format!(
                    "import {} succeeded but produced no dataset {:?}; is the PBIX a thin report? Declare it under `reports`",
                    done.id, spec.target.name
                ))
            })?,
    };
    let report = done.reports.first();
    let made = report.map(|r| (r.id.as_str(), r.name.as_str()));
    ctx.resolver
        .imported_dataset(ws, &spec.target.name, &dataset_id, made);
    let report_id = report.map(|r| r.id.clone());
    let addr = dataset_address(&spec.target);
    record(ctx, |l| {
        update_dataset(l, &addr, &dataset_id, |e| {
            e.pbix_sha256 = spec.pbix_sha256.clone();
            e.import_id = Some(done.id.clone());
            e.imported_at = imported_at(done);
            e.report_id = report_id.clone();
            // The import brought the PBIX's own settings back: what we applied is gone.
            forget_settings(e);
        });
    })?;
    Ok(Some(format!("dataset id={dataset_id}, import {}", done.id)))
}

/// A new model (an import, a definition upload) brings its own settings: forget the
/// parameters, re-pointings, binding, credentials and owner pbideploy recorded for the old one.
pub fn forget_settings(e: &mut crate::ledger::DatasetEntry) {
    e.parameters.clear();
    e.datasource_updates.clear();
    e.connection_string = None;
    e.gateway_id = None;
    e.credentials.clear();
    e.owner = None;
}

async fn finish_report(
    ctx: &StepContext,
    spec: &ImportSpec,
    ws: &str,
    done: &Import,
    bound_id: Option<String>,
) -> StepResult {
    ctx.resolver.reports_changed(ws);
    let report = match done.reports.first() {
        Some(r) => ctx.resolver.find_report(ws, &r.name).await?,
        None => ctx.resolver.find_report(ws, &spec.target.name).await?,
    }
    .ok_or_else(|| {
        StepError::new(format!(
            "import {} succeeded but the report {:?} is not in the workspace",
            done.id, spec.target.name
        ))
    })?;
    // Safety net: the connection rewrite should have bound it already.
    if let Some(id) = &bound_id
        && !same(report.dataset_id.as_deref(), id)
    {
        ctx.client.rebind_report(ws, &report.id, id).await?;
        ctx.resolver.rebound(ws, &report.id, id);
    }
    let addr = report_address(&spec.target);
    record(ctx, |l| {
        update_report(l, &addr, &report.id, |e| {
            e.pbix_sha256 = spec.pbix_sha256.clone();
            e.import_id = Some(done.id.clone());
            e.imported_at = imported_at(done);
            if bound_id.is_some() {
                e.dataset = spec.bind_to.clone();
                e.dataset_id = bound_id.clone();
            } else {
                e.dataset_id = report.dataset_id.clone();
            }
        });
    })?;
    Ok(Some(format!("report id={}, import {}", report.id, done.id)))
}

/// `POST reports/{id}/Rebind` to the dataset (possibly in another workspace).
pub async fn rebind(ctx: &StepContext, report: &ItemRef, dataset: &ItemRef) -> StepResult {
    let (ws, r) = ctx.resolver.report(report).await?;
    let (_, ds) = ctx.resolver.dataset(dataset).await?;
    if !same(r.dataset_id.as_deref(), &ds.id) {
        ctx.client.rebind_report(&ws, &r.id, &ds.id).await?;
        ctx.resolver.rebound(&ws, &r.id, &ds.id);
    }
    let addr = report_address(report);
    record(ctx, |l| {
        update_report(l, &addr, &r.id, |e| {
            e.dataset = Some(dataset.clone());
            e.dataset_id = Some(ds.id.clone());
        });
    })?;
    Ok(Some(format!("bound to dataset {}", ds.id)))
}

/// `DELETE reports/{id}`; a report already gone counts as deleted.
pub async fn delete_report(ctx: &StepContext, report: &ItemRef) -> StepResult {
    if let Some(ws) = ctx.resolver.find_workspace(&report.workspace).await?
        && let Some(r) = ctx.resolver.find_report(&ws, &report.name).await?
    {
        ctx.client.delete_report(&ws, &r.id).await?;
        ctx.resolver.deleted_report(&ws, &r.id);
    }
    let addr = report_address(report);
    record(ctx, |l| {
        l.entries.remove(&addr);
    })?;
    Ok(None)
}
