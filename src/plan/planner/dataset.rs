//! One dataset: import -> take over -> parameters -> data sources / connections -> gateway
//! data sources + binding -> credentials -> refresh (and the schedule).

use serde_json::json;

use super::{Ctx, PlanError, change};
use crate::ledger::{CredentialEntry, DatasetEntry};
use crate::live::model::{CredentialStatus, LiveDataset};
use crate::plan::address::Address;
use crate::plan::desired::{
    CredentialFingerprint, DesiredCredential, DesiredDataset, DesiredWorkspace, RefreshOnApply,
};
use crate::plan::model::{
    Action, AttrDiff, AttrValue, ChangeKind, DatasourceRef, DatasourceUpdate, DriftKind,
    ImportSpec, ItemRef, Operation,
};

/// True when `actual` has the type of `rule` and every detail `rule` lists (case-insensitive).
/// An empty rule type (the manifest's `match` without `type`) matches any type.
pub(crate) fn ds_matches(rule: &DatasourceRef, actual: &DatasourceRef) -> bool {
    (rule.datasource_type.is_empty()
        || rule
            .datasource_type
            .eq_ignore_ascii_case(&actual.datasource_type))
        && rule.connection_details.iter().all(|(k, v)| {
            actual
                .connection_details
                .iter()
                .any(|(ak, av)| ak.eq_ignore_ascii_case(k) && av.eq_ignore_ascii_case(v))
        })
}

/// What the dataset's steps share.
struct Step<'a> {
    addr: Address,
    item: ItemRef,
    live: Option<&'a LiveDataset>,
    entry: Option<&'a DatasetEntry>,
    /// A (re-)import is planned: the PBIX's own settings come back.
    imported: bool,
}

pub(super) fn plan_dataset(
    ctx: &mut Ctx<'_>,
    ws: &DesiredWorkspace,
    ds: &DesiredDataset,
    prereqs: &[Address],
) -> Result<(), PlanError> {
    let addr = Address::workspace(&ws.name).dataset(&ds.name);
    let found = ctx
        .live
        .workspace(&ws.name)
        .map(|w| w.datasets_named(&ds.name))
        .unwrap_or_default();
    if found.len() > 1 {
        return Err(PlanError::Duplicate {
            address: addr,
            count: found.len(),
        });
    }
    let mut step = Step {
        item: ItemRef {
            workspace: ws.name.clone(),
            name: ds.name.clone(),
        },
        live: found.first().copied(),
        entry: ctx.ledger.dataset(&addr),
        imported: false,
        addr,
    };
    let mut deps: Vec<Address> = prereqs.to_vec();
    let mut dataset_changes: Vec<Address> = Vec::new();
    if let Some(a) = plan_import(ctx, ws, ds, &mut step, &deps) {
        step.imported = true;
        deps = vec![a.clone()];
        dataset_changes.push(a);
    }
    let mut takeover = None;
    if let Some(a) = plan_takeover(ctx, ds, &step, &deps) {
        deps = vec![a.clone()];
        dataset_changes.push(a.clone());
        takeover = Some(a);
    }
    let mut settings = Vec::new();
    if let Some(a) = plan_parameters(ctx, ds, &step, &deps)? {
        settings.push(a);
    }
    let repointed = plan_datasources(ctx, ds, &step, &deps);
    settings.extend(repointed.iter().cloned());
    if let Some(a) = plan_connections(ctx, ds, &step, &deps) {
        settings.push(a);
    }
    dataset_changes.extend(settings.iter().cloned());
    if !settings.is_empty() {
        deps = settings;
    }
    let binding = plan_gateway(ctx, ds, &step, &deps, repointed.is_some())?;
    if let Some(a) = &binding {
        dataset_changes.push(a.clone());
        deps = vec![a.clone()];
    }
    let reset = step.imported || takeover.is_some() || repointed.is_some() || binding.is_some();
    let creds = plan_credentials(ctx, ds, &step, &deps, reset);
    dataset_changes.extend(creds.iter().cloned());
    if !creds.is_empty() {
        deps = creds;
    }
    let mut all_deps = deps.clone();
    if let Some(a) = plan_schedule(ctx, ds, &step, &deps) {
        dataset_changes.push(a.clone());
        all_deps.push(a);
    }
    plan_refresh(ctx, ds, &step, all_deps, !dataset_changes.is_empty());
    Ok(())
}

