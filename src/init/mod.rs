//! `init`'s generator: a live snapshot of whole workspaces -> the text of a manifest that
//! describes them. Pure (no I/O): the command reads the service and the PBIX folder, this
//! decides what to write, so every mapping rule is unit-tested without a server.
//!
//! The rule that shapes it: planning the generated manifest right after `state adopt` must
//! show no changes. So it writes only what the planner can compare with the live service
//! and leaves out what would always plan a change (data-source re-pointing rules whose
//! target equals the source, connection strings the service does not reveal); those are
//! described in comments instead.
//!
//! [`adopt`] is the other half of taking over an existing estate: it decides what `state
//! adopt` records in the ledger for items that already exist in the service.

pub mod adopt;
mod dataset;
pub mod names;
pub mod yaml;

use std::collections::BTreeMap;

use crate::domain::operation::{PrincipalType, WorkspaceRole};
use crate::live::model::{LiveReport, LiveState, LiveUser, LiveWorkspace, eq_name};
use yaml::{Entry, Yaml};

/// Where an item's PBIX is: a file found under `--pbix-dir`, or a placeholder path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbixChoice {
    /// Relative to the manifest's folder, with `/` separators.
    pub path: String,
    /// False for a placeholder (flagged with a `# TODO` comment).
    pub found: bool,
    /// Why the match is uncertain (for example several files with that name).
    pub note: Option<String>,
}

/// What the generator reads.
pub struct InitInput<'a> {
    pub live: &'a LiveState,
    /// The workspaces to describe, in the order given on the command line.
    pub workspaces: &'a [String],
    /// The PBIX of (workspace name, item name).
    pub pbix: &'a dyn Fn(&str, &str) -> PbixChoice,
    /// Credential type per data source id, as the service reports it (`Basic`, `Key`, ...).
    pub credential_types: &'a BTreeMap<String, String>,
    /// Reads the service refused (what was left out and why).
    pub skipped: &'a [String],
    /// The first header line, e.g. which command made the file and when.
    pub generated_by: String,
}

/// The manifest text plus what the user must finish by hand.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub text: String,
    /// One line per placeholder or uncertainty, also written as `# TODO` in the text.
    pub todos: Vec<String>,
    /// The environment variables the credential entries name.
    pub env_vars: Vec<String>,
    pub datasets: usize,
    pub reports: usize,
}

/// Collects TODOs and variable names while the document is built.
#[derive(Default)]
pub(crate) struct Notes {
    pub todos: Vec<String>,
    pub env_vars: Vec<String>,
}

/// Builds the manifest for `input`.
pub fn generate(input: &InitInput<'_>) -> Generated {
    let mut notes = Notes::default();
    notes.todos.extend(
        input
            .skipped
            .iter()
            .map(|s| format!("not read from the service, so left out of the manifest: {s}")),
    );
    let mut out = Generated::default();
    let mut workspaces = Vec::new();
    for name in input.workspaces {
        let Some(ws) = input.live.workspace(name) else {
            continue;
        };
        let (entry, datasets, reports) = workspace(input, ws, &mut notes);
        out.datasets += datasets;
        out.reports += reports;
        workspaces.push(entry);
    }
    let root = Yaml::Map(vec![
        Entry::new("apiVersion", Yaml::str("pbideploy/v1")),
        Entry::new("workspaces", Yaml::Seq(workspaces)),
    ]);
    out.text = yaml::render(&header(input), &root);
    out.todos = notes.todos;
    out.env_vars = notes.env_vars;
    out
}

fn header(input: &InitInput<'_>) -> Vec<String> {
    let mut lines = vec![
        input.generated_by.clone(),
        String::new(),
        "Review before the first apply:".into(),
        "- `# TODO` marks what the service does not reveal: placeholder PBIX paths (put the".into(),
        "  files there, or run init again with --pbix-dir) and credential user names.".into(),
        "- Credentials are references to environment variables: set them where apply runs.".into(),
        "  Privacy levels and encryption are not readable and take their defaults.".into(),
        "- Then `pbideploy state adopt -f THIS_FILE` records the existing items, so the first"
            .into(),
        "  apply does not import everything again, and `pbideploy plan` shows what differs.".into(),
    ];
    for s in input.skipped {
        lines.push(format!("TODO: not read from the service, so left out: {s}"));
    }
    lines
}

/// Manifest text: a literal `${` must be written `$${` (values are interpolated).
pub(crate) fn text(s: &str) -> Yaml {
    Yaml::Str(s.replace("${", "$${"))
}

/// The all-zero capacity id the service may report for shared capacity.
const SHARED_CAPACITY: &str = "00000000-0000-0000-0000-000000000000";

