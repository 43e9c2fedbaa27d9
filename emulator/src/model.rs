//! The service's state: the tenant, workspaces, content, gateways, tokens. Serializable so
//! that it can be saved to `--state-file` and shown by `GET /_emulator/state`. Transitions
//! that several routes (or no route: processing that finishes later) share live beside it:
//! [`imports`] (the import state machine) and [`cloud`] (cloud gateway data sources).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::pbix::DetailPiece;

pub mod cloud;
pub mod imports;

/// Everything the emulated service knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Model {
    /// Tenant settings and registered principals.
    pub tenant: Tenant,
    /// Issued access tokens by token string.
    pub tokens: BTreeMap<String, Token>,
    /// Workspaces.
    pub groups: Vec<Group>,
    /// Datasets of all workspaces.
    pub datasets: Vec<Dataset>,
    /// Reports of all workspaces.
    pub reports: Vec<Report>,
    /// Imports of all workspaces.
    pub imports: Vec<Import>,
    /// On-premises gateways.
    pub gateways: Vec<Gateway>,
    /// Per-owner synthetic "cloud gateway" ids (owner object id -> gateway id). // documented: 3.7 (observed)
    pub cloud_gateways: BTreeMap<String, String>,
    /// Datasources of the cloud gateways (credentials of cloud sources live here).
    pub cloud_datasources: Vec<GatewayDatasource>,
    /// Temporary upload locations (blob id -> blob).
    pub blobs: BTreeMap<String, Blob>,
    /// Item definitions, operations and held names of the Fabric items API.
    pub fabric: crate::fabric::state::FabricState,
}

/// Tenant-wide settings, principals, capacities and PBIX fallback views.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tenant {
    /// Any client id/secret gets a token (the default tenant).
    pub open_auth: bool,
    /// Lifetime of issued tokens in seconds.
    pub token_lifetime_secs: u64,
    /// Registered principals.
    pub principals: Vec<Principal>,
    /// Capacities workspaces can be assigned to.
    pub capacities: Vec<Capacity>,
    /// Service views of PBIX files the emulator cannot read, by lower-case SHA-256.
    pub pbix_views: BTreeMap<String, PbixViewSeed>,
}

impl Default for Tenant {
    fn default() -> Self {
        Self {
            open_auth: true,
            token_lifetime_secs: 3600,
            principals: Vec::new(),
            capacities: Vec::new(),
            pbix_views: BTreeMap::new(),
        }
    }
}

/// A principal that can get tokens. Debug redacts the secrets.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Principal {
    /// Application (client) id.
    pub client_id: String,
    /// Object id (used as workspace member identifier); defaults to the client id.
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// `App` or `User`.
    pub principal_type: String,
    /// Client secrets accepted.
    pub secrets: Vec<String>,
    /// Certificate public keys (SPKI PEM) whose signatures are accepted on client assertions.
    pub certificates: Vec<String>,
    /// Federated identity credentials.
    pub federated: Vec<FederatedCredential>,
}

/// A federated identity credential (workload identity federation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FederatedCredential {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `sub`.
    pub subject: String,
    /// Expected `aud` (default `api://AzureADTokenExchange`).
    pub audience: String,
}

/// A capacity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capacity {
    /// Id (GUID, often upper-case in the service).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// SKU, e.g. `P1`.
    pub sku: String,
    /// State, e.g. `Active`.
    pub state: String,
    /// Region.
    pub region: String,
}

/// A PBIX view registered in the tenant file for a model the emulator cannot read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PbixViewSeed {
    /// Datasources.
    pub datasources: Vec<DatasourceSeed>,
    /// Parameters.
    pub parameters: Vec<Parameter>,
}

/// A datasource in a PBIX view seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DatasourceSeed {
    /// e.g. `Sql`.
    pub datasource_type: String,
    /// Connection details object.
    pub connection_details: Map<String, Value>,
    /// Details computed from parameters (see [`DatasetDatasource::parameter_details`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_details: BTreeMap<String, Vec<DetailPiece>>,
}

/// An issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    /// Client id of the principal.
    pub client_id: String,
    /// Object id of the principal.
    pub object_id: String,
    /// `App` or `User`.
    pub principal_type: String,
    /// Expiry, epoch ms.
    pub expires_ms: u64,
}

/// A workspace member.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupUser {
    /// UPN/email for users, object id for apps and groups.
    pub identifier: String,
    /// `User`, `Group`, `App`.
    pub principal_type: String,
    /// `Admin`, `Member`, `Contributor`, `Viewer`.
    pub group_user_access_right: String,
    /// Email address (users).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A workspace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Name (unique per tenant, case-insensitive).
    pub name: String,
    /// Capacity id when on dedicated capacity.
    pub capacity_id: Option<String>,
    /// Members.
    pub users: Vec<GroupUser>,
    /// Last capacity assignment operation.
    pub capacity_assignment: Option<CapacityAssignment>,
}

/// A capacity assignment operation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CapacityAssignment {
    /// Target capacity (zero GUID = shared).
    pub capacity_id: String,
    /// Start, epoch ms.
    pub start_ms: u64,
    /// Completion, epoch ms.
    pub done_ms: u64,
    /// Activity id.
    pub activity_id: String,
}