fn plan_import(
    ctx: &mut Ctx<'_>,
    ws: &DesiredWorkspace,
    ds: &DesiredDataset,
    step: &mut Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let addr = step.addr.clone();
    let mut hash_attr = AttrDiff::values(
        "pbix_sha256",
        step.entry.map(|e| json!(e.pbix_sha256)),
        json!(ds.pbix_sha256),
    );
    let (action, reason) = match (step.live, step.entry) {
        (None, None) => (Action::Create, "not in the service".to_string()),
        (None, Some(_)) => {
            ctx.note(&addr, DriftKind::DeletedInService, "the ledger records this dataset but it is no longer in the service; it will be imported again".into(), vec![]);
            (
                Action::Create,
                "deleted in the service since the last apply".to_string(),
            )
        }
        (Some(_), None) => {
            ctx.note(&addr, DriftKind::NotTracked, "no ledger entry: the PBIX content in the service cannot be compared, so it is imported again (use `pbideploy state adopt` to record it instead)".into(), vec![]);
            hash_attr = hash_attr.with_note("not tracked");
            (
                Action::Update,
                "content not tracked (no ledger entry)".to_string(),
            )
        }
        (Some(live), Some(entry)) => {
            let republished = republished(ctx, ws, live, entry);
            if let Some(why) = republished {
                ctx.note(&addr, DriftKind::RepublishedOutside, format!("re-published outside pbideploy since our import ({why}); it will be imported again"), vec![]);
                (
                    Action::Update,
                    format!("re-published by someone else ({why})"),
                )
            } else if !entry.pbix_sha256.eq_ignore_ascii_case(&ds.pbix_sha256) {
                hash_attr = hash_attr.with_note("forces re-import");
                (Action::Update, "PBIX content changed".to_string())
            } else {
                return None;
            }
        }
    };
    let id_attr = match step.live {
        Some(l) => AttrDiff::unchanged("id", json!(l.id)),
        None => AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
    };
    let c = change(
        addr,
        ChangeKind::Dataset,
        action,
        reason,
        deps.to_vec(),
        Operation::Import(ImportSpec {
            target: step.item.clone(),
            pbix_path: ds.pbix_path.clone(),
            pbix_sha256: ds.pbix_sha256.clone(),
            overwrite: step.live.is_some(),
            skip_report: !ds.keep_report,
            bind_to: None,
        }),
        vec![
            AttrDiff::values("pbix", None, json!(ds.pbix_path)),
            hash_attr,
            id_attr,
        ],
    );
    Some(ctx.push(c))
}

/// Why the live dataset is not the one we imported, if it is not.
fn republished(
    ctx: &Ctx<'_>,
    ws: &DesiredWorkspace,
    live: &LiveDataset,
    entry: &DatasetEntry,
) -> Option<String> {
    if !entry.dataset_id.eq_ignore_ascii_case(&live.id) {
        return Some(format!(
            "dataset id {} is now {}",
            entry.dataset_id, live.id
        ));
    }
    let ours = entry.import_id.as_deref()?;
    let lw = ctx.live.workspace(&ws.name)?;
    let newest = lw
        .imports
        .iter()
        .filter(|i| {
            i.dataset_ids
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&live.id))
        })
        .max_by(|a, b| a.updated.cmp(&b.updated))?;
    if newest.id.eq_ignore_ascii_case(ours) {
        return None;
    }
    match (&newest.updated, &entry.imported_at) {
        (Some(t), Some(mine)) if t <= mine => None,
        _ => Some(format!("import {} is newer than ours ({ours})", newest.id)),
    }
}

