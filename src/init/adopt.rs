//! The algorithm of `pbideploy state adopt [ADDRESS...]`: record items that already exist in
//! the service as imported from the manifest's PBIX files, without importing them, so the
//! first apply on an existing estate does not re-publish everything. Pure: the command
//! (`commands::state`) reads the manifest, the ledger and the service, calls [`adopt`] and
//! saves the ledger.
//!
//! What adopt records (and why), per item:
//! - ids: dataset, report, the newest import that produced it and that import's time, so
//!   plan's "re-published by someone else" check starts from the service as it is now;
//! - the SHA-256 of the manifest's PBIX: adopt trusts that the file is what was published
//!   (it cannot read content back); a later change to the file plans a re-import;
//! - the parameter values, gateway and schedule only where the service already matches the
//!   manifest, so the ledger never claims pbideploy applied what it did not;
//! - a credential only when its secret is available here (fingerprinted with the ledger's
//!   salt, like apply does) and the service does not report the data source's credentials
//!   failing: adopt trusts that the service holds that secret.
//!
//! What it leaves for plan to compare: parameters, data sources, gateway binding, credentials
//! and schedules that differ (plan shows them as changes), and `connectionString`, which the
//! service does not reveal (plan sets it on the first apply).

use std::collections::BTreeMap;

use crate::domain::address::Address;
use crate::domain::desired::{CredentialFingerprint, DesiredDataset, DesiredState};
use crate::ledger::{
    CredentialEntry, DatasetEntry, Ledger, LedgerEntry, ReportEntry, WorkspaceEntry,
};
use crate::live::model::{LiveDataset, LiveState, LiveWorkspace};

/// What adopt will write, and what it tells the user.
#[derive(Debug, Default)]
pub struct Adoption {
    pub entries: Vec<(Address, LedgerEntry)>,
    /// One line per item adopted.
    pub adopted: Vec<String>,
    /// What adopt did not record (left for plan to show).
    pub left: Vec<String>,
}

/// Why nothing was adopted: every problem found, each naming the item and the fix.
#[derive(Debug, Default)]
pub struct Refusal {
    pub problems: Vec<String>,
}

/// The manifest's items that `selected` covers (all when empty); an address that covers
/// nothing of the manifest is a problem.
fn selection(desired: &DesiredState, selected: &[Address], out: &mut Refusal) -> Vec<Address> {
    let mut all = Vec::new();
    for ws in &desired.workspaces {
        let w = Address::workspace(&ws.name);
        all.extend(ws.datasets.iter().map(|d| w.dataset(&d.name)));
        all.extend(ws.reports.iter().map(|r| w.report(&r.name)));
    }
    if selected.is_empty() {
        return all;
    }
    for s in selected {
        if !all.iter().any(|a| a.starts_with(s)) {
            out.problems.push(format!(
                "{s} names no dataset or report of the manifest; adopt takes workspace, dataset or report addresses, e.g. workspace[\"Sales\"].dataset[\"Sales Model\"]"
            ));
        }
    }
    all.into_iter()
        .filter(|a| selected.iter().any(|s| a.starts_with(s)))
        .collect()
}

