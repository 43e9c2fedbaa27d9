//! Power BI Project (PBIP) items in a plan: how the executor deploys a definition, and what
//! a definition update changes inside the item, part by part, for the reviewer.
//!
//! The planner decides *whether* a project item changes from hashes alone (the definition
//! pbideploy would upload against the one the ledger recorded). What changes inside it needs
//! the live definition (`getDefinition`), which only `plan` reads: [`annotate`] is the pure
//! pass that adds the diffs and the data-loss findings to a plan once those are known.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{AttrDiff, ChangeKind, DriftKind, Operation, Plan};
use crate::domain::address::Address;
pub use crate::domain::project::{DefinitionSpec, ProjectKind};

/// What a definition update changes inside one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentDiff {
    /// The change (a dataset or report) the diff belongs to.
    pub address: Address,
    pub parts: Vec<PartChange>,
}

/// One changed part of a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartChange {
    /// Path inside the item folder, `/`-separated, e.g. `definition/tables/Sales.tmdl`.
    pub path: String,
    pub status: PartStatus,
    /// Unified diff of the part's text (JSON parts pretty-printed first).
    pub diff: String,
}

/// Whether a part is new, gone or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartStatus {
    Added,
    Removed,
    Changed,
}

impl PartStatus {
    /// The word the renderers show.
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// What `plan` learned from the live definitions, per item address.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// Part diffs of items whose definition update is planned.
    pub diffs: BTreeMap<Address, Vec<PartChange>>,
    /// Tables/columns of Import tables an update drops, per dataset.
    pub data_loss: BTreeMap<Address, Vec<String>>,
    /// Items whose live definition is not the one the ledger recorded (made outside
    /// pbideploy), with a sentence saying what differs.
    pub drift: BTreeMap<Address, String>,
    /// What the reviewer must know that is not drift (e.g. data loss could not be checked).
    pub notes: BTreeMap<Address, String>,
}

/// Adds `findings` to `plan`: diffs beside their changes, data loss in the specs (and a
/// flagged attribute the reviewer sees), drift notes.
pub fn annotate(plan: &mut Plan, findings: Findings) {
    for change in &mut plan.changes {
        let Operation::Definition(spec) = &mut change.operation else {
            continue;
        };
        if let Some(lost) = findings.data_loss.get(&change.address) {
            spec.data_loss = lost.clone();
            let note = if spec.allow_data_loss {
                "data loss allowed by `allowDataLoss`"
            } else {
                "DATA LOSS: apply refuses this without `allowDataLoss: true`"
            };
            change.attrs.push(
                AttrDiff::values("drops", None, serde_json::json!(lost.join(", "))).with_note(note),
            );
        }
    }
    for (address, parts) in findings.diffs {
        let planned = plan.changes.iter().any(|c| {
            c.address == address && matches!(c.kind, ChangeKind::Dataset | ChangeKind::Report)
        });
        if planned && !parts.is_empty() {
            plan.content.push(ContentDiff { address, parts });
        }
    }
    let drift = findings
        .drift
        .into_iter()
        .map(|d| (DriftKind::SettingsChangedOutside, d));
    let notes = findings.notes.into_iter().map(|n| (DriftKind::Note, n));
    for (kind, (address, message)) in drift.chain(notes) {
        plan.drift.push(super::model::Drift {
            address,
            kind,
            message,
            attrs: Vec::new(),
        });
    }
}

/// `Table[Column]` for a dropped column, `table Table` for a dropped table.
pub fn describe_loss(table: &str, column: Option<&str>) -> String {
    match column {
        Some(c) => format!("column {table}[{c}]"),
        None => format!("table {table}"),
    }
}

/// A plan with no changes, for tests of what is added to one.
#[cfg(test)]
pub(crate) fn empty_plan() -> Plan {
    let empty = serde_json::json!({
        "format_version": "1.0", "tool_version": "0", "created_at": "",
        "manifest": {"path": "m.yaml", "sha256": ""}, "environment": null,
        "live_fingerprint": "", "pbix": [], "refresh_only": false, "targets": [],
        "changes": [], "drift": []
    });
    serde_json::from_value(empty).expect("an empty plan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::operation::ItemRef;
    use crate::plan::model::{Action, Change};

    fn plan_with_update(allow: bool) -> Plan {
        let mut plan = empty_plan();
        let target = ItemRef {
            workspace: "Sales".into(),
            name: "Sales".into(),
        };
        plan.changes.push(Change {
            address: Address::workspace("Sales").dataset("Sales"),
            kind: ChangeKind::Dataset,
            action: Action::Update,
            attrs: vec![],
            reason: String::new(),
            depends_on: vec![],
            operation: Operation::Definition(DefinitionSpec {
                target,
                kind: ProjectKind::SemanticModel,
                project_path: "pbip/Sales.SemanticModel".into(),
                sha256: "x".into(),
                exists: true,
                bind_to: None,
                allow_data_loss: allow,
                data_loss: vec![],
            }),
        });
        plan
    }

    fn findings() -> Findings {
        let addr = Address::workspace("Sales").dataset("Sales");
        let part = PartChange {
            path: "definition/tables/Sales.tmdl".into(),
            status: PartStatus::Changed,
            diff: "-a\n+b".into(),
        };
        let mut f = Findings::default();
        f.data_loss
            .insert(addr.clone(), vec!["column Sales[Amount]".into()]);
        f.diffs.insert(addr, vec![part.clone()]);
        f.diffs
            .insert(Address::workspace("Sales").dataset("Other"), vec![part]);
        f
    }

    #[test]
    fn data_loss_goes_into_the_spec_and_is_flagged_and_diffs_follow_their_change() {
        let mut plan = plan_with_update(false);
        annotate(&mut plan, findings());
        let Operation::Definition(spec) = &plan.changes[0].operation else {
            panic!();
        };
        assert_eq!(spec.data_loss, ["column Sales[Amount]"]);
        let drops = plan.changes[0]
            .attrs
            .iter()
            .find(|a| a.name == "drops")
            .unwrap();
        assert!(drops.note.as_deref().unwrap().contains("DATA LOSS"));
        assert_eq!(plan.content.len(), 1, "no diff without a planned change");
        let mut allowed = plan_with_update(true);
        annotate(&mut allowed, findings());
        let drops = allowed.changes[0]
            .attrs
            .iter()
            .find(|a| a.name == "drops")
            .unwrap();
        assert!(drops.note.as_deref().unwrap().contains("allowed"));
    }
}
