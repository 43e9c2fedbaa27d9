//! Where a dataset's data come from: parameters, re-pointed data sources, connection strings.

use serde_json::json;

use super::Step;
use crate::domain::address::Address;
use crate::domain::desired::DesiredDataset;
use crate::plan::model::{
    Action, AttrDiff, AttrValue, ChangeKind, DatasourceRef, DatasourceUpdate, DriftKind, Operation,
};
use crate::plan::planner::{Ctx, PlanError, change};

pub(super) fn plan_parameters(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Result<Option<Address>, PlanError> {
    let mut values = std::collections::BTreeMap::new();
    let mut attrs = Vec::new();
    for (name, want) in &ds.parameters {
        let have = match step.live {
            Some(l) if !step.imported => match l.parameters.get(name) {
                Some(v) => Some(v.clone()),
                None => {
                    return Err(PlanError::UnknownParameter {
                        address: step.addr.clone(),
                        name: name.clone(),
                        available: l.parameters.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            },
            _ => None,
        };
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        if let (Some(h), Some(applied)) = (&have, step.entry.and_then(|e| e.parameters.get(name)))
            && applied == want
        {
            ctx.note(
                &step.addr,
                DriftKind::SettingsChangedOutside,
                format!("parameter {name} was changed outside pbideploy"),
                vec![AttrDiff::values(
                    &format!("parameter.{name}"),
                    Some(json!(applied)),
                    json!(h),
                )],
            );
        }
        attrs.push(AttrDiff::values(
            &format!("parameter.{name}"),
            have.map(|h| json!(h)),
            json!(want),
        ));
        values.insert(name.clone(), want.clone());
    }
    if values.is_empty() {
        return Ok(None);
    }
    let reason = if step.imported {
        "the import resets parameters to the PBIX's values"
    } else {
        "parameter values differ from the manifest"
    };
    let c = change(
        step.addr.child("parameters"),
        ChangeKind::Parameters,
        Action::Update,
        reason,
        deps.to_vec(),
        Operation::UpdateParameters {
            dataset: step.item.clone(),
            values,
        },
        attrs,
    );
    Ok(Some(ctx.push(c)))
}

pub(super) fn plan_datasources(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let mut updates = Vec::new();
    let mut attrs = Vec::new();
    for rule in &ds.datasources {
        let target = DatasourceRef {
            datasource_type: rule.matches.datasource_type.clone(),
            connection_details: rule.connection_details.clone(),
        };
        let Some(selector) = datasource_to_repoint(ctx, rule, &target, step) else {
            continue;
        };
        attrs.push(AttrDiff::values(
            &format!("datasource[{}]", updates.len()),
            Some(json!(
                selector.as_ref().unwrap_or(&rule.matches).to_string()
            )),
            json!(target.to_string()),
        ));
        updates.push(DatasourceUpdate {
            matches: rule.matches.clone(),
            connection_details: rule.connection_details.clone(),
            selector,
        });
    }
    if updates.is_empty() {
        return None;
    }
    let c = change(
        step.addr.child("datasources"),
        ChangeKind::Datasources,
        Action::Update,
        "data sources point elsewhere than the manifest says",
        deps.to_vec(),
        Operation::UpdateDatasources {
            dataset: step.item.clone(),
            updates,
        },
        attrs,
    );
    Some(ctx.push(c))
}

/// Whether a re-pointing rule has work to do, and what selects the live source: `Some(None)`
/// when the rule's `match` still finds it (or an import brings the PBIX's sources back),
/// `Some(Some(previous))` when an earlier apply re-pointed it (the ledger says to what) and
/// the manifest's target changed since, `None` when it already points at the target.
fn datasource_to_repoint(
    ctx: &mut Ctx<'_>,
    rule: &crate::domain::desired::DatasourceRule,
    target: &DatasourceRef,
    step: &Step<'_>,
) -> Option<Option<DatasourceRef>> {
    let live = match step.live {
        Some(l) if !step.imported => l,
        _ => return Some(None),
    };
    let is_live = |r: &DatasourceRef| live.datasources.iter().any(|d| r.matches(&d.datasource));
    let mut matching = live
        .datasources
        .iter()
        .filter(|d| rule.matches.matches(&d.datasource))
        .peekable();
    if matching.peek().is_some() {
        // A matched source that already has the target details (a `set` that keeps the
        // matched details, e.g. only adds the database) is done.
        return matching
            .any(|d| !target.matches(&d.datasource))
            .then_some(None);
    }
    if is_live(target) {
        return None;
    }
    let previous = step
        .entry
        .and_then(|e| {
            e.datasource_updates
                .iter()
                .find(|(m, _)| m == &rule.matches)
        })
        .map(|(_, details)| DatasourceRef {
            datasource_type: rule.matches.datasource_type.clone(),
            connection_details: details.clone(),
        })
        .filter(|p| is_live(p));
    if previous.is_none() {
        ctx.note(
            &step.addr,
            DriftKind::Note,
            format!(
                "datasource rule `{}` matches none of the dataset's data sources",
                rule.matches
            ),
            vec![],
        );
    }
    previous.map(Some)
}

pub(super) fn plan_connections(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let want = ds.connection_string.as_ref()?;
    let applied = step.entry.and_then(|e| e.connection_string.clone());
    if !step.imported && step.live.is_some() && applied.as_deref() == Some(want.as_str()) {
        return None;
    }
    let c = change(
        step.addr.child("connections"),
        ChangeKind::Connections,
        Action::Update,
        if step.imported {
            "the import resets the connection string"
        } else {
            "connection string not applied yet"
        },
        deps.to_vec(),
        Operation::SetAllConnections {
            dataset: step.item.clone(),
            connection_string: want.clone(),
        },
        vec![AttrDiff::values(
            "connection_string",
            applied.map(|a| json!(a)),
            json!(want),
        )],
    );
    Some(ctx.push(c))
}

/// The data sources the dataset will have after its settings apply (for gateway matching):
/// the live ones, or after an import the PBIX's (when it could be read), re-pointed by the
/// `datasources` rules.
pub(super) fn expected_sources(ds: &DesiredDataset, step: &Step<'_>) -> Vec<DatasourceRef> {
    let start: Vec<DatasourceRef> = match step.live {
        Some(l) if !step.imported => l.datasources.iter().map(|d| d.datasource.clone()).collect(),
        _ => ds
            .file
            .as_ref()
            .map(|f| f.datasources.clone())
            .unwrap_or_default(),
    };
    repointed(start, ds)
}

/// The data sources a new import gives the dataset once its settings apply, when the PBIX
/// says (what a reviewer of the import must see).
pub(super) fn imported_sources(ds: &DesiredDataset) -> Option<Vec<DatasourceRef>> {
    let file = ds.file.as_ref()?;
    Some(repointed(file.datasources.clone(), ds))
}

/// `sources` after the `datasources` rules: each matched source takes the rule's details.
fn repointed(mut out: Vec<DatasourceRef>, ds: &DesiredDataset) -> Vec<DatasourceRef> {
    for rule in &ds.datasources {
        let target = DatasourceRef {
            datasource_type: rule.matches.datasource_type.clone(),
            connection_details: rule.connection_details.clone(),
        };
        out.retain(|d| !rule.matches.matches(d));
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

/// What an import gives the dataset, for the reviewer: every parameter with the value it
/// will have, and the data sources once parameters and `datasources` rules apply (or
/// `(known after apply)` when the PBIX could not be read).
pub(super) fn imported_attrs(ds: &DesiredDataset) -> Vec<AttrDiff> {
    let Some(file) = &ds.file else {
        return vec![AttrDiff::new(
            "datasources",
            None,
            Some(AttrValue::KnownAfterApply),
        )];
    };
    let mut out = Vec::new();
    if !file.parameters.is_empty() {
        out.push(AttrDiff::values("parameters", None, json!(file.parameters)));
    }
    let sources: Vec<String> = imported_sources(ds)
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut attr = AttrDiff::values("datasources", None, json!(sources));
    if !file.unresolved.is_empty() {
        attr = attr.with_note(&format!(
            "and any source of {}, not derivable offline",
            file.unresolved.join(", ")
        ));
    }
    out.push(attr);
    out
}