fn plan_takeover(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let live = step.live?;
    let owner = live.configured_by.as_deref()?;
    if step.imported || ctx.live.principal.is(owner) {
        return None;
    }
    if !ds.takeover {
        ctx.note(
            &step.addr,
            DriftKind::OwnerChanged,
            format!("owned by {owner}, and `takeover` is off: owner-only steps may fail"),
            vec![],
        );
        return None;
    }
    let us = ctx
        .live
        .principal
        .identities
        .first()
        .cloned()
        .unwrap_or_default();
    let c = change(
        step.addr.child("takeover"),
        ChangeKind::Takeover,
        Action::Update,
        format!("the dataset is owned by {owner}, not the deploying principal"),
        deps.to_vec(),
        Operation::TakeOver {
            dataset: step.item.clone(),
        },
        vec![AttrDiff::values("owner", Some(json!(owner)), json!(us))],
    );
    Some(ctx.push(c))
}

fn plan_parameters(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Result<Option<Address>, PlanError> {
    let mut values = std::collections::BTreeMap::new();
    let mut attrs = Vec::new();
    for (name, want) in &ds.parameters {
        let have = match step.live {
            Some(l) if !step.imported => match l.parameters.get(name) {
                Some(v) => Some(v.clone()),
                None => {
                    return Err(PlanError::UnknownParameter {
                        address: step.addr.clone(),
                        name: name.clone(),
                        available: l.parameters.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            },
            _ => None,
        };
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        if let (Some(h), Some(applied)) = (&have, step.entry.and_then(|e| e.parameters.get(name)))
            && applied == want
        {
            ctx.note(
                &step.addr,
                DriftKind::SettingsChangedOutside,
                format!("parameter {name} was changed outside pbideploy"),
                vec![AttrDiff::values(
                    &format!("parameter.{name}"),
                    Some(json!(applied)),
                    json!(h),
                )],
            );
        }
        attrs.push(AttrDiff::values(
            &format!("parameter.{name}"),
            have.map(|h| json!(h)),
            json!(want),
        ));
        values.insert(name.clone(), want.clone());
    }
    if values.is_empty() {
        return Ok(None);
    }
    let reason = if step.imported {
        "the import resets parameters to the PBIX's values"
    } else {
        "parameter values differ from the manifest"
    };
    let c = change(
        step.addr.child("parameters"),
        ChangeKind::Parameters,
        Action::Update,
        reason,
        deps.to_vec(),
        Operation::UpdateParameters {
            dataset: step.item.clone(),
            values,
        },
        attrs,
    );
    Ok(Some(ctx.push(c)))
}

fn plan_datasources(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let mut updates = Vec::new();
    let mut attrs = Vec::new();
    for rule in &ds.datasources {
        let target = DatasourceRef {
            datasource_type: rule.matches.datasource_type.clone(),
            connection_details: rule.connection_details.clone(),
        };
        let needed = match step.live {
            Some(l) if !step.imported => {
                let matching: Vec<_> = l
                    .datasources
                    .iter()
                    .filter(|d| ds_matches(&rule.matches, &d.datasource))
                    .collect();
                // A source the rule matches that already has the target details (a `set`
                // that keeps the matched details, e.g. only adds the database) is done.
                let hits = matching
                    .iter()
                    .filter(|d| !ds_matches(&target, &d.datasource))
                    .count();
                if matching.is_empty()
                    && !l
                        .datasources
                        .iter()
                        .any(|d| ds_matches(&target, &d.datasource))
                {
                    ctx.note(
                        &step.addr,
                        DriftKind::Note,
                        format!(
                            "datasource rule `{}` matches none of the dataset's data sources",
                            rule.matches
                        ),
                        vec![],
                    );
                }
                hits > 0
            }
            _ => true,
        };
        if needed {
            attrs.push(AttrDiff::values(
                &format!("datasource[{}]", updates.len()),
                Some(json!(rule.matches.to_string())),
                json!(target.to_string()),
            ));
            updates.push(DatasourceUpdate {
                matches: rule.matches.clone(),
                connection_details: rule.connection_details.clone(),
            });
        }
    }
    if updates.is_empty() {
        return None;
    }
    let c = change(
        step.addr.child("datasources"),
        ChangeKind::Datasources,
        Action::Update,
        "data sources point elsewhere than the manifest says",
        deps.to_vec(),
        Operation::UpdateDatasources {
            dataset: step.item.clone(),
            updates,
        },
        attrs,
    );
    Some(ctx.push(c))
}

fn plan_connections(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let want = ds.connection_string.as_ref()?;
    let applied = step.entry.and_then(|e| e.connection_string.clone());
    if !step.imported && step.live.is_some() && applied.as_deref() == Some(want.as_str()) {
        return None;
    }
    let c = change(
        step.addr.child("connections"),
        ChangeKind::Connections,
        Action::Update,
        if step.imported {
            "the import resets the connection string"
        } else {
            "connection string not applied yet"
        },
        deps.to_vec(),
        Operation::SetAllConnections {
            dataset: step.item.clone(),
            connection_string: want.clone(),
        },
        vec![AttrDiff::values(
            "connection_string",
            applied.map(|a| json!(a)),
            json!(want),
        )],
    );
    Some(ctx.push(c))
}

/// The data sources the dataset will have after its settings apply (for gateway matching).
fn expected_sources(ds: &DesiredDataset, step: &Step<'_>) -> Vec<DatasourceRef> {
    let mut out: Vec<DatasourceRef> = match step.live {
        Some(l) if !step.imported => l.datasources.iter().map(|d| d.datasource.clone()).collect(),
        _ => Vec::new(),
    };
    for rule in &ds.datasources {
        let target = DatasourceRef {
            datasource_type: rule.matches.datasource_type.clone(),
            connection_details: rule.connection_details.clone(),
        };
        out.retain(|d| !ds_matches(&rule.matches, d));
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

fn plan_gateway(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
    repointed: bool,
) -> Result<Option<Address>, PlanError> {
    let Some(want) = &ds.gateway else {
        return Ok(None);
    };
    let name = want.gateway.to_string();
    let Some(gw) = ctx.live.gateway(&name) else {
        return Err(PlanError::UnknownGateway {
            address: step.addr.clone(),
            gateway: name,
        });
    };
    let gw_id = gw.id.clone();
    let gw_label = format!("{} ({})", gw.name, gw.id);
    let mut bind_deps = deps.to_vec();
    if want.create_datasources {
        for source in expected_sources(ds, step) {
            let exists = gw
                .datasources
                .iter()
                .any(|g| ds_matches(&source, &g.datasource) && ds_matches(&g.datasource, &source));
            if exists {
                continue;
            }
            let Some(cred) = ds
                .credentials
                .iter()
                .find(|c| ds_matches(&c.matches, &source))
            else {
                return Err(PlanError::GatewayDatasourceNeedsCredentials {
                    address: step.addr.clone(),
                    datasource: source.to_string(),
                });
            };
            let c = change(
                Address::gateway(&name).keyed("datasource", &source.to_string()),
                ChangeKind::GatewayDatasource,
                Action::Create,
                "the dataset needs this data source on the gateway and the manifest asks to create it",
                vec![],
                Operation::CreateGatewayDatasource {
                    gateway: want.gateway.clone(),
                    datasource: source.clone(),
                    datasource_name: format!("{} ({})", source, step.item.name),
                    credentials: cred.spec.clone(),
                },
                vec![
                    AttrDiff::values("datasource", None, json!(source.to_string())),
                    AttrDiff::new("credentials", None, Some(AttrValue::Sensitive)).sensitive(),
                    AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
                ],
            );
            let a = c.address.clone();
            if !ctx.changes.iter().any(|x| x.address == a) {
                ctx.push(c);
            }
            bind_deps.push(a);
        }
    }
    let bound = match step.live {
        Some(l) if !step.imported && !l.datasources.is_empty() => l.datasources.iter().all(|d| {
            d.gateway_id
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(&gw_id))
        }),
        _ => false,
    };
    let created = bind_deps.len() > deps.len();
    if bound && !created && !repointed {
        return Ok(None);
    }
    // Shown as `name (id)`: a reviewer knows gateways by name.
    let before = step
        .live
        .filter(|_| !step.imported)
        .and_then(|l| l.datasources.iter().find_map(|d| d.gateway_id.as_deref()))
        .map(|id| {
            match ctx
                .live
                .gateways
                .iter()
                .find(|g| g.id.eq_ignore_ascii_case(id))
            {
                Some(g) => format!("{} ({id})", g.name),
                None => id.to_string(),
            }
        });
    let c = change(
        step.addr.child("gateway_binding"),
        ChangeKind::GatewayBinding,
        Action::Update,
        if bound {
            "settings change before it, so the binding is renewed"
        } else {
            "the dataset is not bound to the gateway the manifest names"
        },
        bind_deps,
        Operation::BindToGateway {
            dataset: step.item.clone(),
            gateway: want.gateway.clone(),
        },
        vec![AttrDiff::values(
            "gateway",
            before.map(|b| json!(b)),
            json!(gw_label),
        )],
    );
    Ok(Some(ctx.push(c)))
}

fn plan_credentials(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
    reset: bool,
) -> Vec<Address> {
    let mut out = Vec::new();
    for cred in &ds.credentials {
        let key = cred.matches.to_string();
        let addr = step.addr.keyed("credentials", &key);
        let applied = step.entry.and_then(|e| e.credentials.get(&key));
        let failing = step.live.filter(|_| !step.imported).and_then(|l| {
            l.datasources
                .iter()
                .filter(|d| ds_matches(&cred.matches, &d.datasource))
                .find_map(|d| match &d.credential_status {
                    CredentialStatus::Failing(code) => Some(code.clone()),
                    _ => None,
                })
        });
        if let Some(code) = &failing {
            ctx.note(
                &addr,
                DriftKind::CredentialFailing,
                format!("the data source's credentials are failing in the service ({code})"),
                vec![],
            );
        }
        let changed = changed_settings(cred, applied);
        let Some((reason, secret)) = credential_reason(
            ctx,
            &addr,
            cred,
            applied,
            &changed,
            reset,
            failing.as_deref(),
        ) else {
            continue;
        };
        let c = change(
            addr,
            ChangeKind::Credentials,
            Action::Update,
            reason,
            deps.to_vec(),
            Operation::SetCredentials {
                dataset: step.item.clone(),
                datasource: cred.matches.clone(),
                credentials: cred.spec.clone(),
            },
            credential_attrs(cred, applied, secret),
        );
        out.push(ctx.push(c));
    }
    out
}

/// The non-secret settings that differ from those the ledger recorded (none when the ledger
/// predates recording them).
fn changed_settings(cred: &DesiredCredential, applied: Option<&CredentialEntry>) -> Vec<String> {
    let Some(recorded) = applied.and_then(|a| a.settings.as_ref()) else {
        return Vec::new();
    };
    cred.spec
        .settings()
        .into_iter()
        .filter(|(k, v)| recorded.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect()
}

/// Decide whether to (re)apply a credential; returns the reason and the secret attribute.
fn credential_reason(
    ctx: &mut Ctx<'_>,
    addr: &Address,
    cred: &DesiredCredential,
    applied: Option<&CredentialEntry>,
    changed: &[String],
    reset: bool,
    failing: Option<&str>,
) -> Option<(String, AttrDiff)> {
    let secret = |before, after| AttrDiff::new("secret", before, Some(after)).sensitive();
    let Some(applied) = applied else {
        let attr = secret(None, AttrValue::Sensitive);
        return Some(("credentials never applied by pbideploy".into(), attr));
    };
    let was = Some(AttrValue::Sensitive);
    let CredentialFingerprint::Known(now) = &cred.fingerprint else {
        let attr = secret(was, AttrValue::NotChecked);
        if !changed.is_empty() {
            let why = format!("credential settings changed ({})", changed.join(", "));
            return Some((why, attr));
        }
        if !reset && failing.is_none() {
            ctx.note(
                addr,
                DriftKind::CredentialNotChecked,
                "the secret is not available here, so a rotation cannot be detected (not checked)"
                    .into(),
                vec![],
            );
            return None;
        }
        return Some((other_reason(reset, failing), attr));
    };
    if *now != applied.fingerprint {
        let attr = secret(was, AttrValue::Sensitive).with_note("rotated");
        return Some(("the secret was rotated (fingerprint differs)".into(), attr));
    }
    let attr = secret(was, AttrValue::Sensitive);
    if !changed.is_empty() {
        let why = format!("credential settings changed ({})", changed.join(", "));
        return Some((why, attr));
    }
    (reset || failing.is_some()).then(|| (other_reason(reset, failing), attr))
}

/// Why credentials whose secret and settings did not change are applied again.
fn other_reason(reset: bool, failing: Option<&str>) -> String {
    match failing {
        Some(code) => format!("the service reports the credentials failing ({code})"),
        None if reset => {
            "earlier steps (import, takeover, re-pointing or binding) reset the credentials".into()
        }
        None => "credentials applied again".into(),
    }
}

/// The credential's attributes: its settings (before = what the ledger recorded), the secret,
/// and the secret references.
fn credential_attrs(
    cred: &DesiredCredential,
    applied: Option<&CredentialEntry>,
    secret: AttrDiff,
) -> Vec<AttrDiff> {
    let recorded = applied.and_then(|a| a.settings.as_ref());
    let mut attrs: Vec<AttrDiff> = cred
        .spec
        .settings()
        .into_iter()
        .map(|(name, want)| match (applied, recorded) {
            (None, _) => AttrDiff::values(&name, None, want),
            // A ledger from before settings were recorded: assume they were applied as now.
            (Some(_), None) => AttrDiff::unchanged(&name, want),
            (Some(_), Some(r)) => AttrDiff::values(&name, r.get(&name).cloned(), want),
        })
        .collect();
    attrs.insert(1, secret);
    let refs: Vec<String> = cred
        .spec
        .secret_references()
        .iter()
        .map(ToString::to_string)
        .collect();
    attrs.push(AttrDiff::values(
        "secret_references",
        applied.map(|a| json!(a.references)),
        json!(refs),
    ));
    attrs
}

fn plan_schedule(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let want = ds.schedule.as_ref()?;
    let have = step.live.and_then(|l| l.refresh_schedule.as_ref());
    if have == Some(want) {
        return None;
    }
    let show = |s: &crate::plan::model::RefreshSchedule| json!({"enabled": s.enabled, "days": s.days, "times": s.times, "time_zone": s.time_zone});
    let c = change(
        step.addr.child("refresh_schedule"),
        ChangeKind::RefreshSchedule,
        Action::Update,
        "the refresh schedule differs from the manifest",
        deps.to_vec(),
        Operation::SetRefreshSchedule {
            dataset: step.item.clone(),
            schedule: want.clone(),
        },
        vec![AttrDiff::values("schedule", have.map(show), show(want))],
    );
    Some(ctx.push(c))
}

fn plan_refresh(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: Vec<Address>,
    changed: bool,
) {
    let reason = match ds.refresh {
        RefreshOnApply::Always => "refresh.onApply is always",
        RefreshOnApply::WhenChanged if changed => {
            "refresh.onApply is whenChanged and the dataset changes"
        }
        _ => return,
    };
    let c = change(
        step.addr.child("refresh"),
        ChangeKind::Refresh,
        Action::Update,
        reason,
        deps,
        Operation::Refresh {
            dataset: step.item.clone(),
        },
        vec![AttrDiff::values("notify", None, json!("NoNotification"))],
    );
    ctx.push(c);
}

#[cfg(test)]
mod match_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ds(kind: &str, server: &str) -> DatasourceRef {
        DatasourceRef {
            datasource_type: kind.to_string(),
            connection_details: BTreeMap::from([("server".to_string(), server.to_string())]),
        }
    }

    #[test]
    fn a_rule_without_type_matches_any_type_but_still_checks_details() {
        assert!(ds_matches(&ds("", "srv"), &ds("Sql", "SRV")));
        assert!(!ds_matches(&ds("", "other"), &ds("Sql", "srv")));
        assert!(!ds_matches(&ds("OData", "srv"), &ds("Sql", "srv")));
    }
}
