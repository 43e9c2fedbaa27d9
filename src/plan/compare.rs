//! Desired project definitions against the live ones (`getDefinition`): the part diffs a
//! reviewer reads, the tables and columns an update would drop, and drift made outside
//! pbideploy. Pure: the definitions are read by the caller.

use std::collections::BTreeMap;

use pbix::project::{self, Definition, ItemKind};

use super::content::{Findings, PartChange, PartStatus, ProjectKind, describe_loss};
use super::definitions::{Definitions, normalise_report};
use super::model::{Operation, Plan};
use crate::domain::address::Address;
use crate::domain::desired::DesiredState;
use crate::domain::operation::ItemRef;
pub use crate::domain::project::Wanted;
use crate::ledger::Ledger;

/// The project items whose live definition `plan` needs: those it plans to update, or for
/// a refresh-only plan every project item the ledger tracks.
pub fn wanted(plan: &Plan, desired: &DesiredState, ledger: &Ledger) -> Vec<Wanted> {
    if !plan.refresh_only {
        return plan
            .changes
            .iter()
            .filter_map(|c| match &c.operation {
                Operation::Definition(spec) if spec.exists => Some(Wanted {
                    address: c.address.clone(),
                    item: spec.target.clone(),
                    kind: item_kind(spec.kind),
                }),
                _ => None,
            })
            .collect();
    }
    let mut out = Vec::new();
    for ws in &desired.workspaces {
        let base = Address::workspace(&ws.name);
        let models = ws
            .datasets
            .iter()
            .filter(|d| d.project.is_some())
            .map(|d| (base.dataset(&d.name), &d.name, ProjectKind::SemanticModel));
        let reports = ws
            .reports
            .iter()
            .filter(|r| r.project.is_some())
            .map(|r| (base.report(&r.name), &r.name, ProjectKind::Report));
        for (address, name, kind) in models.chain(reports) {
            if ledger.get(&address).is_some() {
                let item = ItemRef {
                    workspace: ws.name.clone(),
                    name: name.clone(),
                };
                out.push(Wanted {
                    address,
                    item,
                    kind: item_kind(kind),
                });
            }
        }
    }
    out
}

fn item_kind(kind: ProjectKind) -> ItemKind {
    match kind {
        ProjectKind::SemanticModel => ItemKind::SemanticModel,
        ProjectKind::Report => ItemKind::Report,
    }
}

/// Lines of context around each change in a part diff.
pub const CONTEXT_LINES: usize = 3;

/// Compares `live` (by address) with `desired`. With `drift_only` it reports only live
/// definitions that are not the one the ledger recorded; otherwise it gives the diffs and
/// data loss of the items whose update is planned (the caller reads only those).
pub fn compare(
    desired: &Definitions,
    live: &BTreeMap<Address, Definition>,
    ledger: &Ledger,
    drift_only: bool,
) -> Findings {
    let mut out = Findings::default();
    for (addr, have) in live {
        let Some(want) = desired.items.get(addr) else {
            continue;
        };
        // A report's binding is the deployed model's id: compare with it normalised, as the
        // ledger's hash and the desired definition are.
        let normalised;
        let have = match have.kind {
            ItemKind::Report => match normalise_report(have) {
                Ok(def) => {
                    normalised = def;
                    &normalised
                }
                Err(_) => have,
            },
            ItemKind::SemanticModel => have,
        };
        if drift_only {
            if let Some(message) = drift(addr, have, want, ledger) {
                out.drift.insert(addr.clone(), message);
            }
            continue;
        }
        let parts: Vec<PartChange> = project::diff(have, want, CONTEXT_LINES)
            .into_iter()
            .map(|d| PartChange {
                path: d.path,
                status: match d.status {
                    project::PartStatus::Added => PartStatus::Added,
                    project::PartStatus::Removed => PartStatus::Removed,
                    project::PartStatus::Changed => PartStatus::Changed,
                },
                diff: d.diff,
            })
            .collect();
        out.diffs.insert(addr.clone(), parts);
        if want.kind == ItemKind::SemanticModel {
            match lost(have, want) {
                Ok(lost) if !lost.is_empty() => {
                    out.data_loss.insert(addr.clone(), lost);
                }
                Ok(_) => {}
                Err(why) => {
                    out.notes.insert(addr.clone(), format!("the model in the service could not be read to check for data loss ({why}); the service refuses an update that drops imported data (`PurgeRequired`)"));
                }
            }
        }
    }
    out
}

/// The tables and columns of Import tables that going from `have` to `want` drops.
fn lost(have: &Definition, want: &Definition) -> Result<Vec<String>, project::ProjectError> {
    let old = project::semantic_model(have)?;
    let new = project::semantic_model(want)?;
    Ok(project::data_loss(&old, &new)
        .iter()
        .map(|l| describe_loss(&l.table, l.column.as_deref()))
        .collect())
}

