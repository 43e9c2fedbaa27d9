//! One dataset's manifest entry: PBIX, parameters, gateway, credentials (as environment
//! variable references) and refresh schedule, with its data sources described in comments.

use super::names::env_var_name;
use super::yaml::{Entry, Yaml};
use super::{InitInput, Notes, pbix_entry, text};
use crate::domain::operation::RefreshSchedule;
use crate::domain::operation::WEEK;
use crate::live::model::{LiveDataset, LiveDatasource, LiveWorkspace, eq_name};
use crate::manifest::placeholder::placeholder;

pub(super) fn dataset(
    input: &InitInput<'_>,
    ws: &LiveWorkspace,
    ds: &LiveDataset,
    notes: &mut Notes,
) -> Yaml {
    let mut pbix_entry = pbix_entry(input, &ws.name, "dataset", &ds.name, notes);
    for line in source_lines(input, ds) {
        pbix_entry = pbix_entry.above(line);
    }
    let mut entries = vec![Entry::new("name", text(&ds.name)), pbix_entry];
    if let Some(t) = takeover(input, ds) {
        entries.push(t);
    }
    if !ds.parameters.is_empty() {
        let params = ds
            .parameters
            .iter()
            .map(|(k, v)| Entry::new(k, text(v)))
            .collect();
        entries.push(Entry::new("parameters", Yaml::Map(params)));
    }
    if let Some(g) = gateway(input, ds) {
        entries.push(g);
    }
    let mut seen = Vec::new();
    let mut creds: Vec<Yaml> = Vec::new();
    for s in &ds.datasources {
        if seen.contains(&&s.datasource) {
            continue;
        }
        seen.push(&s.datasource);
        creds.extend(credential(input, ws, ds, s, notes));
    }
    if !creds.is_empty() {
        entries.push(Entry::new("credentials", Yaml::Seq(creds)));
    }
    // A disabled schedule with no days or times is the service's default: left unmanaged.
    if let Some(s) = ds
        .refresh_schedule
        .as_ref()
        .filter(|s| s.enabled || !s.days.is_empty() || !s.times.is_empty())
        && let Some(r) = refresh(ws, ds, s, notes)
    {
        entries.push(r);
    }
    Yaml::Map(entries)
}

/// `takeover: true` for a dataset another principal owns: the service lets only the owner
/// change parameters, sources, gateway binding, credentials or the schedule, so without it
/// the first such change fails with 401.
fn takeover(input: &InitInput<'_>, ds: &LiveDataset) -> Option<Entry> {
    let owner = ds.configured_by.as_deref()?;
    if input.live.principal.is(owner) {
        return None;
    }
    Some(Entry::new("takeover", Yaml::Bool(true)).above(format!(
        "owned by {owner}, not the deploying principal: only the owner may change its settings, so pbideploy takes it over first"
    )))
}

/// Comment lines describing the data sources as the service reports them.
fn source_lines(input: &InitInput<'_>, ds: &LiveDataset) -> Vec<String> {
    if ds.datasources.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["data sources in the service:".to_string()];
    for s in &ds.datasources {
        let place = match (&s.gateway_id, s.on_premises_gateway) {
            (Some(id), true) => {
                let name = input
                    .live
                    .gateway(id)
                    .map_or(id.as_str(), |g| g.name.as_str());
                format!("on gateway {name}")
            }
            (Some(_), false) => "cloud".to_string(),
            (None, _) => "not bound to a gateway".to_string(),
        };
        lines.push(format!("  {} ({place})", s.datasource));
    }
    lines
}

/// `gateway:` when every data source sits on the same on-premises gateway: by name when the
/// name is unique among the visible gateways, else by id.
fn gateway(input: &InitInput<'_>, ds: &LiveDataset) -> Option<Entry> {
    let first = ds.datasources.first()?;
    let id = first.gateway_id.as_deref()?;
    let all_there = ds.datasources.iter().all(|s| {
        s.on_premises_gateway
            && s.gateway_id
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(id))
    });
    if !all_there {
        return None;
    }
    let gw = input.live.gateway(id)?;
    let unique = input
        .live
        .gateways
        .iter()
        .filter(|g| eq_name(&g.name, &gw.name))
        .count()
        == 1;
    let by = if unique {
        Entry::new("name", text(&gw.name))
    } else {
        Entry::new("id", text(&gw.id))
    };
    Some(Entry::new("gateway", Yaml::Map(vec![by])))
}

