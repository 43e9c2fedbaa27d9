//! What the live reader reads: `plan` only what the manifest manages, `init` everything of
//! the workspaces it names. A scope is data; [`super::read`] acts on it.

use crate::domain::desired::{DesiredDataset, DesiredState, DesiredWorkspace};
use crate::domain::operation::GatewayRef;

/// What to read: `plan` reads only what the manifest manages ([`ReadScope::of_desired`]);
/// `init` reads everything of the workspaces it is given ([`ReadScope::everything`]).
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    pub workspaces: Vec<WorkspaceScope>,
    /// `None`: every gateway the principal can see; `Some(refs)`: only these (often none).
    pub gateways: Option<Vec<GatewayRef>>,
    /// Skip a dataset detail or a user list the service refuses (noting why) instead of
    /// failing: `init` describes what it can read; `plan` must not guess.
    pub tolerant: bool,
}

/// What to read of one workspace (by name).
#[derive(Debug, Clone, Default)]
pub struct WorkspaceScope {
    pub name: String,
    /// Its users and their roles.
    pub users: bool,
    /// Its datasets, reports and imports.
    pub content: bool,
    /// Per dataset name, which details to read; `every_dataset` applies to all of them.
    pub datasets: Vec<(String, DatasetScope)>,
    pub every_dataset: Option<DatasetScope>,
}

/// Which details of one dataset to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetScope {
    pub parameters: bool,
    pub datasources: bool,
    /// Its data sources bound to on-premises gateways.
    pub bound_gateway_sources: bool,
    pub credential_status: bool,
    pub schedule: bool,
    /// Read the DirectQuery refresh schedule instead of the import one (the manifest's
    /// schedule sets a `frequency`).
    pub direct_query_schedule: bool,
}

impl DatasetScope {
    /// Every detail.
    pub const ALL: Self = Self {
        parameters: true,
        datasources: true,
        bound_gateway_sources: true,
        credential_status: true,
        schedule: true,
        direct_query_schedule: false,
    };

    /// Only what the manifest manages for `ds`.
    fn of_desired(ds: &DesiredDataset) -> Self {
        Self {
            parameters: !ds.parameters.is_empty(),
            datasources: !ds.datasources.is_empty()
                || ds.gateway.is_some()
                || !ds.credentials.is_empty(),
            bound_gateway_sources: ds.gateway.is_some(),
            credential_status: !ds.credentials.is_empty(),
            schedule: ds.schedule.is_some(),
            direct_query_schedule: ds.schedule.as_ref().is_some_and(|s| s.frequency.is_some()),
        }
    }
}

impl ReadScope {
    /// What `plan` needs for `desired`: only the features the manifest manages.
    pub fn of_desired(desired: &DesiredState) -> Self {
        Self {
            workspaces: desired.workspaces.iter().map(workspace_scope).collect(),
            gateways: Some(wanted_gateways(desired)),
            tolerant: false,
        }
    }

    /// Everything of the named workspaces, and every gateway (for `init`).
    pub fn everything(workspaces: &[String]) -> Self {
        Self {
            workspaces: workspaces
                .iter()
                .map(|name| WorkspaceScope {
                    name: name.clone(),
                    users: true,
                    content: true,
                    datasets: Vec::new(),
                    every_dataset: Some(DatasetScope::ALL),
                })
                .collect(),
            gateways: None,
            tolerant: true,
        }
    }
}

fn workspace_scope(ws: &DesiredWorkspace) -> WorkspaceScope {
    WorkspaceScope {
        name: ws.name.clone(),
        users: !ws.access.is_empty(),
        content: !ws.datasets.is_empty() || !ws.reports.is_empty() || ws.prune,
        datasets: ws
            .datasets
            .iter()
            .map(|d| (d.name.clone(), DatasetScope::of_desired(d)))
            .collect(),
        every_dataset: None,
    }
}

/// The gateways the manifest names (by id or by name).
fn wanted_gateways(desired: &DesiredState) -> Vec<GatewayRef> {
    let mut wanted: Vec<GatewayRef> = Vec::new();
    for ds in desired.workspaces.iter().flat_map(|w| w.datasets.iter()) {
        if let Some(g) = &ds.gateway
            && !wanted.contains(&g.gateway)
        {
            wanted.push(g.gateway.clone());
        }
    }
    wanted
}
