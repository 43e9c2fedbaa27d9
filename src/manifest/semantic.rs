//! Checks the schema cannot express: unique names, references between items, PBIX files
//! (present, a file inside the manifest's folder after resolving symlinks, readable with
//! bounded reads, of a kind that fits their role), credential rules that fit their type and
//! can match a source.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::model::{
    CredentialRule, CredentialType, Dataset, DatasetRef, EncryptedConnection, Manifest, Schedule,
    Workspace,
};
use super::model_rules::ModelChecks;
use super::names::name_key;
use super::paths::{Resolved, resolve_within};
use super::positions::PosMap;
use super::project::{self, ProjectChecks};
use super::time_zones::suggest;
use crate::diagnostics::Diagnostic;
use crate::domain::secret_ref::SecretRef;
use crate::model_facts::{self, ImportKind};
use crate::sanitize;
use windows_time_zones::is_windows_time_zone;

/// Runs every check, resolving `pbix` paths (absolute, canonical) and report targets in place.
pub fn check(manifest: &mut Manifest, root: &Path, pos: &PosMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_service(manifest, pos, &mut out);
    super::state::check(manifest, pos, &mut out);
    super::names::check(manifest, pos, &mut out);
    check_workspace_names(&manifest.workspaces, pos, &mut out);
    let mut pbix = PbixChecks::new(root);
    let mut models = ModelChecks::default();
    for (w, ws) in manifest.workspaces.iter_mut().enumerate() {
        let base = format!("/workspaces/{w}");
        check_workspace(ws, &base, (&mut pbix, &mut models), pos, &mut out);
    }
    resolve_reports(manifest, root, pos, &mut out);
    out
}

fn check_service(manifest: &Manifest, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    if let Some(service) = &manifest.service
        && service.cloud.is_some()
        && (service.api_url.is_some() || service.authority_url.is_some())
    {
        out.push(
            Diagnostic::new("service-conflict", "`service` sets both `cloud` and explicit URLs")
                .at(pos.value("/service"))
                .hint("use either `cloud: public` (or another cloud) or `apiUrl`/`authorityUrl`, not both"),
        );
    }
}

fn check_workspace_names(workspaces: &[Workspace], pos: &PosMap, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (w, ws) in workspaces.iter().enumerate() {
        if let Some(first) = seen.insert(name_key(&ws.name), w) {
            out.push(
                Diagnostic::new(
                    "duplicate-workspace",
                    format!(
                        "workspace `{}` is declared twice (names are case-insensitive)",
                        ws.name
                    ),
                )
                .at(pos.value(&format!("/workspaces/{w}/name")))
                .hint(format!(
                    "merge it with workspaces[{first}]{} or rename one of them",
                    same_to_the_service(&workspaces[first].name, &ws.name)
                )),
            );
        }
    }
}

/// For two names with one key written differently: why the service takes them as one.
fn same_to_the_service(first: &str, second: &str) -> String {
    if first == second {
        return String::new();
    }
    format!(
        " (`{}`: the service matches names ignoring case, and names that differ only by surrounding spaces or Unicode normalization read the same)",
        sanitize::text(first)
    )
}

fn check_workspace(
    ws: &mut Workspace,
    base: &str,
    (pbix, models): (&mut PbixChecks, &mut ModelChecks),
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let mut principals: HashMap<String, usize> = HashMap::new();
    for (a, access) in ws.access.iter().enumerate() {
        if principals
            .insert(access.principal.to_lowercase(), a)
            .is_some()
        {
            out.push(
                Diagnostic::new(
                    "duplicate-access",
                    format!(
                        "principal `{}` is listed twice in `access` of workspace `{}`",
                        access.principal, ws.name
                    ),
                )
                .at(pos.value(&format!("{base}/access/{a}/principal")))
                .hint("a principal has one role per workspace; keep one entry"),
            );
        }
    }
    duplicates(
        ws.datasets.iter().map(|d| d.name.as_str()),
        "dataset",
        &ws.name,
        &format!("{base}/datasets"),
        pos,
        out,
    );
    duplicates(
        ws.reports.iter().map(|r| r.name.as_str()),
        "report",
        &ws.name,
        &format!("{base}/reports"),
        pos,
        out,
    );
    let mut projects = ProjectChecks::new(pbix.root);
    for (d, ds) in ws.datasets.iter_mut().enumerate() {
        let at = format!("{base}/datasets/{d}");
        if let Some(path) = ds.pbix.take() {
            let role = PbixRole::Dataset;
            let before = out.len();
            ds.pbix = Some(pbix.check(&path, role, &format!("{at}/pbix"), pos, out));
            if out.len() == before {
                models.check(ds, &at, pos, out);
            }
        }
        projects.dataset(ds, &at, pos, out);
        check_dataset(ds, &at, pos, out);
        for (c, cred) in ds.credentials.iter().enumerate() {
            check_secret_files(cred, pbix.root, &format!("{at}/credentials/{c}"), pos, out);
        }
    }
    for (r, report) in ws.reports.iter_mut().enumerate() {
        let at = format!("{base}/reports/{r}");
        if let Some(path) = report.pbix.take() {
            let role = PbixRole::Report;
            report.pbix = Some(pbix.check(&path, role, &format!("{at}/pbix"), pos, out));
        }
        projects.report(report, &at, pos, out);
    }
}