/// An M parameter of a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Parameter {
    /// Name (case-sensitive).
    pub name: String,
    /// Type: Text, Number, DateTime, Logical, Any, Binary, ...
    #[serde(rename = "type")]
    pub param_type: String,
    /// Whether a value is required.
    pub is_required: bool,
    /// Current value.
    pub current_value: String,
    /// Suggested values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggested_values: Vec<String>,
}

/// A datasource of a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DatasetDatasource {
    /// e.g. `Sql`.
    pub datasource_type: String,
    /// Connection details object.
    pub connection_details: Map<String, Value>,
    /// Id of the gateway datasource it is bound to.
    pub datasource_id: String,
    /// Gateway id (a real gateway or the owner's cloud gateway).
    pub gateway_id: String,
    /// Details whose M value is built from parameters: `Update Parameters` recomputes them.
    /// `Update Datasources` writes literals into the M, so it clears them (a guess).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_details: BTreeMap<String, Vec<DetailPiece>>,
}

/// A refresh schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefreshSchedule {
    /// Days.
    pub days: Vec<String>,
    /// Times HH:mm.
    pub times: Vec<String>,
    /// Enabled.
    pub enabled: bool,
    /// Windows time zone id.
    pub local_time_zone_id: String,
    /// Notification option.
    pub notify_option: String,
}

impl Default for RefreshSchedule {
    fn default() -> Self {
        Self {
            days: Vec::new(),
            times: Vec::new(),
            enabled: false,
            local_time_zone_id: "UTC".into(),
            notify_option: "NoNotification".into(),
        }
    }
}

/// A DirectQuery / LiveConnection refresh schedule: a frequency in minutes, or days and
/// times (documented: Power BI REST API, Datasets - Update Direct Query Refresh Schedule In Group).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectQuerySchedule {
    /// Minutes between cache refreshes (15, 30, 60, 120, 180), when set.
    pub frequency: Option<u32>,
    /// Days.
    pub days: Vec<String>,
    /// Times HH:mm.
    pub times: Vec<String>,
    /// Windows time zone id.
    pub local_time_zone_id: String,
}

impl Default for DirectQuerySchedule {
    fn default() -> Self {
        Self {
            frequency: None,
            days: Vec::new(),
            times: Vec::new(),
            local_time_zone_id: "UTC".into(),
        }
    }
}

/// A refresh history entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Refresh {
    /// Request id.
    pub request_id: String,
    /// Refresh type, e.g. `ViaApi`.
    pub refresh_type: String,
    /// Start, epoch ms.
    pub start_ms: u64,
    /// When it ends, epoch ms.
    pub end_ms: u64,
    /// Final status when finished: `Completed` or `Failed`.
    pub final_status: String,
    /// Error code when failing.
    pub error_code: Option<String>,
}

/// Storage/connection mode of a dataset.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum DatasetMode {
    /// Import mode model.
    #[default]
    Import,
    /// Live connection to Analysis Services.
    LiveConnection,
    /// A model with DirectQuery tables.
    DirectQuery,
}

/// A dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dataset {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Workspace id.
    pub group_id: String,
    /// Owner shown as `configuredBy` (client id or UPN).
    pub configured_by: String,
    /// Owner object id (key of the cloud gateway).
    pub owner_object_id: String,
    /// Created, epoch ms.
    pub created_ms: u64,
    /// Mode.
    pub mode: DatasetMode,
    /// Parameters.
    pub parameters: Vec<Parameter>,
    /// Datasources.
    pub datasources: Vec<DatasetDatasource>,
    /// Real gateway the dataset is bound to.
    pub bound_gateway_id: Option<String>,
    /// Refresh schedule.
    pub refresh_schedule: RefreshSchedule,
    /// DirectQuery / LiveConnection cache refresh schedule.
    pub direct_query_schedule: DirectQuerySchedule,
    /// Refresh history, newest first.
    pub refreshes: Vec<Refresh>,
    /// Whether parameters/datasources changed since the last refresh.
    pub pending_refresh: bool,
    /// SHA-256 of the PBIX it came from.
    pub pbix_sha256: String,
    /// `PremiumFiles` after a PATCH to the large model format (None = `Abf`).
    pub target_storage_mode: Option<String>,
}

/// A report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Report {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Workspace id.
    pub group_id: String,
    /// Bound dataset id.
    pub dataset_id: String,
    /// Workspace of the bound dataset.
    pub dataset_workspace_id: String,
}

/// An import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Import {
    /// Id.
    pub id: String,
    /// Name (display name without extension).
    pub name: String,
    /// Workspace id.
    pub group_id: String,
    /// Created, epoch ms.
    pub created_ms: u64,
    /// When processing finishes, epoch ms.
    pub ready_ms: u64,
    /// `Publishing`, `Succeeded`, `Failed`.
    pub state: String,
    /// Dataset ids created or overwritten (filled on success).
    pub dataset_ids: Vec<String>,
    /// Report ids created or overwritten (filled on success).
    pub report_ids: Vec<String>,
    /// Error when failed.
    pub error: Option<Value>,
    /// The work to do when processing finishes.
    pub pending: Option<PendingImport>,
}

