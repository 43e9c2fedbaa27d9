//! What getDefinition answers: the definition as uploaded, changed where the item changed
//! since through the Power BI API. A report rebound (`Rebind`) names its new model in
//! `definition.pbir`; a model whose parameters were updated (`UpdateParameters`) carries
//! the new values in its expressions. // guess: the service exports the live model, so
//! changes made outside the items API show; parts that did not change keep their bytes

use super::definition::{Kind, report_target};
use super::items::ItemRef;
use super::semantic::{derive, to_project};
use super::state::StoredDefinition;
use crate::app::World;
use crate::util::eq_ci;
use base64::Engine;
use std::collections::BTreeMap;

/// The definition of `item` as the service would export it now.
pub fn live_definition(w: &World, item: &ItemRef, stored: &StoredDefinition) -> StoredDefinition {
    let changed = match item.kind {
        Kind::Report => rebound(w, item, stored),
        Kind::SemanticModel => reparameterised(w, item, stored),
    };
    let Some(new) = changed else {
        return stored.clone();
    };
    let mut out = stored.clone();
    for p in &mut out.parts {
        if let Some(n) = new.parts.iter().find(|n| n.path == p.path) {
            p.payload = base64::engine::general_purpose::STANDARD.encode(&n.bytes);
        }
    }
    out
}

/// The report's definition bound to the dataset it is bound to now, if that moved.
fn rebound(
    w: &World,
    item: &ItemRef,
    stored: &StoredDefinition,
) -> Option<pbix::project::Definition> {
    let now = w
        .model
        .reports
        .iter()
        .find(|r| r.id == item.id)?
        .dataset_id
        .clone();
    let declared = report_target(stored).ok()?;
    if eq_ci(&declared, &now) {
        return None;
    }
    let def = to_project(stored, pbix::project::ItemKind::Report).ok()?;
    pbix::project::bind_report(&def, &now).ok()
}

/// The model's definition with the dataset's current parameter values, where they differ.
fn reparameterised(
    w: &World,
    item: &ItemRef,
    stored: &StoredDefinition,
) -> Option<pbix::project::Definition> {
    let dataset = w.model.datasets.iter().find(|d| d.id == item.id)?;
    let declared = derive(stored).ok()?.parameters;
    let changed: BTreeMap<String, String> = dataset
        .parameters
        .iter()
        .filter(|p| {
            declared
                .iter()
                .any(|d| d.name == p.name && d.current_value != p.current_value)
        })
        .map(|p| (p.name.clone(), p.current_value.clone()))
        .collect();
    if changed.is_empty() {
        return None;
    }
    let def = to_project(stored, pbix::project::ItemKind::SemanticModel).ok()?;
    pbix::project::set_parameters(&def, &changed).ok()
}
