//! The planner: a pure function of (desired, live, ledger) to a [`Plan`]. No I/O, no clock.
//!
//! Assumptions about the service (documented because the planner relies on them):
//! - A (re-)import with overwrite resets what the PBIX defines: parameters, data sources and
//!   gateway binding come back as in the file, and the importer becomes the owner. So after an
//!   import every parameter, re-pointing, binding and credential of that dataset is planned
//!   again, and no takeover is planned.
//! - Take over ties cloud credentials to the new owner: credentials are planned again after it.
//! - Re-pointing a data source gives it a new data source id without credentials: they are
//!   planned again after Update Datasources.
//! - A refresh schedule survives an overwrite import; it is compared with the live one.

mod dataset;
mod project;
mod report;
mod workspace;

use sha2::{Digest, Sha256};

use super::graph::{Graph, GraphError};
use super::model::{
    AttrDiff, Change, ChangeKind, Drift, DriftKind, FileFingerprint, Operation,
    PLAN_FORMAT_VERSION, Plan,
};
use crate::domain::address::Address;
use crate::domain::desired::DesiredState;
use crate::ledger::Ledger;
use crate::live::model::LiveState;

/// Everything about a plan that is not desired, live or ledger state.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Limit the plan to these addresses and what they depend on.
    pub targets: Vec<Address>,
    /// Only report drift; plan no changes.
    pub refresh_only: bool,
    /// RFC 3339 time to record (the planner reads no clock).
    pub created_at: String,
    pub manifest: FileFingerprint,
    pub environment: Option<String>,
}

/// Why no plan could be made; each says which item and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "workspace \"{0}\" does not exist in the service; set `create: true` on it in the manifest, or create it and give the deploying principal access"
    )]
    MissingWorkspace(String),
    #[error(
        "{address}: the service has {count} items with this name, so the plan cannot tell which one the manifest means; delete or rename the extras"
    )]
    Duplicate { address: Address, count: usize },
    #[error(
        "{address}: gateway \"{gateway}\" was not found (is the deploying principal a gateway admin?)"
    )]
    UnknownGateway { address: Address, gateway: String },
    #[error(
        "{address}: report binds to dataset \"{dataset}\" in workspace \"{workspace}\", which is neither in the manifest nor in the service"
    )]
    UnknownDataset {
        address: Address,
        workspace: String,
        dataset: String,
    },
    #[error(
        "{address}: parameter \"{name}\" does not exist in the dataset (it has: {available}); names are case-sensitive"
    )]
    UnknownParameter {
        address: Address,
        name: String,
        available: String,
    },
    #[error(
        "{address}: creating gateway data source {datasource} needs credentials; add a credentials entry matching it"
    )]
    GatewayDatasourceNeedsCredentials {
        address: Address,
        datasource: String,
    },
    #[error(
        "--target {0} matches nothing in the plan; run plan without --target to see the addresses"
    )]
    UnknownTarget(Address),
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// Work in progress: the changes and drift found so far.
pub(crate) struct Ctx<'a> {
    pub live: &'a LiveState,
    pub ledger: &'a Ledger,
    pub changes: Vec<Change>,
    pub drift: Vec<Drift>,
}

impl Ctx<'_> {
    /// Record a change; returns its address for `depends_on`.
    pub fn push(&mut self, change: Change) -> Address {
        let a = change.address.clone();
        self.changes.push(change);
        a
    }

    /// Record drift or a note.
    pub fn note(
        &mut self,
        address: &Address,
        kind: DriftKind,
        message: String,
        attrs: Vec<AttrDiff>,
    ) {
        self.drift.push(Drift {
            address: address.clone(),
            kind,
            message,
            attrs,
        });
    }
}

/// Build a change (keeps call sites short).
pub(crate) fn change(
    address: Address,
    kind: ChangeKind,
    action: super::model::Action,
    reason: impl Into<String>,
    depends_on: Vec<Address>,
    operation: Operation,
    attrs: Vec<AttrDiff>,
) -> Change {
    Change {
        address,
        kind,
        action,
        attrs,
        reason: reason.into(),
        depends_on,
        operation,
    }
}

