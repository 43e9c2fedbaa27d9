//! Power BI Project items as the plan names them: the Fabric item type, how the executor
//! deploys a definition, and which items' live definitions plan reads.

use pbix::project::ItemKind;
use serde::{Deserialize, Serialize};

use crate::domain::address::Address;
use crate::domain::operation::ItemRef;

/// The kind of a project item (the Fabric item type it is deployed as).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProjectKind {
    SemanticModel,
    Report,
}

/// How the executor deploys a project item: `POST items` with its definition when it does
/// not exist, `updateDefinition` when it does; either waits for the long-running operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionSpec {
    /// Where the item goes.
    pub target: ItemRef,
    pub kind: ProjectKind,
    /// The item folder as the manifest gave it (relative to the manifest's directory).
    pub project_path: String,
    /// SHA-256 of the definition to upload (manifest parameters written in; a report's
    /// binding normalised); apply rebuilds it and refuses if it differs.
    pub sha256: String,
    /// True when the item exists: `updateDefinition` instead of a create.
    pub exists: bool,
    /// Reports: the model whose id `definition.pbir` is bound to (`byConnection`) at upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_to: Option<ItemRef>,
    /// The dataset says `allowDataLoss: true`.
    #[serde(default)]
    pub allow_data_loss: bool,
    /// Tables and columns of Import tables the update drops (their data is lost); apply
    /// refuses a non-empty list unless `allow_data_loss`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_loss: Vec<String>,
}

/// A project item whose live definition is wanted.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub address: Address,
    pub item: ItemRef,
    pub kind: ItemKind,
}
