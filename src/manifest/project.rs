//! Checks of Power BI Project (`project:`) items: each item names exactly one of `pbix` and
//! `project`; a `project` path is a `*.SemanticModel` (datasets) or `*.Report` (reports)
//! folder inside the manifest's folder tree, with the same containment rules as PBIX files;
//! `allowDataLoss` only means something for project models.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pbix::project::{self, Definition, ReportBinding};

use super::model::{Dataset, DatasetRef, Manifest, Report};
use super::names::name_key;
use super::paths::{Resolved, resolve_within};
use super::positions::PosMap;
use crate::diagnostics::Diagnostic;

/// Which list a `project` folder appears in: the folder's kind must fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectRole {
    Dataset,
    Report,
}

impl ProjectRole {
    /// The folder-name suffix Power BI Desktop gives the item kind.
    fn suffix(self) -> &'static str {
        match self {
            ProjectRole::Dataset => ".SemanticModel",
            ProjectRole::Report => ".Report",
        }
    }

    /// The file every item folder of the kind holds.
    fn marker(self) -> &'static str {
        match self {
            ProjectRole::Dataset => "definition.pbism",
            ProjectRole::Report => "definition.pbir",
        }
    }
}

/// What is wrong with a `project` path.
#[derive(Debug, Clone)]
enum ProjectProblem {
    Outside,
    Missing,
    NotFolder,
    /// The folder is not of the kind its role needs (name suffix or marker file).
    WrongKind(String),
    /// Refused by the bounded reader (a symlink, too many files, bad TMDL or JSON, ...).
    Unreadable(String),
}

type Inspected = (PathBuf, Result<Arc<Definition>, ProjectProblem>);

/// Checks each distinct `project` path once (a model deployed to many workspaces names the
/// same folder many times).
pub struct ProjectChecks<'a> {
    root: &'a Path,
    seen: HashMap<(PathBuf, bool), Inspected>,
}

impl<'a> ProjectChecks<'a> {
    pub fn new(root: &'a Path) -> Self {
        ProjectChecks {
            root,
            seen: HashMap::new(),
        }
    }

    /// The resolved (absolute, canonical) folder and its definition; a diagnostic at
    /// `pointer` (and no definition) when it is not a usable project item of the kind `role`
    /// needs.
    pub fn check(
        &mut self,
        path: &Path,
        role: ProjectRole,
        pointer: &str,
        pos: &PosMap,
        out: &mut Vec<Diagnostic>,
    ) -> (PathBuf, Option<Arc<Definition>>) {
        let root = self.root;
        let key = (path.to_path_buf(), role == ProjectRole::Dataset);
        let (resolved, found) = self
            .seen
            .entry(key)
            .or_insert_with(|| inspect(root, path, role))
            .clone();
        let shown = path.display();
        let diag = match found {
            Ok(def) => return (resolved, Some(def)),
            Err(ProjectProblem::Outside) => Diagnostic::new(
                "project-outside-root",
                format!(
                    "project folder `{shown}` resolves to `{}`, outside the manifest's folder",
                    resolved.display()
                ),
            )
            .hint("keep project folders in the manifest's folder tree (`..`, absolute paths and symlinks out of it are refused)"),
            Err(ProjectProblem::Missing) => Diagnostic::new(
                "project-missing",
                format!("project folder `{shown}` does not exist"),
            )
            .hint("paths are relative to the manifest's folder"),
            Err(ProjectProblem::NotFolder) => Diagnostic::new(
                "project-not-folder",
                format!("project path `{shown}` is not a folder"),
            )
            .hint(format!(
                "point `project` at the item folder (`Name{}`), not at a file in it",
                role.suffix()
            )),
            Err(ProjectProblem::Unreadable(why)) => Diagnostic::new(
                "project-unreadable",
                format!("project folder `{shown}` is refused: {why}"),
            )
            .hint("save the item again from Power BI Desktop (File > Save as > Power BI Project), or fix the file named above"),
            Err(ProjectProblem::WrongKind(why)) => {
                Diagnostic::new("project-wrong-kind", format!("`{shown}` {why}")).hint(
                    match role {
                        ProjectRole::Dataset => "under `datasets:` name a `*.SemanticModel` folder (it holds `definition.pbism`); a `*.Report` folder goes under `reports:`",
                        ProjectRole::Report => "under `reports:` name a `*.Report` folder (it holds `definition.pbir`); a `*.SemanticModel` folder goes under `datasets:`",
                    },
                )
            }
        };
        out.push(diag.at(pos.value(pointer)));
        (resolved, None)
    }
}

