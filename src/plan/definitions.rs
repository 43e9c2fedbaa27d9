//! The definitions pbideploy uploads for Power BI Project items, built from their folders:
//! a model with the manifest's parameter values written into its expressions (so the
//! service never holds the file's defaults, and nothing resets them later), a report with
//! its binding normalised. Both are byte for byte reproducible (canonical part order), so
//! their SHA-256 is what the ledger records and what the next plan compares.

use std::collections::BTreeMap;
use std::path::Path;

use pbix::project::{self, Definition, ItemKind};

use crate::domain::address::Address;

/// The model id a report's binding is normalised to before hashing: the id of the model
/// it will be bound to is only known at apply time (and differs per environment), and must
/// not make every environment's report look changed.
pub const UNBOUND_MODEL_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The desired definitions of a plan's project items, by item address.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub items: BTreeMap<Address, Definition>,
}

/// Why a project folder cannot be turned into the definition to upload.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DefinitionError {
    /// The item folder.
    pub path: String,
    #[source]
    pub source: project::ProjectError,
}

/// Reads a `*.SemanticModel` folder and writes `parameters` into it.
pub fn model(
    dir: &Path,
    parameters: &BTreeMap<String, String>,
) -> Result<Definition, DefinitionError> {
    let err = |source| DefinitionError {
        path: dir.display().to_string(),
        source,
    };
    let def = Definition::read_dir(dir, &pbix::Limits::default()).map_err(err)?;
    if parameters.is_empty() {
        return Ok(def);
    }
    project::set_parameters(&def, parameters).map_err(err)
}

/// Reads a `*.Report` folder, its binding normalised to [`UNBOUND_MODEL_ID`].
pub fn report(dir: &Path) -> Result<Definition, DefinitionError> {
    let err = |source| DefinitionError {
        path: dir.display().to_string(),
        source,
    };
    let def = Definition::read_dir(dir, &pbix::Limits::default()).map_err(err)?;
    normalise_report(&def).map_err(err)
}

/// A report definition (desired or live) with its binding normalised, so two definitions
/// that differ only in the model they are bound to compare equal.
pub fn normalise_report(def: &Definition) -> Result<Definition, project::ProjectError> {
    project::bind_report(def, UNBOUND_MODEL_ID)
}

/// The kind of item a definition is, in the plan's terms.
pub fn kind_of(def: &Definition) -> super::content::ProjectKind {
    match def.kind {
        ItemKind::SemanticModel => super::content::ProjectKind::SemanticModel,
        ItemKind::Report => super::content::ProjectKind::Report,
    }
}