/// Decides what to record for `selected` (everything when empty). Pure: the command reads
/// the service and saves the ledger.
pub fn adopt(
    desired: &DesiredState,
    live: &LiveState,
    ledger: &Ledger,
    selected: &[Address],
    now: &str,
) -> Result<Adoption, Refusal> {
    let mut refusal = Refusal::default();
    let wanted = selection(desired, selected, &mut refusal);
    let mut out = Adoption::default();
    for ws in &desired.workspaces {
        let waddr = Address::workspace(&ws.name);
        let mine: Vec<&Address> = wanted.iter().filter(|a| a.starts_with(&waddr)).collect();
        if mine.is_empty() {
            continue;
        }
        let Some(lw) = live.workspace(&ws.name) else {
            refusal.problems.push(format!(
                "{waddr} does not exist in the service; adopt records existing items only: run `pbideploy apply` to create it, or leave its items out of the addresses"
            ));
            continue;
        };
        if ledger.get(&waddr).is_none() {
            out.entries.push((
                waddr.clone(),
                LedgerEntry::Workspace(WorkspaceEntry {
                    id: lw.id.clone(),
                    created: false,
                }),
            ));
        }
        for ds in &ws.datasets {
            let addr = waddr.dataset(&ds.name);
            if mine.iter().any(|a| a.same_item(&addr)) {
                match find(lw, &addr, lw.datasets_named(&ds.name)) {
                    Ok(l) => dataset(&mut out, lw, ds, l, addr, now),
                    Err(p) => refusal.problems.push(p),
                }
            }
        }
        for r in &ws.reports {
            let addr = waddr.report(&r.name);
            if mine.iter().any(|a| a.same_item(&addr)) {
                match find(lw, &addr, lw.reports_named(&r.name)) {
                    Ok(l) => report(&mut out, lw, r, l, addr),
                    Err(p) => refusal.problems.push(p),
                }
            }
        }
    }
    if refusal.problems.is_empty() {
        Ok(out)
    } else {
        Err(refusal)
    }
}

/// The one live item with this name, or why there is not exactly one.
fn find<'a, T>(lw: &LiveWorkspace, addr: &Address, found: Vec<&'a T>) -> Result<&'a T, String> {
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "{addr} does not exist in workspace {:?} in the service; adopt records existing items only: run `pbideploy apply` to import it, or leave it out of the addresses",
            lw.name
        )),
        many => Err(format!(
            "{addr}: the service has {} items with this name, so adopt cannot tell which one the manifest means; delete or rename the extras",
            many.len()
        )),
    }
}

/// The newest import that produced the item with `id`: (import id, its time).
fn newest_import(
    lw: &LiveWorkspace,
    id: &str,
    ids: fn(&crate::live::model::LiveImport) -> &Vec<String>,
) -> (Option<String>, Option<String>) {
    lw.imports
        .iter()
        .filter(|i| ids(i).iter().any(|d| d.eq_ignore_ascii_case(id)))
        .max_by(|a, b| a.updated.cmp(&b.updated))
        .map_or((None, None), |i| {
            (Some(i.id.clone()), i.updated.clone().or(i.created.clone()))
        })
}

fn dataset(
    out: &mut Adoption,
    lw: &LiveWorkspace,
    ds: &DesiredDataset,
    live: &LiveDataset,
    addr: Address,
    now: &str,
) {
    let (import_id, imported_at) = newest_import(lw, &live.id, |i| &i.dataset_ids);
    let report_id = lw
        .reports_named(&ds.name)
        .into_iter()
        .find(|r| {
            r.dataset_id
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(&live.id))
        })
        .map(|r| r.id.clone());
    let mut parameters = BTreeMap::new();
    for (name, want) in &ds.parameters {
        match live.parameters.get(name) {
            Some(have) if have == want => {
                parameters.insert(name.clone(), want.clone());
            }
            have => out.left.push(format!(
                "{addr}: parameter {name} is {} in the service, the manifest says {want:?}: plan shows it",
                have.map_or("missing".to_string(), |h| format!("{h:?}"))
            )),
        }
    }
    let gateway_id = live
        .datasources
        .iter()
        .find(|d| d.on_premises_gateway && ds.gateway.is_some())
        .and_then(|d| d.gateway_id.clone());
    let credentials = credentials(out, ds, live, &addr, now);
    if ds.connection_string.is_some() {
        out.left.push(format!(
            "{addr}: the service does not reveal connection strings, so the first apply sets `connectionString`"
        ));
    }
    out.adopted.push(adopted_line(
        &addr,
        "dataset",
        &live.id,
        import_id.as_deref(),
        &ds.pbix_sha256,
    ));
    out.entries.push((
        addr,
        LedgerEntry::Dataset(DatasetEntry {
            dataset_id: live.id.clone(),
            report_id,
            pbix_sha256: ds.pbix_sha256.clone(),
            import_id,
            imported_at,
            parameters,
            datasource_updates: Vec::new(),
            connection_string: None,
            gateway_id,
            credentials,
            schedule: live
                .refresh_schedule
                .clone()
                .filter(|s| ds.schedule.as_ref() == Some(s)),
            owner: live.configured_by.clone(),
        }),
    ));
}