impl ProjectChecks<'_> {
    /// A dataset's source checks: exactly one of `pbix` and `project`; the project folder
    /// (resolved in place) and the manifest's parameters against its model; `allowDataLoss`
    /// only with `project`.
    pub fn dataset(
        &mut self,
        ds: &mut Dataset,
        base: &str,
        pos: &PosMap,
        out: &mut Vec<Diagnostic>,
    ) {
        let (pbix, project) = (ds.pbix.is_some(), ds.project.is_some());
        check_one_source("dataset", &ds.name, pbix, project, base, pos, out);
        if let Some(path) = ds.project.take() {
            let at = format!("{base}/project");
            let (dir, def) = self.check(&path, ProjectRole::Dataset, &at, pos, out);
            if let Some(def) = def {
                check_parameters(ds, &def, base, pos, out);
            }
            ds.project = Some(dir);
        }
        check_dataset(ds, base, pos, out);
    }

    /// A report's source checks: exactly one of `pbix` and `project`; the project folder
    /// (resolved in place) and where its `definition.pbir` binds it `byPath`.
    pub fn report(
        &mut self,
        report: &mut Report,
        base: &str,
        pos: &PosMap,
        out: &mut Vec<Diagnostic>,
    ) {
        let (pbix, project) = (report.pbix.is_some(), report.project.is_some());
        check_one_source("report", &report.name, pbix, project, base, pos, out);
        if let Some(path) = report.project.take() {
            let at = format!("{base}/project");
            let (dir, def) = self.check(&path, ProjectRole::Report, &at, pos, out);
            if let Some(def) = def {
                report.by_path = by_path(&def, &dir, self.root, base, pos, out);
            }
            report.project = Some(dir);
        }
    }
}

fn inspect(root: &Path, path: &Path, role: ProjectRole) -> Inspected {
    let canonical = match resolve_within(root, path) {
        Resolved::Outside(resolved) => return (resolved, Err(ProjectProblem::Outside)),
        Resolved::Inside(p) if p.exists() => p,
        Resolved::Inside(p) => return (p, Err(ProjectProblem::Missing)),
    };
    if !canonical.is_dir() {
        return (canonical, Err(ProjectProblem::NotFolder));
    }
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.ends_with(role.suffix()) {
        let why = format!(
            "is not a `*{}` folder, which a {} needs",
            role.suffix(),
            match role {
                ProjectRole::Dataset => "dataset",
                ProjectRole::Report => "report",
            }
        );
        return (canonical, Err(ProjectProblem::WrongKind(why)));
    }
    // A regular file, not a symlink: the folder's content is uploaded as it is.
    let marker = canonical.join(role.marker());
    let regular = std::fs::symlink_metadata(&marker).is_ok_and(|m| m.file_type().is_file());
    if !regular {
        let why = format!("holds no `{}` file (a regular file)", role.marker());
        return (canonical, Err(ProjectProblem::WrongKind(why)));
    }
    let read = Definition::read_dir(&canonical, &pbix::Limits::default()).and_then(|def| {
        // A model must parse: the plan derives data loss and sources from it.
        if role == ProjectRole::Dataset {
            project::semantic_model(&def)?;
        }
        Ok(def)
    });
    match read {
        Ok(def) => (canonical, Ok(Arc::new(def))),
        Err(e) => (canonical, Err(ProjectProblem::Unreadable(e.to_string()))),
    }
}

/// The manifest's parameter values must fit the model: each names an M parameter of it,
/// with a value of its type (the values are written into the definition uploaded).
fn check_parameters(
    ds: &Dataset,
    def: &Definition,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    if ds.parameters.is_empty() {
        return;
    }
    let values = ds
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.to_wire()))
        .collect();
    if let Err(e) = project::set_parameters(def, &values) {
        out.push(
            Diagnostic::new(
                "project-parameter",
                format!(
                    "the parameters of dataset `{}` do not fit its model: {e}",
                    ds.name
                ),
            )
            .at(pos.key(&format!("{base}/parameters")))
            .hint(
                "name the model's M parameters exactly (case-sensitive), with values of their type",
            ),
        );
    }
}