fn workspace(input: &InitInput<'_>, ws: &LiveWorkspace, notes: &mut Notes) -> (Yaml, usize, usize) {
    let mut entries = vec![Entry::new("name", text(&ws.name))];
    match ws.capacity_id.as_deref() {
        Some(c) if !c.eq_ignore_ascii_case(SHARED_CAPACITY) && !c.trim().is_empty() => {
            entries.push(Entry::new("capacity", text(c)));
        }
        // Shared capacity is left unmanaged, so a plan never moves the workspace.
        _ => {}
    }
    let mut users: Vec<&LiveUser> = ws.users.iter().collect();
    users.sort_by_key(|u| u.principal.identifier.to_lowercase());
    if !users.is_empty() {
        entries.push(Entry::new(
            "access",
            Yaml::Seq(users.into_iter().map(access).collect()),
        ));
    }
    let mut datasets: Vec<Yaml> = Vec::new();
    let mut sorted: Vec<_> = ws.datasets.iter().collect();
    sorted.sort_by_key(|d| d.name.to_lowercase());
    let mut seen: Vec<&str> = Vec::new();
    for ds in sorted {
        if seen.iter().any(|s| eq_name(s, &ds.name)) {
            notes.todos.push(format!(
                "workspace {:?} has more than one dataset named {:?}; pbideploy identifies items by name, so rename or delete the extra (id {}) in the service",
                ws.name, ds.name, ds.id
            ));
            continue;
        }
        seen.push(&ds.name);
        datasets.push(dataset::dataset(input, ws, ds, notes));
    }
    let (reports, report_notes) = reports(input, ws, notes);
    let counts = (datasets.len(), reports.len());
    if !datasets.is_empty() {
        entries.push(Entry::new("datasets", Yaml::Seq(datasets)));
    }
    if !reports.is_empty() {
        entries.push(Entry::new("reports", Yaml::Seq(reports)));
    }
    if let Some(last) = entries.last_mut() {
        for n in report_notes {
            last.after = Some(match last.after.take() {
                Some(a) => format!("{a}; {n}"),
                None => n,
            });
        }
    }
    (Yaml::Map(entries), counts.0, counts.1)
}

fn access(u: &LiveUser) -> Yaml {
    let kind = match u.principal.principal_type {
        PrincipalType::User => "User",
        PrincipalType::Group => "Group",
        PrincipalType::App => "App",
    };
    let role = match u.role {
        WorkspaceRole::Admin => "Admin",
        WorkspaceRole::Member => "Member",
        WorkspaceRole::Contributor => "Contributor",
        WorkspaceRole::Viewer => "Viewer",
    };
    Yaml::Map(vec![
        Entry::new("principal", text(&u.principal.identifier)),
        Entry::new("principalType", Yaml::str(kind)),
        Entry::new("role", Yaml::str(role)),
    ])
}

/// True when `r` is the report a dataset's own PBIX created (same name, bound to it): the
/// dataset entry covers it.
fn is_datasets_own(ws: &LiveWorkspace, r: &LiveReport) -> bool {
    ws.datasets.iter().any(|d| {
        eq_name(&d.name, &r.name)
            && r.dataset_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&d.id))
    })
}

/// The workspace's reports that are not a dataset's own, and notes on those left out.
fn reports(
    input: &InitInput<'_>,
    ws: &LiveWorkspace,
    notes: &mut Notes,
) -> (Vec<Yaml>, Vec<String>) {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    let mut sorted: Vec<&LiveReport> = ws
        .reports
        .iter()
        .filter(|r| !is_datasets_own(ws, r))
        .collect();
    sorted.sort_by_key(|r| r.name.to_lowercase());
    let mut seen: Vec<&str> = Vec::new();
    for r in sorted {
        let target = report_target(input, ws, r);
        let skip = if seen.iter().any(|s| eq_name(s, &r.name)) {
            Some("another report has the same name; rename or delete one in the service".into())
        } else {
            target.as_ref().err().cloned()
        };
        if let Some(why) = skip {
            let line = format!("report {:?} (id {}) is left out: {why}", r.name, r.id);
            notes.todos.push(format!("workspace {:?}: {line}", ws.name));
            left_out.push(format!("TODO: {line}"));
            continue;
        }
        seen.push(&r.name);
        let dataset = target.unwrap_or_default();
        out.push(Yaml::Map(vec![
            Entry::new("name", text(&r.name)),
            pbix_entry(input, &ws.name, "report", &r.name, notes),
            Entry::new("dataset", text(&dataset)),
        ]));
    }
    (out, left_out)
}

/// The manifest's `dataset` of a report: `Name` in the same workspace, `Workspace/Name` in
/// another described one; an error says why it cannot be written.
fn report_target(
    input: &InitInput<'_>,
    ws: &LiveWorkspace,
    r: &LiveReport,
) -> Result<String, String> {
    let Some(id) = r.dataset_id.as_deref() else {
        return Err("it is bound to no dataset".into());
    };
    let home = r
        .dataset_workspace_id
        .as_deref()
        .map_or(Some(ws), |wid| input.live.workspace_by_id(wid));
    let found = home.and_then(|h| h.dataset_by_id(id).map(|d| (h, d)));
    let Some((h, d)) = found else {
        return Err(format!(
            "its dataset {id} is in a workspace not given with --workspace (add that workspace to describe it)"
        ));
    };
    if h.id.eq_ignore_ascii_case(&ws.id) {
        return Ok(d.name.clone());
    }
    if h.name.contains('/') {
        return Err(format!(
            "its dataset is in workspace {:?}, whose name contains `/`, which a manifest reference cannot express",
            h.name
        ));
    }
    Ok(format!("{}/{}", h.name, d.name))
}

/// The `pbix:` entry of an item, with a `# TODO` (also noted) for a placeholder path or an
/// uncertain match.
pub(crate) fn pbix_entry(
    input: &InitInput<'_>,
    ws: &str,
    kind: &str,
    name: &str,
    notes: &mut Notes,
) -> Entry {
    let pbix = (input.pbix)(ws, name);
    let entry = Entry::new("pbix", text(&pbix.path));
    let todo = match (&pbix.note, pbix.found) {
        (Some(n), _) => n.clone(),
        (None, false) => "placeholder path: put the PBIX here or change the path".into(),
        (None, true) => return entry,
    };
    notes
        .todos
        .push(format!("workspace {ws:?}, {kind} {name:?}: {todo}"));
    entry.after(format!("TODO: {todo}"))
}

#[cfg(test)]
mod tests;
