//! The Plan: what `plan` found and what `apply` will do, as serializable data.
//!
//! This is the contract between the planner, the renderers (text, Markdown, JSON), saved plan
//! files and the executor. It holds no secret values: credentials appear only as their
//! references (`env:NAME`) and a fingerprint status. Changes refer to each other by address,
//! which makes the dependency graph readable in every output format.

use serde::{Deserialize, Serialize};

pub use super::address::{Address, AddressError, Segment};
pub use super::operation::*;

/// Version of the plan file / JSON output format. Minor bumps add fields (consumers ignore
/// unknown keys); a major bump is breaking, and `apply PLANFILE` refuses other majors.
pub const PLAN_FORMAT_VERSION: &str = "1.1";

/// A complete plan: the changes, the drift noticed, and fingerprints of every input so that
/// `apply PLANFILE` can refuse a stale plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`] when written.
    pub format_version: String,
    /// The pbideploy version that made the plan.
    pub tool_version: String,
    /// When the plan was made, RFC 3339 UTC (supplied by the caller: the planner reads no clock).
    pub created_at: String,
    /// The manifest file the plan was made from.
    pub manifest: FileFingerprint,
    /// The manifest environment (`--env`), if any.
    pub environment: Option<String>,
    /// SHA-256 (hex) of the canonical JSON of the live snapshot read; apply re-reads and compares.
    pub live_fingerprint: String,
    /// SHA-256 (hex) of the ledger's entries the plan was made from; apply refuses the plan
    /// when the ledger moved since (another run applied). Absent in plans from before it was
    /// recorded, which are not checked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_fingerprint: Option<String>,
    /// Every PBIX file the plan would import, with its content hash.
    pub pbix: Vec<FileFingerprint>,
    /// True for `--refresh-only`: `changes` is empty and `drift` is the point.
    pub refresh_only: bool,
    /// The `--target` addresses, when the plan was limited to them.
    pub targets: Vec<Address>,
    /// The changes in a deterministic dependency order (a topological order of `depends_on`).
    pub changes: Vec<Change>,
    /// Differences between the ledger and the service made outside pbideploy, and notes.
    pub drift: Vec<Drift>,
}

/// A file that went into a plan, by path and content hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFingerprint {
    /// Path as given (relative to the manifest's directory for PBIX files).
    pub path: String,
    /// Lowercase hex SHA-256 of the file content.
    pub sha256: String,
}

/// One change to the service. Its `address` is also its id for `depends_on`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Unique within a plan, e.g. `workspace["Sales"].dataset["Sales Model"].parameters`.
    pub address: Address,
    /// What sort of thing changes (grouping, wording and the executor's dispatch).
    pub kind: ChangeKind,
    /// Create, update, delete, replace or no-op.
    pub action: Action,
    /// Attribute-level before/after, in a stable order.
    pub attrs: Vec<AttrDiff>,
    /// Why this change is planned, in words a reviewer understands.
    pub reason: String,
    /// Addresses of the changes that must succeed first.
    pub depends_on: Vec<Address>,
    /// Exactly what the executor sends (names, not ids; no secret values).
    pub operation: Operation,
}

/// The sort of thing a change touches; one per service operation family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Create or delete a workspace.
    Workspace,
    /// Assign a workspace to a capacity (or back to shared).
    Capacity,
    /// One principal's role on a workspace.
    Access,
    /// Import (or re-import, or delete) a PBIX that carries a dataset.
    Dataset,
    /// Import (or delete) a report PBIX, thin or not.
    Report,
    /// Take over a dataset so the deploying principal owns it.
    Takeover,
    /// Update dataset (M) parameters.
    Parameters,
    /// Re-point data sources (Update Datasources).
    Datasources,
    /// Set All Connections (legacy SQL DirectQuery datasets only).
    Connections,
    /// Create a data source on an on-premises gateway.
    GatewayDatasource,
    /// Bind a dataset to a gateway.
    GatewayBinding,
    /// Set one data source's credentials.
    Credentials,
    /// Trigger a dataset refresh.
    Refresh,
    /// Set a dataset's refresh schedule.
    RefreshSchedule,
    /// Rebind a report to a dataset.
    Rebind,
}

impl ChangeKind {
    /// A short human name for headings, e.g. `refresh schedule`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::Capacity => "capacity",
            Self::Access => "access",
            Self::Dataset => "dataset",
            Self::Report => "report",
            Self::Takeover => "takeover",
            Self::Parameters => "parameters",
            Self::Datasources => "datasources",
            Self::Connections => "connections",
            Self::GatewayDatasource => "gateway datasource",
            Self::GatewayBinding => "gateway binding",
            Self::Credentials => "credentials",
            Self::Refresh => "refresh",
            Self::RefreshSchedule => "refresh schedule",
            Self::Rebind => "rebind",
        }
    }
}

/// What happens to the addressed thing, with Terraform's meanings and symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+` it will exist and does not yet.
    Create,
    /// `~` changed in place (re-import with overwrite keeps ids, so it is an update).
    Update,
    /// `-` it will be removed.
    Delete,
    /// `-/+` removed and created again (ids change).
    Replace,
    /// Nothing to do (kept so `--target` and JSON consumers can see what was checked).
    NoOp,
    /// `<=` only read at apply time.
    Read,
}

impl Action {
    /// Terraform's symbol for the action.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Create => "+",
            Self::Update => "~",
            Self::Delete => "-",
            Self::Replace => "-/+",
            Self::NoOp => " ",
            Self::Read => "<=",
        }
    }

    /// True for actions that change the service.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Delete | Self::Replace
        )
    }
}