fn duplicates<'a>(
    names: impl Iterator<Item = &'a str>,
    what: &str,
    workspace: &str,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<String, (usize, &str)> = HashMap::new();
    for (i, name) in names.enumerate() {
        if let Some((first, spelled)) = seen.insert(name_key(name), (i, name)) {
            out.push(
                Diagnostic::new(
                    if what == "dataset" {
                        "duplicate-dataset"
                    } else {
                        "duplicate-report"
                    },
                    format!("{what} `{name}` is declared twice in workspace `{workspace}`"),
                )
                .at(pos.value(&format!("{base}/{i}/name")))
                .hint(format!(
                    "the first one is entry [{first}]{}; rename or remove one",
                    same_to_the_service(spelled, name)
                )),
            );
        }
    }
}

/// What is wrong with a `pbix` path, or what the file is.
#[derive(Clone)]
enum PbixProblem {
    Outside,
    Missing,
    NotFile,
    NotZip,
    /// Refused by the bounded reader (bomb, unsafe names, bad `Connections`, ...).
    Unreadable(String),
}

/// Which list a `pbix` appears in: the file's kind must fit it.
#[derive(Clone, Copy)]
enum PbixRole {
    Dataset,
    Report,
}

/// Checks each distinct `pbix` path once: a model deployed to many workspaces names the same
/// file many times. Only the table of contents and the `Connections` part are read.
struct PbixChecks<'a> {
    root: &'a Path,
    seen: HashMap<PathBuf, (PathBuf, Result<ImportKind, PbixProblem>)>,
}

/// The kinds read are cached for the next run once the manifest is checked.
impl Drop for PbixChecks<'_> {
    fn drop(&mut self) {
        if !self.seen.is_empty() {
            model_facts::cache::flush();
        }
    }
}

impl<'a> PbixChecks<'a> {
    fn new(root: &'a Path) -> Self {
        PbixChecks {
            root,
            seen: HashMap::new(),
        }
    }

    /// The resolved path; a diagnostic at `pointer` when the file is not a usable PBIX or
    /// its kind does not fit `role`.
    fn check(
        &mut self,
        path: &Path,
        role: PbixRole,
        pointer: &str,
        pos: &PosMap,
        out: &mut Vec<Diagnostic>,
    ) -> PathBuf {
        let root = self.root;
        let (resolved, read) = self
            .seen
            .entry(path.to_path_buf())
            .or_insert_with(|| inspect_pbix(root, path))
            .clone();
        let shown = path.display();
        let diag = match read {
            Ok(kind) => match kind_misfit(&kind, role, &shown.to_string()) {
                None => return resolved,
                Some(diag) => diag,
            },
            Err(PbixProblem::Outside) => {
                outside_root("pbix-outside-root", "PBIX file", path, &resolved)
            }
            Err(PbixProblem::Missing) => Diagnostic::new(
                "pbix-missing",
                format!("PBIX file `{shown}` does not exist"),
            )
            .hint("paths are relative to the manifest's folder"),
            Err(PbixProblem::NotFile) => Diagnostic::new(
                "pbix-not-file",
                format!("PBIX path `{shown}` is not a file"),
            )
            .hint("point `pbix` at a .pbix file, not a folder"),
            Err(PbixProblem::NotZip) => Diagnostic::new(
                "pbix-not-zip",
                format!("`{shown}` is not a PBIX file (not a zip archive)"),
            )
            .hint("save the report from Power BI Desktop as .pbix"),
            Err(PbixProblem::Unreadable(why)) => Diagnostic::new(
                "pbix-unreadable",
                format!("`{shown}` is refused: {why}"),
            )
            .hint("save the file again from Power BI Desktop; archives that could be zip bombs, hold unsafe entry names or a malformed `Connections` part are not read"),
        };
        out.push(diag.at(pos.value(pointer)));
        resolved
    }
}