/// Why the live definition at `addr` is not the one pbideploy deployed last, if it is not.
fn drift(addr: &Address, have: &Definition, want: &Definition, ledger: &Ledger) -> Option<String> {
    let recorded = match have.kind {
        ItemKind::SemanticModel => ledger.dataset(addr).map(|e| e.pbix_sha256.as_str()),
        ItemKind::Report => ledger.report(addr).map(|e| e.pbix_sha256.as_str()),
    }?;
    let live = have.sha256();
    if live.eq_ignore_ascii_case(recorded) {
        return None;
    }
    let changed: Vec<String> = project::diff(have, want, 0)
        .into_iter()
        .map(|d| d.path)
        .collect();
    let detail = if changed.is_empty() {
        "it matches the manifest's definition again".to_owned()
    } else {
        format!(
            "parts that differ from the manifest: {}",
            changed.join(", ")
        )
    };
    Some(format!(
        "the definition in the service is not the one pbideploy deployed last (sha256 {} there, {} in the ledger); {detail}",
        short(&live),
        short(recorded)
    ))
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{DatasetEntry, LedgerEntry};
    use pbix::project::Part;

    const TABLE: &str = "table Customer\n\n\tmeasure Count = COUNTROWS(Customer)\n\n\tcolumn Id\n\t\tdataType: int64\n\t\tsourceColumn: Id\n\n\tcolumn Name\n\t\tdataType: string\n\t\tsourceColumn: Name\n\n\tpartition Customer = m\n\t\tmode: import\n\t\tsource = #table(type table [Id = Int64.Type, Name = text], {})\n\n";

    fn model(table: &str) -> Definition {
        let part = |path: &str, text: &str| Part {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        };
        let parts = vec![
            part("definition.pbism", "{\"version\": \"4.0\"}"),
            part(
                "definition/model.tmdl",
                "model Model\n\tculture: en-US\n\nref table Customer\n",
            ),
            part("definition/tables/Customer.tmdl", table),
        ];
        Definition::from_parts(ItemKind::SemanticModel, parts).unwrap()
    }

    fn addr() -> Address {
        Address::workspace("Sales").dataset("Customers")
    }

    fn desired(def: Definition) -> Definitions {
        let mut d = Definitions::default();
        d.items.insert(addr(), def);
        d
    }

    #[test]
    fn a_measure_edit_diffs_one_part_and_loses_nothing() {
        let live = BTreeMap::from([(addr(), model(TABLE))]);
        let edited = TABLE.replace("COUNTROWS(Customer)", "COUNTROWS(Customer) + 1");
        let found = compare(
            &desired(model(&edited)),
            &live,
            &Ledger::with_salt("s"),
            false,
        );
        let parts = &found.diffs[&addr()];
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].path, "definition/tables/Customer.tmdl");
        assert!(
            parts[0]
                .diff
                .contains("-\tmeasure Count = COUNTROWS(Customer)\n"),
            "{}",
            parts[0].diff
        );
        assert!(
            parts[0]
                .diff
                .contains("+\tmeasure Count = COUNTROWS(Customer) + 1")
        );
        assert!(found.data_loss.is_empty());
    }

    #[test]
    fn a_dropped_import_column_is_data_loss() {
        let live = BTreeMap::from([(addr(), model(TABLE))]);
        let dropped = TABLE.replace(
            "\tcolumn Name\n\t\tdataType: string\n\t\tsourceColumn: Name\n\n",
            "",
        );
        let found = compare(
            &desired(model(&dropped)),
            &live,
            &Ledger::with_salt("s"),
            false,
        );
        assert_eq!(found.data_loss[&addr()], ["column Customer[Name]"]);
    }

    #[test]
    fn drift_is_a_live_definition_other_than_the_ledgers() {
        let deployed = model(TABLE);
        let mut ledger = Ledger::with_salt("s");
        let entry = DatasetEntry {
            dataset_id: "d1".into(),
            pbix_sha256: deployed.sha256(),
            ..DatasetEntry::default()
        };
        ledger.set(addr(), LedgerEntry::Dataset(entry));
        let same = BTreeMap::from([(addr(), deployed.clone())]);
        assert!(
            compare(&desired(deployed.clone()), &same, &ledger, true)
                .drift
                .is_empty()
        );
        let edited = model(&TABLE.replace("COUNTROWS", "DISTINCTCOUNT"));
        let changed = BTreeMap::from([(addr(), edited)]);
        let found = compare(&desired(deployed), &changed, &ledger, true);
        assert!(
            found.drift[&addr()].contains("definition/tables/Customer.tmdl"),
            "{found:?}"
        );
        assert!(
            found.diffs.is_empty(),
            "refresh-only shows drift, not diffs"
        );
    }
}