/// A credential entry for a data source that has stored credentials, with each secret as an
/// environment variable reference; `None` (with a TODO) when it cannot be expressed.
fn credential(
    input: &InitInput<'_>,
    ws: &LiveWorkspace,
    ds: &LiveDataset,
    s: &LiveDatasource,
    notes: &mut Notes,
) -> Option<Yaml> {
    let id = s.datasource_id.as_deref()?;
    s.gateway_id.as_ref()?;
    let kind = input.credential_types.get(&id.to_lowercase())?;
    let secret = match kind.to_ascii_lowercase().as_str() {
        "basic" | "windows" => Some("password"),
        "key" => Some("key"),
        "oauth2" => Some("token"),
        "anonymous" => None,
        _ => {
            notes.todos.push(format!(
                "workspace {:?}, dataset {:?}: data source {} uses {kind} credentials, which a manifest cannot set; they are left as they are",
                ws.name, ds.name, s.datasource
            ));
            return None;
        }
    };
    let canonical = match kind.to_ascii_lowercase().as_str() {
        "basic" => "Basic",
        "windows" => "Windows",
        "key" => "Key",
        "oauth2" => "OAuth2",
        _ => "Anonymous",
    };
    let mut details: Vec<Entry> = s
        .datasource
        .connection_details
        .iter()
        .map(|(k, v)| Entry::new(k, text(v)))
        .collect();
    details.sort_by(|a, b| a.key.cmp(&b.key));
    let mut matches = vec![Entry::new("type", text(&s.datasource.datasource_type))];
    if !details.is_empty() {
        matches.push(Entry::new("connectionDetails", Yaml::Map(details)));
    }
    let mut entries = vec![
        Entry::new("match", Yaml::Map(matches)),
        Entry::new("type", Yaml::str(canonical)),
    ];
    if matches!(canonical, "Basic" | "Windows") {
        let todo = "the service does not reveal user names: set the one the data source uses";
        notes.todos.push(format!(
            "workspace {:?}, dataset {:?}, data source {}: {todo}",
            ws.name, ds.name, s.datasource
        ));
        entries.push(
            Entry::new("username", Yaml::str(placeholder("username")))
                .after(format!("TODO: {todo}")),
        );
    }
    if let Some(field) = secret {
        let var = env_var_name(
            &ds.name,
            &s.datasource.datasource_type,
            field,
            &notes.env_vars,
        );
        notes.env_vars.push(var.clone());
        entries.push(Entry::new(
            field,
            Yaml::Map(vec![Entry::new("env", Yaml::str(var))]),
        ));
    }
    Some(Yaml::Map(entries))
}

/// `HH:mm` on the hour or half hour, as the manifest schema requires.
fn valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && matches!(&t[3..], "00" | "30")
        && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
}

/// `refresh: {schedule: ...}` as the service has it; `None` (with a TODO) when the manifest
/// cannot express it exactly (a plan would then always differ).
fn refresh(
    ws: &LiveWorkspace,
    ds: &LiveDataset,
    s: &RefreshSchedule,
    notes: &mut Notes,
) -> Option<Entry> {
    let days: Option<Vec<&str>> = s
        .days
        .iter()
        .map(|d| WEEK.iter().copied().find(|k| k.eq_ignore_ascii_case(d)))
        .collect();
    let exact = days
        .as_ref()
        .is_some_and(|d| d.iter().zip(&s.days).all(|(a, b)| a == b))
        && s.times.iter().all(|t| valid_time(t))
        && !(s.enabled && s.days.is_empty())
        && ["NoNotification", "MailOnFailure"].contains(&s.notify_option.as_str());
    if !exact {
        notes.todos.push(format!(
            "workspace {:?}, dataset {:?}: the refresh schedule (days {:?}, times {:?}, notify {}) cannot be written exactly in a manifest, so it is left unmanaged",
            ws.name, ds.name, s.days, s.times, s.notify_option
        ));
        return None;
    }
    let seq = |items: Vec<Yaml>| Yaml::Seq(items);
    let mut entries = vec![
        Entry::new("enabled", Yaml::Bool(s.enabled)),
        Entry::new(
            "days",
            seq(days
                .unwrap_or_default()
                .into_iter()
                .map(Yaml::str)
                .collect()),
        ),
        Entry::new(
            "times",
            seq(s.times.iter().map(|t| Yaml::str(t.as_str())).collect()),
        ),
        Entry::new("timeZone", text(&s.time_zone)),
    ];
    if s.notify_option == "MailOnFailure" {
        entries.push(Entry::new("notifyOption", Yaml::str("MailOnFailure")));
    }
    let schedule = Yaml::Map(entries);
    Some(Entry::new(
        "refresh",
        Yaml::Map(vec![Entry::new("schedule", schedule)]),
    ))
}

#[cfg(test)]
mod tests {
    use super::valid_time;

    #[test]
    fn schedule_times_follow_the_schema() {
        for ok in ["00:00", "07:30", "23:30"] {
            assert!(valid_time(ok), "{ok}");
        }
        for bad in ["24:00", "7:30", "07:15", "0a:00", "07:300", ""] {
            assert!(!valid_time(bad), "{bad}");
        }
    }
}
