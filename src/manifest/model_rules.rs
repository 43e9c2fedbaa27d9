//! Checks of a dataset against the model in its PBIX (read by the `pbix` crate): parameters
//! the file declares, values that fit their type and allowed list, `datasources` and
//! `credentials` rules that match a data source the dataset will have once the manifest's
//! parameter values are set, and a refresh schedule that fits the storage mode.
//!
//! A file whose model cannot be trusted (the reader refuses its model part, it holds no
//! model) is skipped with a note at `-v`, never flagged: a false error would block a
//! pipeline for a file the service imports fine. Likewise "matches no source" is only
//! concluded when the M analyser derived every data-access call of the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::model::{Dataset, DatasourceMatch, ParameterValue};
use super::positions::{PosMap, escape};
use crate::diagnostics::Diagnostic;
use crate::model_facts::{DataSource, DatasetMode, FileFacts, ModelFacts, Parameter};
use crate::sanitize;

/// Reads each distinct PBIX once per manifest and checks the datasets that use it.
#[derive(Default)]
pub struct ModelChecks {
    seen: HashMap<PathBuf, Rc<FileFacts>>,
}

/// The files read are cached for the next run once the manifest is checked.
impl Drop for ModelChecks {
    fn drop(&mut self) {
        if !self.seen.is_empty() {
            crate::model_facts::cache::flush();
        }
    }
}

impl ModelChecks {
    /// Checks `ds` (its `pbix` already resolved and of a model kind) at pointer `base`.
    pub fn check(&mut self, ds: &Dataset, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
        let schedule = ds.refresh.as_ref().and_then(|r| r.schedule.as_ref());
        let nothing_to_check = ds.parameters.is_empty()
            && ds.datasources.is_empty()
            && ds.credentials.is_empty()
            && schedule.is_none();
        let Some(pbix) = ds.pbix.as_ref() else { return };
        if nothing_to_check {
            return;
        }
        let facts = self
            .seen
            .entry(pbix.clone())
            .or_insert_with(|| {
                let facts = crate::model_facts::lookup(pbix);
                if let FileFacts::Unknown { why } = &facts {
                    tracing::info!(
                        "{}: checks against the file's model skipped: {why}",
                        pbix.display()
                    );
                }
                Rc::new(facts)
            })
            .clone();
        let Some(model) = facts.model() else { return };
        check_parameters(ds, model, base, pos, out);
        check_schedule_mode(ds, model.mode, base, pos, out);
        if ds.connection_string.is_some() {
            return;
        }
        if !model.unresolved_sources.is_empty() {
            tracing::info!(
                "{}: `datasources`/`credentials` matches not checked: the file calls {} whose data source cannot be derived offline",
                pbix.display(),
                model.unresolved_sources.join(", ")
            );
            return;
        }
        check_source_rules(ds, model, base, pos, out);
    }
}

fn check_parameters(
    ds: &Dataset,
    model: &ModelFacts,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    // Pointers and messages are written only for a problem found: this runs for every
    // dataset of the manifest.
    let at = |name: &str| format!("{base}/parameters/{}", escape(name));
    for (name, value) in &ds.parameters {
        let Some(param) = model.parameter(name) else {
            out.push(unknown_parameter(name, model).at(pos.key(&at(name))));
            continue;
        };
        // A number already carries its written text (`keep_written_numbers`).
        if let Some(diag) = misfit(param, value, &value.to_wire()) {
            out.push(diag.at(pos.value(&at(name))));
        }
    }
}

