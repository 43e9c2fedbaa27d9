//! A snapshot of what the service has, limited to what the manifest touches.
//!
//! Plain data with no I/O so the planner can be tested with values built in code. Names are
//! kept as the service reports them; lookups compare them case-insensitively.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::operation::{DatasourceRef, Principal, RefreshSchedule, WorkspaceRole};

/// Everything `plan` read from the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// Who is deploying: compared with dataset owners to decide on takeover.
    pub principal: LivePrincipal,
    /// Workspaces the manifest names that exist (absent ones are simply missing).
    pub workspaces: Vec<LiveWorkspace>,
    /// Gateways the manifest names, with their public keys and data sources.
    pub gateways: Vec<LiveGateway>,
}

/// The deploying identity as the service shows it in `configuredBy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePrincipal {
    /// Every string `configuredBy` may show for us (UPN, app id, object id): any match is "us".
    pub identities: Vec<String>,
}

impl LivePrincipal {
    /// True when `owner` (a dataset's `configuredBy`) is the deploying principal.
    pub fn is(&self, owner: &str) -> bool {
        self.identities
            .iter()
            .any(|i| i.eq_ignore_ascii_case(owner))
    }
}

/// A workspace with its content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveWorkspace {
    pub id: String,
    pub name: String,
    pub capacity_id: Option<String>,
    pub users: Vec<LiveUser>,
    pub datasets: Vec<LiveDataset>,
    pub reports: Vec<LiveReport>,
    pub imports: Vec<LiveImport>,
}

/// One principal's role on a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveUser {
    pub principal: Principal,
    pub role: WorkspaceRole,
}

/// A dataset and its settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveDataset {
    pub id: String,
    pub name: String,
    /// `configuredBy`: the owner.
    pub configured_by: Option<String>,
    pub created_date: Option<String>,
    /// Parameter name -> current value (names case-sensitive).
    pub parameters: BTreeMap<String, String>,
    pub datasources: Vec<LiveDatasource>,
    /// `None` when not read (e.g. DirectQuery models) or not set.
    pub refresh_schedule: Option<RefreshSchedule>,
}

/// A dataset's data source with its gateway binding and credential status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDatasource {
    pub datasource: DatasourceRef,
    pub gateway_id: Option<String>,
    pub datasource_id: Option<String>,
    /// True when `gateway_id` is a real (on-premises) gateway, not the per-user cloud one.
    pub on_premises_gateway: bool,
    pub credential_status: CredentialStatus,
}

/// What the service says about a data source's stored credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum CredentialStatus {
    Ok,
    /// The status call failed with this error code.
    Failing(String),
    /// Not bound (no gateway/datasource id): no credentials can be stored.
    NotBound,
    /// Not read.
    Unknown,
}

/// A report and the dataset it is bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveReport {
    pub id: String,
    pub name: String,
    pub dataset_id: Option<String>,
    pub dataset_workspace_id: Option<String>,
}

/// One import from the workspace's import history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveImport {
    pub id: String,
    pub name: String,
    pub state: String,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub dataset_ids: Vec<String>,
    pub report_ids: Vec<String>,
}

/// A gateway the manifest names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGateway {
    pub id: String,
    pub name: String,
    /// Base64 RSA modulus and exponent, for credential encryption at apply.
    pub public_key_modulus: String,
    pub public_key_exponent: String,
    pub datasources: Vec<LiveGatewayDatasource>,
}

/// A data source defined on a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGatewayDatasource {
    pub id: String,
    pub name: String,
    pub datasource: DatasourceRef,
    pub credential_type: Option<String>,
}

