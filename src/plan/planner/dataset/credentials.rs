//! Data source credentials: never applied, rotated, settings changed, failing, or reset by an
//! earlier step (import, take over, re-pointing, binding).

use serde_json::json;

use super::Step;
use crate::domain::address::Address;
use crate::domain::desired::{CredentialFingerprint, DesiredCredential, DesiredDataset};
use crate::ledger::CredentialEntry;
use crate::live::model::CredentialStatus;
use crate::plan::model::{Action, AttrDiff, AttrValue, ChangeKind, DriftKind, Operation};
use crate::plan::planner::{Ctx, change};

/// The credential changes planned for one dataset.
pub(super) struct PlannedCredentials {
    pub planned: Vec<Address>,
    /// True unless every one only re-applies what an earlier step reset: a new, rotated or
    /// re-set secret changes what a refresh can load; the same secret applied again does not.
    pub changed: bool,
}

pub(super) fn plan_credentials(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
    reset: Option<&str>,
    sources_settled: bool,
) -> PlannedCredentials {
    let mut out = PlannedCredentials {
        planned: Vec::new(),
        changed: false,
    };
    for cred in &ds.credentials {
        let key = cred.matches.to_string();
        let addr = step.addr.keyed("credentials", &key);
        if sources_settled {
            note_unmatched(ctx, &addr, cred, step);
        }
        let applied = step.entry.and_then(|e| e.credentials.get(&key));
        let failing = step.live.filter(|_| !step.imported).and_then(|l| {
            l.datasources
                .iter()
                .filter(|d| cred.matches.matches(&d.datasource))
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
        let Some((reason, secret, only_reset)) = credential_reason(
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
            with_matched_sources(credential_attrs(cred, applied, secret), cred, ds, step),
        );
        out.planned.push(ctx.push(c));
        out.changed |= !only_reset;
    }
    out
}

/// A rule that matches none of the live data sources would fail at apply: say so in the
/// plan, naming the sources there are. Only for a dataset that exists and keeps its sources.
fn note_unmatched(ctx: &mut Ctx<'_>, addr: &Address, cred: &DesiredCredential, step: &Step<'_>) {
    let Some(live) = step.live.filter(|_| !step.imported) else {
        return;
    };
    if live.datasources.is_empty()
        || live
            .datasources
            .iter()
            .any(|d| cred.matches.matches(&d.datasource))
    {
        return;
    }
    let sources: Vec<String> = live
        .datasources
        .iter()
        .map(|d| d.datasource.to_string())
        .collect();
    ctx.note(
        addr,
        DriftKind::Note,
        format!(
            "credential rule `{}` matches none of the dataset's data sources ({}); apply will fail to set it",
            cred.matches,
            sources.join(", ")
        ),
        vec![],
    );
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

/// Decide whether to (re)apply a credential; returns the reason, the secret attribute, and
/// whether the only reason is that an earlier step reset it.
fn credential_reason(
    ctx: &mut Ctx<'_>,
    addr: &Address,
    cred: &DesiredCredential,
    applied: Option<&CredentialEntry>,
    changed: &[String],
    reset: Option<&str>,
    failing: Option<&str>,
) -> Option<(String, AttrDiff, bool)> {
    let secret = |before, after| AttrDiff::new("secret", before, Some(after)).sensitive();
    let Some(applied) = applied else {
        let attr = secret(None, AttrValue::Sensitive).with_note("never applied");
        return Some(("credentials never applied by pbideploy".into(), attr, false));
    };
    let was = Some(AttrValue::Sensitive);
    let CredentialFingerprint::Known(now) = &cred.fingerprint else {
        let attr = secret(was, AttrValue::NotChecked);
        if !changed.is_empty() {
            let why = format!("credential settings changed ({})", changed.join(", "));
            return Some((why, attr, false));
        }
        if reset.is_none() && failing.is_none() {
            ctx.note(
                addr,
                DriftKind::CredentialNotChecked,
                "the secret is not available here, so a rotation cannot be detected (not checked)"
                    .into(),
                vec![],
            );
            return None;
        }
        let attr = attr.with_note(&other_note(reset, failing));
        return Some((other_reason(reset, failing), attr, failing.is_none()));
    };
    if *now != applied.fingerprint {
        let attr = secret(was, AttrValue::Sensitive).with_note("rotated");
        return Some((
            "the secret was rotated (fingerprint differs)".into(),
            attr,
            false,
        ));
    }
    let attr = secret(was, AttrValue::Sensitive);
    if !changed.is_empty() {
        let why = format!("credential settings changed ({})", changed.join(", "));
        return Some((why, attr, false));
    }
    (reset.is_some() || failing.is_some()).then(|| {
        let attr = attr.with_note(&other_note(reset, failing));
        (other_reason(reset, failing), attr, failing.is_none())
    })
}

/// Why credentials whose secret and settings did not change are applied again.
fn other_reason(reset: Option<&str>, failing: Option<&str>) -> String {
    match (failing, reset) {
        (Some(code), _) => format!("the service reports the credentials failing ({code})"),
        (None, Some(step)) => format!("{step} resets the credentials: they are applied again"),
        (None, None) => "credentials applied again".into(),
    }
}

/// The secret's note when neither it nor the settings changed, so that the block shows why
/// it is there (all its attributes would otherwise be folded away as unchanged).
fn other_note(reset: Option<&str>, failing: Option<&str>) -> String {
    match (failing, reset) {
        (Some(_), _) => "failing in the service".into(),
        (None, Some(step)) => format!("reset by {step}"),
        (None, None) => "applied again".into(),
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

/// After an import, the sources of the PBIX the rule sets credentials on (when the file
/// could be read): what a reviewer checks the rule against.
fn with_matched_sources(
    mut attrs: Vec<AttrDiff>,
    cred: &DesiredCredential,
    ds: &DesiredDataset,
    step: &Step<'_>,
) -> Vec<AttrDiff> {
    let fresh = step.imported || step.live.is_none();
    if let (true, Some(sources)) = (fresh, super::sources::imported_sources(ds)) {
        let matched: Vec<String> = sources
            .iter()
            .filter(|s| cred.matches.matches(s))
            .map(ToString::to_string)
            .collect();
        attrs.push(AttrDiff::values("datasources", None, json!(matched)));
    }
    attrs
}