/// The credentials adopt can vouch for: secret available here, matching sources present
/// and none failing.
fn credentials(
    out: &mut Adoption,
    ds: &DesiredDataset,
    live: &LiveDataset,
    addr: &Address,
    now: &str,
) -> BTreeMap<String, CredentialEntry> {
    use crate::live::model::CredentialStatus;
    let mut recorded = BTreeMap::new();
    for cred in &ds.credentials {
        let key = cred.matches.to_string();
        let sources: Vec<_> = live
            .datasources
            .iter()
            .filter(|d| cred.matches.matches(&d.datasource))
            .collect();
        let why_not = match &cred.fingerprint {
            CredentialFingerprint::NotAvailable => {
                Some(format!("its secret ({}) is not available here", refs(cred)))
            }
            CredentialFingerprint::Known(_) if sources.is_empty() => {
                Some("no data source of the dataset matches it".to_string())
            }
            CredentialFingerprint::Known(_) => {
                sources.iter().find_map(|s| match &s.credential_status {
                    CredentialStatus::Failing(code) => Some(format!(
                        "the service reports its credentials failing ({code})"
                    )),
                    CredentialStatus::NotBound => {
                        Some("its data source is not bound to a gateway".to_string())
                    }
                    _ => None,
                })
            }
        };
        match (&cred.fingerprint, why_not) {
            (CredentialFingerprint::Known(fp), None) => {
                recorded.insert(
                    key,
                    CredentialEntry {
                        fingerprint: fp.clone(),
                        references: cred
                            .spec
                            .secret_references()
                            .iter()
                            .map(ToString::to_string)
                            .collect(),
                        applied_at: Some(now.to_string()),
                        settings: Some(cred.spec.settings()),
                    },
                );
            }
            (_, why) => out.left.push(format!(
                "{addr}: credentials for {key} not recorded ({}): plan shows them to be set",
                why.unwrap_or_default()
            )),
        }
    }
    recorded
}

fn refs(cred: &crate::domain::desired::DesiredCredential) -> String {
    cred.spec
        .secret_references()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn report(
    out: &mut Adoption,
    lw: &LiveWorkspace,
    r: &crate::domain::desired::DesiredReport,
    live: &crate::live::model::LiveReport,
    addr: Address,
) {
    let (import_id, imported_at) = newest_import(lw, &live.id, |i| &i.report_ids);
    out.adopted.push(adopted_line(
        &addr,
        "report",
        &live.id,
        import_id.as_deref(),
        &r.pbix_sha256,
    ));
    out.entries.push((
        addr,
        LedgerEntry::Report(ReportEntry {
            report_id: live.id.clone(),
            pbix_sha256: r.pbix_sha256.clone(),
            import_id,
            imported_at,
            dataset: r.dataset.clone(),
            dataset_id: live.dataset_id.clone(),
        }),
    ));
}

/// `Adopted ADDR: KIND id ID, import IMPORT, PBIX sha256 PREFIX`.
fn adopted_line(addr: &Address, kind: &str, id: &str, import: Option<&str>, sha: &str) -> String {
    format!(
        "Adopted {addr}: {kind} id {id}, import {}, PBIX sha256 {}",
        import.unwrap_or("(none listed)"),
        sha.get(..12).unwrap_or(sha)
    )
}

#[cfg(test)]
mod tests;