/// Compare desired with live and the ledger, and return the plan.
pub fn plan(
    desired: &DesiredState,
    live: &LiveState,
    ledger: &Ledger,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let mut ctx = Ctx {
        live,
        ledger,
        changes: Vec::new(),
        drift: Vec::new(),
    };
    // Deletions first: a reviewer sees what goes before what comes, and apply frees names
    // before it creates.
    for ws in &desired.workspaces {
        workspace::plan_prune(&mut ctx, ws);
    }
    for ws in &desired.workspaces {
        let prereqs = workspace::plan_workspace(&mut ctx, ws)?;
        for ds in &ws.datasets {
            dataset::plan_dataset(&mut ctx, ws, ds, &prereqs)?;
        }
    }
    for ws in &desired.workspaces {
        let prereqs = workspace_prereqs(&ctx, &ws.name);
        for r in &ws.reports {
            report::plan_report(&mut ctx, desired, ws, r, &prereqs)?;
        }
    }
    workspace::note_orphan_workspaces(&mut ctx, desired);

    let all = std::mem::take(&mut ctx.changes);
    // Order even when refresh-only: a cycle is a bug to surface either way.
    let ordered = select_and_order(all, &options.targets)?;
    let changes = if options.refresh_only {
        Vec::new()
    } else {
        ordered
    };
    let mut pbix: Vec<FileFingerprint> = Vec::new();
    for c in &changes {
        if let Operation::Import(spec) = &c.operation {
            pbix.push(FileFingerprint {
                path: spec.pbix_path.clone(),
                sha256: spec.pbix_sha256.clone(),
            });
        }
    }
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: options.created_at.clone(),
        manifest: options.manifest.clone(),
        environment: options.environment.clone(),
        live_fingerprint: live_fingerprint(live),
        ledger_fingerprint: Some(ledger_fingerprint(ledger)),
        pbix,
        refresh_only: options.refresh_only,
        targets: options.targets.clone(),
        changes,
        drift: ctx.drift,
        content: Vec::new(),
    })
}

/// Workspace-level changes already planned for `name` (content depends on them).
fn workspace_prereqs(ctx: &Ctx<'_>, name: &str) -> Vec<Address> {
    let ws = Address::workspace(name);
    ctx.changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ChangeKind::Workspace | ChangeKind::Capacity | ChangeKind::Access
            ) && c.address.starts_with(&ws)
        })
        .map(|c| c.address.clone())
        .collect()
}

/// Keep the targets' closure (when targets are given) and put changes in dependency order.
fn select_and_order(changes: Vec<Change>, targets: &[Address]) -> Result<Vec<Change>, PlanError> {
    let graph = Graph::new(&changes)?;
    let keep = if targets.is_empty() {
        None
    } else {
        let closure = graph.closure(targets);
        for t in targets {
            if !changes.iter().any(|c| c.address.starts_with(t)) {
                return Err(PlanError::UnknownTarget(t.clone()));
            }
        }
        Some(closure)
    };
    let order = graph.topological_order();
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter(|i| keep.as_ref().is_none_or(|k| k.contains(i)))
        .filter_map(|i| slots[i].take())
        .collect())
}

/// SHA-256 of the live snapshot's canonical JSON (lists sorted): `apply PLANFILE` compares
/// it to refuse a stale plan.
pub fn live_fingerprint(live: &LiveState) -> String {
    let json = serde_json::to_vec(&live.canonical_json()).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// SHA-256 of the ledger's entries (not its salt: a ledger not yet written gets a new random
/// salt on every read, yet has not moved).
pub fn ledger_fingerprint(ledger: &Ledger) -> String {
    let json = serde_json::to_vec(&ledger.entries).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

#[cfg(test)]
mod tests;