/// Exactly one of `pbix` and `project` per item.
fn check_one_source(
    what: &str,
    name: &str,
    pbix: bool,
    project: bool,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let example = if what == "dataset" {
        "`pbix: pbix/sales.pbix` or `project: pbip/Sales.SemanticModel`"
    } else {
        "`pbix: pbix/sales-summary.pbix` or `project: pbip/Sales Summary.Report`"
    };
    match (pbix, project) {
        (false, false) => out.push(
            Diagnostic::new(
                "source-missing",
                format!("{what} `{name}` names neither `pbix` nor `project`"),
            )
            .at(pos.value(base))
            .hint(format!("add {example} (relative to the manifest)")),
        ),
        (true, true) => out.push(
            Diagnostic::new(
                "source-conflict",
                format!("{what} `{name}` names both `pbix` and `project`"),
            )
            .at(pos.key(&format!("{base}/project")))
            .hint("keep one: a PBIX file is imported, a project folder is deployed through the Fabric items API"),
        ),
        _ => {}
    }
}

/// `allowDataLoss` guards updates of project models only: a PBIX import replaces the model
/// as a whole and the service keeps no such guard, so the key would promise nothing there.
fn check_dataset(ds: &Dataset, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    if ds.allow_data_loss && ds.project.is_none() {
        out.push(
            Diagnostic::new(
                "data-loss-needs-project",
                format!(
                    "dataset `{}` sets `allowDataLoss`, which only applies to `project` models",
                    ds.name
                ),
            )
            .at(pos.key(&format!("{base}/allowDataLoss")))
            .hint("remove `allowDataLoss`, or deploy the model from its `*.SemanticModel` folder with `project:`"),
        );
    }
}

/// Where a report's `definition.pbir` binds it `byPath`: the model folder, resolved and
/// checked like a `project` path. `None` (and maybe a diagnostic) otherwise.
fn by_path(
    def: &Definition,
    dir: &Path,
    root: &Path,
    base: &str,
    pos: &PosMap,
    out: &mut Vec<Diagnostic>,
) -> Option<PathBuf> {
    let at = || pos.value(&format!("{base}/project"));
    let binding = match project::report_binding(def) {
        Ok(binding) => binding,
        Err(e) => {
            out.push(
                Diagnostic::new("project-unreadable", format!("`{}`: {e}", dir.display())).at(at()),
            );
            return None;
        }
    };
    let ReportBinding::ByPath(path) = binding else {
        return None;
    };
    match resolve_within(root, &dir.join(&path)) {
        Resolved::Inside(model) => Some(model),
        Resolved::Outside(resolved) => {
            out.push(
                Diagnostic::new(
                    "project-outside-root",
                    format!(
                        "the report `{}` is bound byPath to `{path}`, which resolves to `{}`, outside the manifest's folder",
                        dir.display(),
                        resolved.display()
                    ),
                )
                .at(at())
                .hint("keep the model folder in the manifest's folder tree, or name the report's dataset with `dataset:`"),
            );
            None
        }
    }
}

/// The project models of a manifest: (workspace, dataset, folder).
pub fn models(manifest: &Manifest) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for ws in &manifest.workspaces {
        for ds in &ws.datasets {
            if let Some(dir) = &ds.project {
                out.push((ws.name.clone(), ds.name.clone(), dir.clone()));
            }
        }
    }
    out
}

/// The dataset deploying `model` (a report's `byPath` folder): the one in the report's own
/// workspace `home`, else the only one in the manifest.
pub fn by_path_target(
    models: &[(String, String, PathBuf)],
    home: &str,
    root: &Path,
    report: &Report,
    base: &str,
    pos: &PosMap,
) -> Result<DatasetRef, Diagnostic> {
    let Some(model) = report.by_path.as_deref() else {
        return Err(missing_dataset(&report.name, base, pos));
    };
    let report = report.name.as_str();
    let found: Vec<&(String, String, PathBuf)> =
        models.iter().filter(|(_, _, dir)| dir == model).collect();
    let home_key = name_key(home);
    let pick = found
        .iter()
        .find(|(ws, _, _)| name_key(ws) == home_key)
        .or(if found.len() == 1 {
            found.first()
        } else {
            None
        });
    let at = pos.value(base);
    match pick {
        Some((workspace, dataset, _)) => Ok(DatasetRef {
            workspace: workspace.clone(),
            dataset: dataset.clone(),
        }),
        None if found.is_empty() => Err(Diagnostic::new(
            "report-bypath-unknown",
            format!(
                "report `{report}` is bound byPath to `{}`, which no dataset of the manifest deploys",
                model.strip_prefix(root).unwrap_or(model).display()
            ),
        )
        .at(at)
        .hint("add a dataset with `project:` naming that folder, or name the report's dataset with `dataset:`")),
        None => {
            let names: Vec<String> = found.iter().map(|(w, d, _)| format!("{w}/{d}")).collect();
            Err(Diagnostic::new(
                "report-dataset-ambiguous",
                format!(
                    "report `{report}` is bound byPath to a model folder that several datasets deploy ({}), none in its own workspace",
                    names.join(", ")
                ),
            )
            .at(at)
            .hint("name the one to bind to with `dataset: Workspace/Dataset`"))
        }
    }
}