/// The diagnostic when a file's kind does not fit its role: a report must be a thin report
/// bound to a Power BI dataset; a dataset must hold a model (or a live connection to
/// Analysis Services, which the service turns into a live-connection dataset); templates fit
/// neither.
fn kind_misfit(kind: &ImportKind, role: PbixRole, shown: &str) -> Option<Diagnostic> {
    use ImportKind as Kind;
    match (kind, role) {
        (Kind::Template, _) => Some(
            Diagnostic::new(
                "pbix-template",
                format!("`{shown}` is a Power BI template (.pbit), which the service does not import"),
            )
            .hint("open the template in Power BI Desktop and save it as .pbix"),
        ),
        (Kind::ReportOnDataset, PbixRole::Report)
        | (Kind::Model | Kind::ReportOnAnalysisServices { .. }, PbixRole::Dataset) => None,
        (Kind::Model, PbixRole::Report) => Some(
            Diagnostic::new(
                "report-pbix-not-thin",
                format!("`{shown}` holds a data model: importing it creates a dataset, not a thin report"),
            )
            .hint("declare it under `datasets:`, or save the report in Power BI Desktop connected live to a Power BI dataset"),
        ),
        (Kind::ReportOnAnalysisServices { server }, PbixRole::Report) => Some(
            Diagnostic::new(
                "report-pbix-analysis-services",
                format!("`{shown}` is live-connected to Analysis Services (`{server}`), not to a Power BI dataset, so it cannot be bound to `dataset`"),
            )
            .hint("declare it under `datasets:` (the service creates a live-connection dataset), or connect the report to a Power BI dataset"),
        ),
        (Kind::ReportOnDataset, PbixRole::Dataset) => Some(
            Diagnostic::new(
                "dataset-pbix-thin-report",
                format!("`{shown}` is a thin report (live-connected to a Power BI dataset): importing it creates no dataset"),
            )
            .hint("declare it under `reports:` with `dataset:` naming the dataset it binds to"),
        ),
    }
}

/// The resolved path of a `pbix` and its kind (through the model cache: a file whose size and
/// time are unchanged is not opened).
fn inspect_pbix(root: &Path, path: &Path) -> (PathBuf, Result<ImportKind, PbixProblem>) {
    let canonical = match resolve_within(root, path) {
        Resolved::Outside(resolved) => return (resolved, Err(PbixProblem::Outside)),
        Resolved::Inside(p) if p.exists() => p,
        Resolved::Inside(p) => return (p, Err(PbixProblem::Missing)),
    };
    if !canonical.is_file() {
        return (canonical, Err(PbixProblem::NotFile));
    }
    let options = pbix::Options {
        kind_only: true,
        ..pbix::Options::default()
    };
    let read = model_facts::import_kind(&canonical, || {
        match pbix::Pbix::open_with(&canonical, &options) {
            Ok(file) => Ok(ImportKind::from(&file.kind)),
            Err(pbix::PbixError::NotZip(_)) => Err(PbixProblem::NotZip),
            Err(e) => Err(PbixProblem::Unreadable(e.to_string())),
        }
    });
    (canonical, read)
}

/// A path that leaves the manifest's folder tree; `what` names the reference.
fn outside_root(code: &'static str, what: &str, path: &Path, resolved: &Path) -> Diagnostic {
    Diagnostic::new(
        code,
        format!(
            "{what} `{}` resolves to `{}`, outside the manifest's folder",
            path.display(),
            resolved.display()
        ),
    )
    .hint(format!(
        "keep {what}s in the manifest's folder tree (`..`, absolute paths and symlinks out of it are refused)"
    ))
}

/// `{file: ...}` secrets must stay in the manifest's folder tree too; they need not exist yet
/// (a pipeline may write them just before `apply`).
fn check_secret_files(
    cred: &CredentialRule,
    root: &Path,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    for (field, secret) in cred.secrets() {
        if let Some(SecretRef::File(path)) = secret
            && let Resolved::Outside(resolved) = resolve_within(root, Path::new(path))
        {
            out.push(
                outside_root(
                    "secret-file-outside-root",
                    "secret file",
                    Path::new(path),
                    &resolved,
                )
                .at(pos.value(&format!("{base}/{field}/file"))),
            );
        }
    }
}

