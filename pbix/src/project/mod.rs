//! Power BI Projects (PBIP): a semantic model held as a folder of TMDL text or a `model.bim`,
//! a report as PBIR(-Legacy) JSON, deployed through the Fabric items API as a list of
//! *parts* (path + bytes). This module reads such an item into a [`Definition`] (bounded,
//! regular files only, canonical part order, a hash for the ledger), gives its semantic model
//! in the crate's [`Model`] terms (so parameters and data sources are derived exactly as for
//! a PBIX), rewrites parameter values and report bindings in the definition itself, and
//! compares two definitions (data-loss check, unified diffs a reviewer can read).

mod bim;
mod diff;
mod error;
mod json_span;
mod literal;
mod params;
mod read;
mod report;
mod tmdl;

use std::collections::BTreeMap;

pub use diff::{DataLoss, PartDiff, PartStatus, data_loss, diff};
pub use error::{Position, ProjectError};
pub use report::{ReportBinding, bind_report, report_binding};

use crate::Limits;
use crate::model::Model;

/// One file of an item definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Path relative to the item folder, `/` separators (`definition/tables/Sales.tmdl`).
    pub path: String,
    /// The file's bytes, as uploaded.
    pub bytes: Vec<u8>,
}

/// An item's definition: what `POST items` / `updateDefinition` upload and `getDefinition`
/// returns. Parts are sorted by path, so equal content gives equal bytes and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// What the item is.
    pub kind: ItemKind,
    /// Its parts, sorted by path (the canonical order).
    pub parts: Vec<Part>,
}

/// The Fabric item types this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A `*.SemanticModel` folder (Fabric type `SemanticModel`, a Power BI dataset).
    SemanticModel,
    /// A `*.Report` folder (Fabric type `Report`).
    Report,
}

impl ItemKind {
    /// The Fabric item type name (`SemanticModel`, `Report`).
    pub fn fabric_type(self) -> &'static str {
        match self {
            ItemKind::SemanticModel => "SemanticModel",
            ItemKind::Report => "Report",
        }
    }
}

/// The semantic model of a definition: tables (columns, measures, partitions with mode and
/// source), expressions, M parameters and data sources, from TMDL or `model.bim`.
pub fn semantic_model(def: &Definition) -> Result<Model, ProjectError> {
    semantic_model_with(def, &Limits::default())
}

/// [`semantic_model`] under explicit caps (TMDL line length and nesting depth).
pub fn semantic_model_with(def: &Definition, limits: &Limits) -> Result<Model, ProjectError> {
    expect_model(def)?;
    if def.is_tmdl() {
        tmdl::model(def, limits)
    } else {
        bim::model(def)
    }
}

/// The definition with its M parameters set to `values` (name → value as text), each value
/// written as an M literal of the parameter's `Type` in front of its unchanged
/// `meta [...]`. Unknown names and values that do not fit the type or the parameter's
/// `List` are errors. Applying the same values again gives the same bytes.
pub fn set_parameters(
    def: &Definition,
    values: &BTreeMap<String, String>,
) -> Result<Definition, ProjectError> {
    expect_model(def)?;
    params::set(def, values, &Limits::default())
}

fn expect_model(def: &Definition) -> Result<(), ProjectError> {
    match def.kind {
        ItemKind::SemanticModel => Ok(()),
        ItemKind::Report => Err(ProjectError::WrongKind(
            "this is a report definition, not a semantic model; give the `*.SemanticModel` folder"
                .into(),
        )),
    }
}