impl LiveState {
    /// The snapshot as JSON with every list sorted, so that the same state gives the same
    /// value whatever order the service listed things in (a saved plan's live fingerprint
    /// must not go stale on a reordered list). Every list here is a set to the planner: items
    /// are looked up by name or id, and schedule days and times compare as sets.
    pub fn canonical_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        sort_lists(&mut value);
        value
    }

    /// The workspace with this name (case-insensitive).
    pub fn workspace(&self, name: &str) -> Option<&LiveWorkspace> {
        self.workspaces.iter().find(|w| eq_name(&w.name, name))
    }

    /// The workspace with this id.
    pub fn workspace_by_id(&self, id: &str) -> Option<&LiveWorkspace> {
        self.workspaces
            .iter()
            .find(|w| w.id.eq_ignore_ascii_case(id))
    }

    /// A gateway by id or name.
    pub fn gateway(&self, id_or_name: &str) -> Option<&LiveGateway> {
        self.gateways
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(id_or_name) || eq_name(&g.name, id_or_name))
    }
}

impl LiveWorkspace {
    /// Datasets with this name (more than one is a duplicate the plan must report).
    pub fn datasets_named(&self, name: &str) -> Vec<&LiveDataset> {
        self.datasets
            .iter()
            .filter(|d| eq_name(&d.name, name))
            .collect()
    }

    /// Reports with this name.
    pub fn reports_named(&self, name: &str) -> Vec<&LiveReport> {
        self.reports
            .iter()
            .filter(|r| eq_name(&r.name, name))
            .collect()
    }

    /// The dataset with this id.
    pub fn dataset_by_id(&self, id: &str) -> Option<&LiveDataset> {
        self.datasets.iter().find(|d| d.id.eq_ignore_ascii_case(id))
    }
}

fn sort_lists(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(sort_lists);
            items.sort_by_cached_key(ToString::to_string);
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(sort_lists),
        _ => {}
    }
}

/// Power BI names compare case-insensitively.
pub fn eq_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(id: &str, sources: &[&str]) -> LiveDataset {
        LiveDataset {
            id: id.into(),
            name: format!("ds {id}"),
            datasources: sources
                .iter()
                .map(|s| LiveDatasource {
                    datasource: DatasourceRef {
                        datasource_type: "Sql".into(),
                        connection_details: BTreeMap::from([("server".into(), s.to_string())]),
                    },
                    gateway_id: None,
                    datasource_id: None,
                    on_premises_gateway: false,
                    credential_status: CredentialStatus::Ok,
                })
                .collect(),
            ..LiveDataset::default()
        }
    }

    fn state(datasets: Vec<LiveDataset>, import_ids: &[&str], identities: &[&str]) -> LiveState {
        LiveState {
            principal: LivePrincipal {
                identities: identities.iter().map(|s| s.to_string()).collect(),
            },
            workspaces: vec![LiveWorkspace {
                id: "w1".into(),
                name: "Sales".into(),
                datasets,
                imports: vec![LiveImport {
                    id: "i1".into(),
                    dataset_ids: import_ids.iter().map(|s| s.to_string()).collect(),
                    ..LiveImport::default()
                }],
                ..LiveWorkspace::default()
            }],
            gateways: vec![],
        }
    }

    #[test]
    fn canonical_json_ignores_the_order_lists_came_in_but_not_their_content() {
        let a = state(
            vec![dataset("d1", &["s1", "s2"]), dataset("d2", &[])],
            &["d1", "d2"],
            &["app", "upn"],
        );
        let b = state(
            vec![dataset("d2", &[]), dataset("d1", &["s2", "s1"])],
            &["d2", "d1"],
            &["upn", "app"],
        );
        assert_ne!(
            serde_json::to_value(&a).unwrap(),
            serde_json::to_value(&b).unwrap()
        );
        assert_eq!(a.canonical_json(), b.canonical_json());
        let fingerprint = crate::plan::planner::live_fingerprint;
        assert_eq!(
            fingerprint(&a),
            fingerprint(&b),
            "a reordered list is not stale"
        );
        let c = state(
            vec![dataset("d2", &[]), dataset("d1", &["s2", "s3"])],
            &["d2", "d1"],
            &["upn", "app"],
        );
        assert_ne!(a.canonical_json(), c.canonical_json());
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