/// A report that names no `dataset` and has no `byPath` binding to take it from.
fn missing_dataset(report: &str, base: &str, pos: &PosMap) -> Diagnostic {
    Diagnostic::new(
        "report-dataset-missing",
        format!("report `{report}` names no `dataset` to bind to"),
    )
    .at(pos.value(base))
    .hint("add `dataset: NAME` (or `Workspace/Dataset`); a `project` report bound `byPath` in its `definition.pbir` takes the dataset deployed from that folder")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let model = root.join("pbip/Sales.SemanticModel");
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(model.join("definition.pbism"), "{\"version\":\"4.0\"}").unwrap();
        std::fs::create_dir_all(model.join("definition")).unwrap();
        let tmdl = "model Model\n\tculture: en-US\n";
        std::fs::write(model.join("definition/model.tmdl"), tmdl).unwrap();
        let report = root.join("pbip/Sales.Report");
        std::fs::create_dir_all(&report).unwrap();
        let pbir = r#"{"version": "4.0", "datasetReference": {"byPath": {"path": "../Sales.SemanticModel"}}}"#;
        std::fs::write(report.join("definition.pbir"), pbir).unwrap();
        std::fs::write(report.join("report.json"), "{}").unwrap();
        std::fs::create_dir_all(root.join("pbip/Empty.SemanticModel")).unwrap();
        std::fs::create_dir_all(tmp.path().join("Other.SemanticModel")).unwrap();
        let root = root.canonicalize().unwrap();
        (tmp, root)
    }

    fn codes(root: &Path, path: &str, role: ProjectRole) -> Vec<&'static str> {
        let mut out = Vec::new();
        ProjectChecks::new(root).check(Path::new(path), role, "", &PosMap::default(), &mut out);
        out.iter().map(|d| d.code).collect()
    }

    #[test]
    fn item_folders_of_the_right_kind_pass() {
        let (_tmp, root) = setup();
        let ds = ProjectRole::Dataset;
        assert!(codes(&root, "pbip/Sales.SemanticModel", ds).is_empty());
        assert!(codes(&root, "pbip/Sales.Report", ProjectRole::Report).is_empty());
    }

    #[test]
    fn wrong_folders_get_their_codes() {
        let (_tmp, root) = setup();
        let ds = ProjectRole::Dataset;
        assert_eq!(
            codes(&root, "pbip/Sales.Report", ds),
            ["project-wrong-kind"]
        );
        assert_eq!(
            codes(&root, "pbip/Sales.SemanticModel", ProjectRole::Report),
            ["project-wrong-kind"]
        );
        assert_eq!(
            codes(&root, "pbip/Empty.SemanticModel", ds),
            ["project-wrong-kind"]
        );
        assert_eq!(
            codes(&root, "pbip/Nope.SemanticModel", ds),
            ["project-missing"]
        );
        assert_eq!(
            codes(&root, "pbip/Sales.SemanticModel/definition.pbism", ds),
            ["project-not-folder"]
        );
        assert_eq!(
            codes(&root, "../Other.SemanticModel", ds),
            ["project-outside-root"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_marker_is_refused() {
        let (tmp, root) = setup();
        let model = root.join("pbip/Link.SemanticModel");
        std::fs::create_dir_all(&model).unwrap();
        let outside = tmp.path().join("secret");
        std::fs::write(&outside, "x").unwrap();
        std::os::unix::fs::symlink(&outside, model.join("definition.pbism")).unwrap();
        assert_eq!(
            codes(&root, "pbip/Link.SemanticModel", ProjectRole::Dataset),
            ["project-wrong-kind"]
        );
    }
}