fn unknown_parameter(name: &str, model: &ModelFacts) -> Diagnostic {
    let diag = Diagnostic::new(
        "unknown-parameter",
        format!("the PBIX declares no parameter `{}`", sanitize::text(name)),
    );
    let names: Vec<String> = model.parameters.iter().map(|p| p.name.clone()).collect();
    if names.is_empty() {
        return diag.hint("the file has no M parameters; remove `parameters`, or add the parameter in Power BI Desktop (Manage Parameters)");
    }
    let same_case = names.iter().find(|n| n.eq_ignore_ascii_case(name));
    match same_case
        .cloned()
        .or_else(|| super::schema::closest(name, &names))
    {
        Some(best) => diag.hint(format!(
            "did you mean `{}`? (names are case-sensitive)",
            sanitize::text(&best)
        )),
        None => diag.hint(format!(
            "the file's parameters are: {}",
            names
                .iter()
                .map(|n| format!("`{}`", sanitize::text(n)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Why `text` cannot be the parameter's new value, if it cannot (the service's rules for
/// `Update Parameters`: `Any` and `Binary` parameters cannot be updated, a required one not
/// emptied, the value must parse as the type; plus the file's list of allowed values).
fn misfit(param: &Parameter, value: &ParameterValue, text: &str) -> Option<Diagnostic> {
    let name = || sanitize::text(&param.name);
    let ty = param.param_type.as_str();
    if ty.eq_ignore_ascii_case("Any") || ty.eq_ignore_ascii_case("Binary") {
        return Some(
            Diagnostic::new(
                "parameter-not-updatable",
                format!("parameter `{}` is of type {ty}, which the service does not let `Update Parameters` change", name()),
            )
            .hint("give the parameter a type in Power BI Desktop (Manage Parameters > Type), or remove it from `parameters`"),
        );
    }
    if text.is_empty() {
        return param.required.then(|| {
            Diagnostic::new(
                "parameter-type-mismatch",
                format!("parameter `{}` is required and cannot be set empty", name()),
            )
            .hint("give it a value")
        });
    }
    if let Some(expected) = type_misfit(ty, value, text) {
        return Some(
            Diagnostic::new(
                "parameter-type-mismatch",
                format!(
                    "`{}` is not a valid {ty} for parameter `{}`",
                    sanitize::text(text),
                    name()
                ),
            )
            .hint(format!("write {expected}")),
        );
    }
    let text_type = ty.eq_ignore_ascii_case("Text");
    let allowed = |a: &String| {
        if text_type {
            a == text
        } else {
            a.eq_ignore_ascii_case(text)
        }
    };
    if !param.allowed_values.is_empty() && !param.allowed_values.iter().any(allowed) {
        let list: Vec<String> = param
            .allowed_values
            .iter()
            .map(|v| format!("`{}`", sanitize::text(v)))
            .collect();
        return Some(
            Diagnostic::new(
                "parameter-not-allowed",
                format!(
                    "`{}` is not one of the values parameter `{}` allows",
                    sanitize::text(text),
                    name()
                ),
            )
            .hint(format!(
                "use one of {}, or change the list in Power BI Desktop (Manage Parameters > Suggested values)",
                list.join(", ")
            )),
        );
    }
    None
}

/// What a value of type `ty` looks like, when `text` is not one (Power Query parameter
/// types; `Text` and unknown types take anything).
fn type_misfit(ty: &str, value: &ParameterValue, text: &str) -> Option<&'static str> {
    let t = text.trim();
    let ok = match ty.to_ascii_lowercase().as_str() {
        "number" | "decimal" | "int64" | "double" | "currency" | "percentage" => {
            matches!(value, ParameterValue::Number(_)) || t.parse::<f64>().is_ok_and(f64::is_finite)
        }
        "logical" => {
            matches!(value, ParameterValue::Logical(_))
                || ["true", "false"].contains(&t.to_ascii_lowercase().as_str())
        }
        "date" => is_date(t),
        "datetime" | "datetimezone" => t
            .split_once([' ', 'T'])
            .is_some_and(|(d, time)| is_date(d) && is_time(time.trim())),
        "time" => is_time(t),
        "duration" => is_duration(t),
        _ => true,
    };
    if ok {
        return None;
    }
    Some(match ty.to_ascii_lowercase().as_str() {
        "logical" => "`true` or `false`",
        "date" => "a date such as `2024-01-31`",
        "datetime" | "datetimezone" => "a date and time such as `2024-01-31 08:00:00`",
        "time" => "a time such as `08:00:00`",
        "duration" => "a duration such as `1.02:00:00` (days.hours:minutes:seconds)",
        _ => "a number such as `42` or `0.5`",
    })
}

/// `yyyy-mm-dd` or `m/d/yyyy` (the form `Get Parameters` shows).
fn is_date(t: &str) -> bool {
    let nums = |parts: Vec<&str>| -> Option<Vec<u32>> {
        parts.iter().map(|p| p.parse::<u32>().ok()).collect()
    };
    let (y, m, d) = match (nums(t.split('-').collect()), nums(t.split('/').collect())) {
        (Some(v), _) if v.len() == 3 => (v[0], v[1], v[2]),
        (_, Some(v)) if v.len() == 3 => (v[2], v[0], v[1]),
        _ => return false,
    };
    (1..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// `hh:mm[:ss[.fff]]`, optionally with ` AM`/` PM`.
fn is_time(t: &str) -> bool {
    let t = t
        .strip_suffix(" AM")
        .or_else(|| t.strip_suffix(" PM"))
        .unwrap_or(t);
    let t = t.split(['+', 'Z']).next().unwrap_or(t);
    let parts: Vec<&str> = t.split(':').collect();
    let in_range = |p: &&str, max: f64| p.parse::<f64>().is_ok_and(|v| (0.0..max).contains(&v));
    (2..=3).contains(&parts.len())
        && in_range(&parts[0], 24.0)
        && parts[1..].iter().all(|p| in_range(p, 60.0))
}

/// `[-]d.hh:mm:ss` or `hh:mm:ss`.
fn is_duration(t: &str) -> bool {
    let t = t.strip_prefix('-').unwrap_or(t);
    match t.split_once('.') {
        Some((days, rest)) if rest.contains(':') => days.parse::<u32>().is_ok() && is_time(rest),
        _ => is_time(t),
    }
}

fn check_schedule_mode(
    ds: &Dataset,
    mode: DatasetMode,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let Some(schedule) = ds.refresh.as_ref().and_then(|r| r.schedule.as_ref()) else {
        return;
    };
    let at = format!("{base}/refresh/schedule");
    let days_or_times = !schedule.days.is_empty() || !schedule.times.is_empty();
    if schedule.frequency.is_some() && days_or_times {
        return; // `schedule-conflict` already says to keep one of them.
    }
    let diag = match mode {
        DatasetMode::Import if schedule.frequency.is_some() => Diagnostic::new(
            "schedule-mode-mismatch",
            "the PBIX holds an Import model: `frequency` schedules only DirectQuery datasets",
        )
        .at(pos.value(&format!("{at}/frequency")))
        .hint("schedule an Import refresh with `days` and `times` instead of `frequency`"),
        DatasetMode::DirectQuery if days_or_times => {
            let field = if schedule.days.is_empty() {
                "times"
            } else {
                "days"
            };
            Diagnostic::new(
                "schedule-mode-mismatch",
                "the PBIX holds a DirectQuery model, which the service does not refresh on `days`/`times`",
            )
            .at(pos.value(&format!("{at}/{field}")))
            .hint("use `frequency: 15|30|60|120|180` (minutes) for a DirectQuery dataset")
        }
        _ => return,
    };
    out.push(diag);
}

/// `datasources` rules must match a source once the parameters are set; `credentials`
/// rules one once the sources are also re-pointed.
fn check_source_rules(
    ds: &Dataset,
    model: &ModelFacts,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let values: HashMap<&str, String> = ds
        .parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_wire()))
        .collect();
    let before = model.sources_with(|name| values.get(name).map(String::as_str));
    let mut after = before.clone();
    for (i, rule) in ds.datasources.iter().enumerate() {
        if !before.iter().any(|s| source_matches(&rule.matches, s)) {
            out.push(
                Diagnostic::new(
                    "unmatched-datasource",
                    format!(
                        "this rule matches none of the data sources the dataset will have: {}",
                        listed(&before)
                    ),
                )
                .at(pos.value(&format!("{base}/datasources/{i}/match")))
                .hint("match a source as listed (type and connection details, after `parameters` are set); `pbideploy inspect FILE.pbix` shows them"),
            );
        }
        repoint(&mut after, rule);
    }
    for (c, cred) in ds.credentials.iter().enumerate() {
        let matches = |s: &DataSource| source_matches(&cred.matches, s);
        // Matched before the re-pointing only, or written for details a rule re-points
        // away: the `unmatched-credential` check of `semantic` names the rule.
        if after.iter().any(matches) || before.iter().any(matches) || moved_away(ds, cred) {
            continue;
        }
        out.push(
            Diagnostic::new(
                "unmatched-credential",
                format!(
                    "this credential rule matches none of the data sources the dataset will have: {}",
                    listed(&after)
                ),
            )
            .at(pos.value(&format!("{base}/credentials/{c}/match")))
            .hint("match a source as listed (after `parameters` and `datasources` apply), or remove the rule"),
        );
    }
}

/// Whether a `datasources` rule re-points the details `cred` matches to others.
fn moved_away(ds: &Dataset, cred: &super::model::CredentialRule) -> bool {
    let want = &cred.matches.connection_details;
    !want.fields().is_empty()
        && ds.datasources.iter().any(|rule| {
            want.is_subset_of(&rule.matches.connection_details)
                && !want.is_subset_of(&rule.set.connection_details)
        })
}

/// The sources after one `datasources` rule: matched ones take its `set` details.
fn repoint(sources: &mut Vec<DataSource>, rule: &super::model::DatasourceRule) {
    let mut moved = Vec::new();
    sources.retain(|s| {
        let hit = source_matches(&rule.matches, s);
        if hit
            && !moved
                .iter()
                .any(|m: &DataSource| m.datasource_type == s.datasource_type)
        {
            moved.push(s.clone());
        }
        !hit
    });
    for s in moved {
        let details = rule
            .set
            .connection_details
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect();
        sources.push(DataSource {
            datasource_type: s.datasource_type,
            connection_details: details,
            parameter_details: Default::default(),
        });
    }
}

/// Whether `rule` selects a source the PBIX declares
/// ([`crate::domain::source_match::selects`], as plan and apply match live sources).
fn source_matches(rule: &DatasourceMatch, source: &DataSource) -> bool {
    crate::domain::source_match::selects(
        rule.datasource_type.as_deref().unwrap_or_default(),
        rule.connection_details.fields(),
        &source.datasource_type,
        source
            .connection_details
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
    )
}

/// Sources as `Type key=value;...`, or `(none)`.
fn listed(sources: &[DataSource]) -> String {
    if sources.is_empty() {
        return "(none)".into();
    }
    sources
        .iter()
        .map(|s| {
            let details: Vec<String> = s
                .connection_details
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            sanitize::text(&format!("{} {}", s.datasource_type, details.join(";")))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_their_type() {
        let num = ParameterValue::Text("x".into());
        assert!(type_misfit("Number", &num, "abc").is_some());
        assert!(type_misfit("Number", &num, "12.5").is_none());
        assert!(type_misfit("Logical", &num, "yes").is_some());
        assert!(type_misfit("Logical", &ParameterValue::Logical(true), "TRUE").is_none());
        assert!(type_misfit("Date", &num, "2024-02-30").is_none());
        assert!(type_misfit("Date", &num, "2024-13-01").is_some());
        assert!(type_misfit("Date", &num, "1/31/2024").is_none());
        assert!(type_misfit("DateTime", &num, "2024-01-31 08:00:00").is_none());
        assert!(type_misfit("DateTime", &num, "2024-01-31").is_some());
        assert!(type_misfit("Time", &num, "25:00").is_some());
        assert!(type_misfit("Time", &num, "23:30").is_none());
        assert!(type_misfit("Duration", &num, "1.02:00:00").is_none());
        assert!(type_misfit("Text", &num, "anything").is_none());
    }
}