fn check_dataset(ds: &Dataset, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    if ds.connection_string.is_some() && !ds.datasources.is_empty() {
        out.push(
            Diagnostic::new(
                "connection-conflict",
                format!("dataset `{}` sets both `connectionString` and `datasources`", ds.name),
            )
            .at(pos.value(&format!("{base}/connectionString")))
            .hint("`connectionString` is only for legacy DirectQuery/live connections; use `datasources` (or parameters) otherwise"),
        );
    }
    if let Some(gw) = &ds.gateway
        && gw.id.is_some() == gw.name.is_some()
    {
        out.push(
            Diagnostic::new(
                "gateway-id-or-name",
                format!(
                    "`gateway` of dataset `{}` needs exactly one of `id` or `name`",
                    ds.name
                ),
            )
            .at(pos.value(&format!("{base}/gateway")))
            .hint("write `gateway: {name: Local Gateway}` or `gateway: {id: <gateway id>}`"),
        );
    }
    let creates = ds.gateway.as_ref().is_some_and(|g| g.create_datasources);
    for (c, cred) in ds.credentials.iter().enumerate() {
        let at = format!("{base}/credentials/{c}");
        check_credential(ds, cred, &at, pos, out);
        if creates && cred.encrypted_connection == EncryptedConnection::NotEncrypted {
            out.push(
                Diagnostic::new(
                    "create-requires-encrypted",
                    format!(
                        "dataset `{}` creates gateway data sources with its credential rules, and the service creates them only with `encryptedConnection: Encrypted`",
                        ds.name
                    ),
                )
                .at(pos.value(&format!("{at}/encryptedConnection")))
                .hint("remove `encryptedConnection: NotEncrypted`, or set `gateway.createDatasources: false` and create the gateway data source yourself"),
            );
        }
    }
    if let Some(schedule) = ds.refresh.as_ref().and_then(|r| r.schedule.as_ref()) {
        check_schedule(schedule, &format!("{base}/refresh/schedule"), pos, out);
    }
}

fn check_schedule(schedule: &Schedule, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    let at = || pos.value(base);
    if schedule.frequency.is_some() && (!schedule.days.is_empty() || !schedule.times.is_empty()) {
        out.push(
            Diagnostic::new(
                "schedule-conflict",
                "a schedule uses either `frequency` (DirectQuery) or `days`/`times`, not both",
            )
            .at(at())
            .hint("remove `frequency`, or remove `days` and `times`"),
        );
    } else if schedule.frequency.is_none() && schedule.enabled && schedule.days.is_empty() {
        out.push(
            Diagnostic::new(
                "schedule-missing-days",
                "an enabled refresh schedule needs at least one day",
            )
            .at(at())
            .hint("add `days: [Monday, Tuesday, Wednesday, Thursday, Friday]`"),
        );
    }
    if !is_windows_time_zone(&schedule.time_zone) {
        let hint = match suggest(&schedule.time_zone) {
            Some(id) => format!("did you mean `{id}`?"),
            None => "use a Windows time-zone id such as `UTC` or `W. Europe Standard Time` (not an IANA name such as `Europe/Berlin`)".to_owned(),
        };
        out.push(
            Diagnostic::new(
                "unknown-time-zone",
                format!(
                    "`{}` is not a Windows time-zone id",
                    sanitize::text(&schedule.time_zone)
                ),
            )
            .at(pos.value(&format!("{base}/timeZone")))
            .hint(hint),
        );
    }
}

fn check_credential(
    ds: &Dataset,
    cred: &CredentialRule,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let at = || pos.value(base);
    let kind = cred.credential_type;
    let needs: &[&str] = match kind {
        CredentialType::Basic | CredentialType::Windows => &["username", "password"],
        CredentialType::Key => &["key"],
        CredentialType::OAuth2 if !cred.sso => &["token"],
        _ => &[],
    };
    let present = [
        ("username", cred.username.is_some()),
        ("password", cred.password.is_some()),
        ("key", cred.key.is_some()),
        ("token", cred.token.is_some()),
    ];
    for (field, is_set) in present {
        if needs.contains(&field) && !is_set {
            out.push(
                Diagnostic::new(
                    "credential-missing-field",
                    format!("a credential of type {kind:?} needs `{field}`"),
                )
                .at(at())
                .hint(secret_example(field)),
            );
        } else if is_set && !needs.contains(&field) {
            out.push(
                Diagnostic::new(
                    "credential-unexpected-field",
                    format!("a credential of type {kind:?} does not use `{field}`"),
                )
                .at(pos.key(&format!("{base}/{field}")))
                .hint("remove it, or change `type`"),
            );
        }
    }
    if cred.sso && kind != CredentialType::OAuth2 {
        out.push(
            Diagnostic::new(
                "sso-requires-oauth2",
                "`sso: true` is only possible with `type: OAuth2`",
            )
            .at(pos.value(&format!("{base}/sso")))
            .hint("set `type: OAuth2` or remove `sso`"),
        );
    }
    check_credential_reachable(ds, cred, base, pos, out);
}

