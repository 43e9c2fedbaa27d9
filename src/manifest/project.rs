//! Checks of Power BI Project (`project:`) items: each item names exactly one of `pbix` and
//! `project`; a `project` path is a `*.SemanticModel` (datasets) or `*.Report` (reports)
//! folder inside the manifest's folder tree, with the same containment rules as PBIX files;
//! `allowDataLoss` only means something for project models.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::model::Dataset;
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
}

/// Checks each distinct `project` path once (a model deployed to many workspaces names the
/// same folder many times).
pub struct ProjectChecks<'a> {
    root: &'a Path,
    seen: HashMap<(PathBuf, bool), (PathBuf, Result<(), ProjectProblem>)>,
}

impl<'a> ProjectChecks<'a> {
    pub fn new(root: &'a Path) -> Self {
        ProjectChecks {
            root,
            seen: HashMap::new(),
        }
    }

    /// The resolved (absolute, canonical) folder; a diagnostic at `pointer` when it is not a
    /// usable project item of the kind `role` needs.
    pub fn check(
        &mut self,
        path: &Path,
        role: ProjectRole,
        pointer: &str,
        pos: &PosMap,
        out: &mut Vec<Diagnostic>,
    ) -> PathBuf {
        let root = self.root;
        let key = (path.to_path_buf(), role == ProjectRole::Dataset);
        let (resolved, found) = self
            .seen
            .entry(key)
            .or_insert_with(|| inspect(root, path, role))
            .clone();
        let shown = path.display();
        let diag = match found {
            Ok(()) => return resolved,
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
        resolved
    }
}

fn inspect(root: &Path, path: &Path, role: ProjectRole) -> (PathBuf, Result<(), ProjectProblem>) {
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
    (canonical, Ok(()))
}

/// Exactly one of `pbix` and `project` per item.
pub fn check_one_source(
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
pub fn check_dataset(ds: &Dataset, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
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

/// A report that names no `dataset` and has no `byPath` binding to take it from.
pub fn missing_dataset(report: &str, base: &str, pos: &PosMap) -> Diagnostic {
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
        let report = root.join("pbip/Sales.Report");
        std::fs::create_dir_all(&report).unwrap();
        std::fs::write(report.join("definition.pbir"), "{}").unwrap();
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