/// What an import does when it finishes processing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PendingImport {
    /// Dataset to overwrite (else create).
    pub overwrite_dataset_id: Option<String>,
    /// Report to overwrite (else create).
    pub overwrite_report_id: Option<String>,
    /// Create a dataset at all.
    pub create_dataset: bool,
    /// Create a report at all.
    pub create_report: bool,
    /// Dataset a thin report binds to.
    pub bind_dataset_id: Option<String>,
    /// Dataset mode.
    pub mode: DatasetMode,
    /// Datasources of the model.
    pub datasources: Vec<DatasourceSeed>,
    /// Parameters of the model.
    pub parameters: Vec<Parameter>,
    /// Importing principal (client id / object id).
    pub owner: (String, String),
    /// SHA-256 of the file.
    pub sha256: String,
    /// Fail instead (fault injection).
    pub fail: bool,
}

/// A gateway.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gateway {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Private key, PKCS#8 PEM (a test tool: tests need it).
    pub private_key_pem: String,
    /// Datasources.
    pub datasources: Vec<GatewayDatasource>,
    /// Whether the gateway is reachable.
    pub reachable: bool,
}

/// A datasource on a gateway (real or cloud).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayDatasource {
    /// Id.
    pub id: String,
    /// Gateway id.
    pub gateway_id: String,
    /// Name.
    pub datasource_name: String,
    /// Type.
    pub datasource_type: String,
    /// Connection details object (a JSON string on the wire).
    pub connection_details: Map<String, Value>,
    /// Credential type.
    pub credential_type: Option<String>,
    /// Stored credentials (plaintext JSON after decryption: a test tool, tests inspect it).
    pub credentials: Option<StoredCredentials>,
    /// Users of the datasource.
    pub users: Vec<Value>,
}

/// Credentials set on a datasource. Debug redacts the credentials.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoredCredentials {
    /// Credential type.
    pub credential_type: String,
    /// Decrypted credentials JSON (empty for caller identity).
    pub credentials_json: String,
    /// Privacy level.
    pub privacy_level: String,
    /// Encrypted connection.
    pub encrypted_connection: String,
    /// Whether the caller's AAD identity is used.
    pub use_caller_aad_identity: bool,
    /// Client id of who set them.
    pub set_by: String,
}

/// A temporary upload location (Azure blob emulation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Blob {
    /// Workspace it was created for.
    pub group_id: String,
    /// Uncommitted blocks: block id -> file path.
    pub blocks: BTreeMap<String, String>,
    /// Committed content file path.
    pub committed: Option<String>,
    /// Expiry, epoch ms.
    pub expires_ms: u64,
}

impl Model {
    /// Finds a group by id (case-insensitive).
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| crate::util::eq_ci(&g.id, id))
    }
    /// Finds a dataset in a group.
    pub fn dataset_idx(&self, group_id: &str, id: &str) -> Option<usize> {
        self.datasets.iter().position(|d| {
            crate::util::eq_ci(&d.id, id) && crate::util::eq_ci(&d.group_id, group_id)
        })
    }
    /// Finds a report in a group.
    pub fn report_idx(&self, group_id: &str, id: &str) -> Option<usize> {
        self.reports.iter().position(|r| {
            crate::util::eq_ci(&r.id, id) && crate::util::eq_ci(&r.group_id, group_id)
        })
    }
    /// Finds a gateway datasource (real or cloud) by gateway and datasource id.
    pub fn gateway_datasource_mut(
        &mut self,
        gateway_id: &str,
        ds_id: &str,
    ) -> Option<(&mut GatewayDatasource, bool)> {
        let eq = crate::util::eq_ci;
        if let Some(gw) = self.gateways.iter_mut().find(|g| eq(&g.id, gateway_id)) {
            return gw
                .datasources
                .iter_mut()
                .find(|d| eq(&d.id, ds_id))
                .map(|d| (d, false));
        }
        self.cloud_datasources
            .iter_mut()
            .find(|d| eq(&d.id, ds_id) && eq(&d.gateway_id, gateway_id))
            .map(|d| (d, true))
    }
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("client_id", &self.client_id)
            .field("object_id", &self.object_id)
            .field("principal_type", &self.principal_type)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("certificates", &self.certificates.len())
            .field("federated", &self.federated)
            .finish()
    }
}

impl std::fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("credential_type", &self.credential_type)
            .field("credentials_json", &"(redacted)")
            .field("privacy_level", &self.privacy_level)
            .field("use_caller_aad_identity", &self.use_caller_aad_identity)
            .field("set_by", &self.set_by)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let p = Principal {
            client_id: "c".into(),
            secrets: vec!["hunter2".into()],
            ..Principal::default()
        };
        let s = StoredCredentials {
            credentials_json: "{\"password\":\"hunter2\"}".into(),
            ..StoredCredentials::default()
        };
        assert!(!format!("{p:?}{s:?}").contains("hunter2"));
    }
}