fn secret_example(field: &str) -> String {
    if field == "username" {
        "add `username: svc_reader`".to_owned()
    } else {
        format!("add `{field}: {{env: NAME}}` or `{field}: {{file: PATH}}`")
    }
}

/// A credential rule that only matches connection details a datasource rule re-points away
/// can never apply: after UpdateDatasources no source has those details.
fn check_credential_reachable(
    ds: &Dataset,
    cred: &CredentialRule,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let want = &cred.matches;
    if want.connection_details.fields().is_empty() {
        return;
    }
    let type_fits = |t: &Option<String>| match (&want.datasource_type, t) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    };
    let after_matches = ds.datasources.iter().any(|rule| {
        type_fits(&rule.matches.datasource_type)
            && want
                .connection_details
                .is_subset_of(&rule.set.connection_details)
    });
    let moved_away = ds.datasources.iter().find(|rule| {
        type_fits(&rule.matches.datasource_type)
            && want
                .connection_details
                .is_subset_of(&rule.matches.connection_details)
            && !want
                .connection_details
                .is_subset_of(&rule.set.connection_details)
    });
    if let (false, Some(rule)) = (after_matches, moved_away) {
        let new: Vec<String> = rule
            .set
            .connection_details
            .fields()
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out.push(
            Diagnostic::new(
                "unmatched-credential",
                format!("this credential rule matches a data source that `datasources` re-points to {{{}}}; it can never apply", new.join(", ")),
            )
            .at(pos.value(&format!("{base}/match")))
            .hint("match the new connection details (the ones under `set:`)"),
        );
    }
}

fn resolve_reports(manifest: &mut Manifest, root: &Path, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    // Workspace and dataset names by their key: a report finds its dataset the way the
    // service would (ignoring case).
    type Named = (String, String);
    let keyed = |name: &String| (name_key(name), name.clone());
    let index: Vec<(Named, Vec<Named>)> = manifest
        .workspaces
        .iter()
        .map(|ws| {
            let sets = ws.datasets.iter().map(|d| keyed(&d.name)).collect();
            (keyed(&ws.name), sets)
        })
        .collect();
    let find = |ws: &str, ds: &str| -> Option<DatasetRef> {
        let (ws, ds) = (name_key(ws), name_key(ds));
        let ((_, workspace), sets) = index.iter().find(|((key, _), _)| *key == ws)?;
        let (_, dataset) = sets.iter().find(|(key, _)| *key == ds)?;
        Some(DatasetRef {
            workspace: workspace.clone(),
            dataset: dataset.clone(),
        })
    };
    let models = project::models(manifest);
    for (w, ws) in manifest.workspaces.iter_mut().enumerate() {
        let home = ws.name.clone();
        for (r, report) in ws.reports.iter_mut().enumerate() {
            let Some(wanted) = report.dataset.as_deref() else {
                let at = format!("/workspaces/{w}/reports/{r}");
                match project::by_path_target(&models, &home, root, report, &at, pos) {
                    Ok(target) => report.target = target,
                    Err(diag) => out.push(diag),
                }
                continue;
            };
            let target = find(&home, wanted)
                .or_else(|| wanted.split_once('/').and_then(|(wsn, dsn)| find(wsn, dsn)));
            match target {
                Some(t) => report.target = t,
                None => out.push(
                    Diagnostic::new(
                        "unknown-dataset",
                        format!("report `{}` binds to dataset `{wanted}`, which the manifest does not declare", report.name),
                    )
                    .at(pos.value(&format!("/workspaces/{w}/reports/{r}/dataset")))
                    .hint("name a dataset of the same workspace, or `Workspace/Dataset` for another workspace"),
                ),
            }
        }
    }
}
