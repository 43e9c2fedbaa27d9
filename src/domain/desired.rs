//! The planner's input: what should exist, normalized and independent of the YAML manifest.
//!
//! The manifest module converts a parsed manifest (with the environment and variables applied)
//! into these types; the caller also computes PBIX hashes and credential fingerprints, so the
//! planner itself reads no files and no secrets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::operation::{
    CredentialSpec, DatasourceRef, GatewayRef, ItemRef, Principal, RefreshSchedule, WorkspaceRole,
};

/// Everything the manifest asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredState {
    pub workspaces: Vec<DesiredWorkspace>,
}

/// A workspace and its content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredWorkspace {
    pub name: String,
    /// Create the workspace when missing (otherwise a missing workspace is an error).
    pub create: bool,
    /// `Some(None)` = shared capacity; `Some(Some(id))` = that capacity; `None` = not managed.
    pub capacity: Option<Option<String>>,
    /// Roles of the principals the manifest names; other principals are left alone.
    pub access: Vec<DesiredAccess>,
    /// Delete ledger-managed items of this workspace that the manifest no longer lists.
    pub prune: bool,
    pub datasets: Vec<DesiredDataset>,
    pub reports: Vec<DesiredReport>,
}

/// One principal's wanted role; `None` removes the principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAccess {
    pub principal: Principal,
    pub role: Option<WorkspaceRole>,
}

/// A dataset imported from a PBIX or deployed from a Power BI Project folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredDataset {
    pub name: String,
    /// Path as written in the manifest (relative to its directory): the PBIX, or the
    /// project item folder when `project` is set.
    pub pbix_path: String,
    /// SHA-256 of the PBIX, or of the project definition to upload (parameters written
    /// in), computed by the caller.
    pub pbix_sha256: String,
    /// Set for a Power BI Project model: deployed by definition, its parameters are part of
    /// the definition (so `parameters` stays empty here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<DesiredProject>,
    /// Take the dataset over when someone else owns it (default true).
    pub takeover: bool,
    /// Keep the report the PBIX carries (false imports with `skipReport`).
    pub keep_report: bool,
    /// Parameter name -> value (names case-sensitive).
    pub parameters: BTreeMap<String, String>,
    pub datasources: Vec<DatasourceRule>,
    /// Set All Connections (legacy SQL DirectQuery only).
    pub connection_string: Option<String>,
    pub gateway: Option<DesiredGateway>,
    pub credentials: Vec<DesiredCredential>,
    pub refresh: RefreshOnApply,
    pub schedule: Option<RefreshSchedule>,
    /// What the PBIX says an import of it gives the dataset, read by the caller; `None`
    /// when its model could not be read (plan then shows `(known after apply)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileModel>,
}

/// The dataset an import of the PBIX creates, with the manifest's parameter values set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileModel {
    /// Every M parameter the file declares -> its value once the manifest's are set.
    pub parameters: BTreeMap<String, String>,
    /// The data sources the service will derive, with those parameter values, before any
    /// `datasources` rule re-points them.
    pub datasources: Vec<DatasourceRef>,
    /// Data-access calls whose source could not be derived offline (the list may be short).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
}

/// Re-point the data sources that match to new connection details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasourceRule {
    /// Type plus a subset of connection details (case-insensitive).
    pub matches: DatasourceRef,
    pub connection_details: BTreeMap<String, String>,
}

/// Gateway binding for a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredGateway {
    pub gateway: GatewayRef,
    /// Create missing gateway data sources for the dataset's on-premises sources.
    pub create_datasources: bool,
}

/// Credentials for the data sources a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredCredential {
    pub matches: DatasourceRef,
    pub spec: CredentialSpec,
    /// Fingerprint of the resolved secrets, computed by the caller with the ledger's salt.
    pub fingerprint: CredentialFingerprint,
}

/// Whether the caller could fingerprint the secret (it may be absent in a pull-request build).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum CredentialFingerprint {
    Known(String),
    NotAvailable,
}

/// When apply refreshes the dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOnApply {
    Always,
    #[default]
    Never,
    /// When anything of the dataset (content, parameters, sources, credentials) changes.
    WhenChanged,
}

/// A Power BI Project item (deployed through the Fabric items API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredProject {
    /// Models only: an update may drop tables or columns of Import tables.
    #[serde(default)]
    pub allow_data_loss: bool,
}

/// A report PBIX, thin (bound to `dataset`) or not, or a Power BI Project report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredReport {
    pub name: String,
    /// The PBIX, or the project item folder when `project` is set.
    pub pbix_path: String,
    /// SHA-256 of the PBIX, or of the project definition with its binding normalised.
    pub pbix_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<DesiredProject>,
    /// The dataset the report must be bound to, possibly in another workspace.
    pub dataset: Option<ItemRef>,
}

impl DesiredState {
    /// The desired dataset at `item`, if the manifest has it.
    pub fn dataset(&self, item: &ItemRef) -> Option<&DesiredDataset> {
        self.workspaces
            .iter()
            .find(|w| w.name.to_lowercase() == item.workspace.to_lowercase())?
            .datasets
            .iter()
            .find(|d| d.name.to_lowercase() == item.name.to_lowercase())
    }
}