/// One attribute's before and after values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrDiff {
    /// Attribute name, e.g. `capacity`, `parameter.ServerName`, `pbix_sha256`.
    pub name: String,
    /// Value now; `None` when the thing does not exist yet or the value is unknown.
    pub before: Option<AttrValue>,
    /// Value after apply; `None` when the thing will be deleted.
    pub after: Option<AttrValue>,
    /// True when values must never be shown (they are [`AttrValue::Sensitive`] anyway).
    #[serde(default)]
    pub sensitive: bool,
    /// A note shown beside the attribute, e.g. `forces re-import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AttrDiff {
    /// An attribute whose value changes (or is set for the first time).
    pub fn new(name: &str, before: Option<AttrValue>, after: Option<AttrValue>) -> Self {
        Self {
            name: name.to_string(),
            before,
            after,
            sensitive: false,
            note: None,
        }
    }

    /// A plain before -> after of JSON values.
    pub fn values(name: &str, before: Option<serde_json::Value>, after: serde_json::Value) -> Self {
        Self::new(
            name,
            before.map(AttrValue::Value),
            Some(AttrValue::Value(after)),
        )
    }

    /// An attribute unchanged by the plan (renderers fold these).
    pub fn unchanged(name: &str, value: serde_json::Value) -> Self {
        Self::new(
            name,
            Some(AttrValue::Value(value.clone())),
            Some(AttrValue::Value(value)),
        )
    }

    /// Attach a note such as `forces re-import`.
    #[must_use]
    pub fn with_note(mut self, note: &str) -> Self {
        self.note = Some(note.to_string());
        self
    }

    /// Mark the attribute sensitive.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// True when before and after are the same known value and there is no note (a note such
    /// as `rotated` says that equal-looking sensitive values differ).
    pub fn is_unchanged(&self) -> bool {
        self.before == self.after
            && self.note.is_none()
            && !matches!(self.after, Some(AttrValue::KnownAfterApply))
    }
}

/// A value in a plan: known, hidden, or only known once apply ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AttrValue {
    /// A plain JSON value.
    Value(serde_json::Value),
    /// A secret: renders as `(sensitive value)`.
    Sensitive,
    /// An id or value only the service will assign: renders as `(known after apply)`.
    KnownAfterApply,
    /// A credential that could not be compared because its secret is not available here
    /// (e.g. a pull-request build): renders as `(not checked)`.
    NotChecked,
}

impl AttrValue {
    /// A string value.
    pub fn string(s: &str) -> Self {
        Self::Value(serde_json::Value::String(s.to_string()))
    }

    /// The Terraform-style text for non-plain values, or the JSON text of a plain one.
    pub fn display(&self) -> String {
        match self {
            Self::Value(serde_json::Value::String(s)) => format!("{s:?}"),
            Self::Value(v) => v.to_string(),
            Self::Sensitive => "(sensitive value)".to_string(),
            Self::KnownAfterApply => "(known after apply)".to_string(),
            Self::NotChecked => "(not checked)".to_string(),
        }
    }
}

/// Something that changed in the service outside pbideploy, or a note a reviewer must see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The item concerned.
    pub address: Address,
    /// What sort of drift.
    pub kind: DriftKind,
    /// One sentence saying what was found and what the plan does about it.
    pub message: String,
    /// Ledger (before) versus service (after) values, where useful.
    #[serde(default)]
    pub attrs: Vec<AttrDiff>,
}

/// The kinds of drift and notes the planner reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The ledger records the item but the service no longer has it.
    DeletedInService,
    /// The item was re-published (new import, new id) by someone else since our import.
    RepublishedOutside,
    /// No ledger entry: the PBIX content in the service cannot be compared.
    NotTracked,
    /// A data source's credentials are failing in the service.
    CredentialFailing,
    /// A credential could not be compared because its secret is not available.
    CredentialNotChecked,
    /// Someone else owns the dataset now.
    OwnerChanged,
    /// Parameters, data sources or bindings differ from what the ledger says we applied.
    SettingsChangedOutside,
    /// A report is bound to a different dataset than the ledger says.
    ReboundOutside,
    /// More than one item with the same name: the plan cannot tell which is meant.
    Duplicate,
    /// A ledger-managed item no longer in the manifest, kept because `prune` is off.
    Orphaned,
    /// Anything else worth telling the reviewer.
    Note,
}

/// Counts for the `Plan: N to add, N to change, N to delete.` footer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub add: usize,
    pub change: usize,
    pub delete: usize,
}

impl PlanSummary {
    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.add == 0 && self.change == 0 && self.delete == 0
    }
}

impl Plan {
    /// Counts the changes the way Terraform does: a replace is one add and one delete.
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.delete += 1,
                Action::Replace => {
                    s.add += 1;
                    s.delete += 1;
                }
                Action::NoOp | Action::Read => {}
            }
        }
        s
    }

    /// True when applying the plan would change the service (`--detailed-exitcode` 2).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    /// The change at `address`, if any.
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address)
    }

    /// The distinct workspaces touched by changes or drift, in first-seen order.
    pub fn workspaces(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let names = self
            .changes
            .iter()
            .map(|c| &c.address)
            .chain(self.drift.iter().map(|d| &d.address))
            .filter_map(Address::workspace_name);
        for name in names {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
        out
    }
}
