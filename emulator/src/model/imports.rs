//! The import state machine. `POST imports` starts an import in `Publishing` with the work
//! it will do ([`PendingImport`], decided by the name conflict mode at once, so conflicts are
//! refused synchronously); once its processing delay (`importDelayMs`) has passed,
//! [`finish_due`] turns it `Succeeded`, creating or overwriting its dataset and report, or
//! `Failed` (an unreadable package, fault injection). The routes (`routes::imports`) parse
//! the request and shape the answer; `App::with` finishes due imports before each request.
//! // documented: 2.1-2.3, 8.2 #4

use super::cloud::bind_cloud;
use super::{
    Dataset, DatasetDatasource, DatasetMode, DatasourceSeed, Import, Model, PendingImport, Report,
};
use crate::app::World;
use crate::errors::ApiError;
use crate::pbix::{PbixKind, PbixServiceView};
use crate::util::{eq_ci, now_ms};
use axum::http::StatusCode;
use serde_json::json;

/// An import the route has parsed: what the request asks for and who asks.
pub struct NewImport<'a> {
    /// The item name (`datasetDisplayName` without `.pbix`).
    pub name: String,
    /// The `nameConflict` mode, canonical (`Ignore`, `Abort`, `Overwrite`, `CreateOrOverwrite`).
    pub mode: &'a str,
    /// SHA-256 of the uploaded file.
    pub sha256: String,
    /// `skipReport=true`.
    pub skip_report: bool,
    /// The importing principal (client id, object id); it becomes the dataset's owner.
    pub owner: (String, String),
    /// Whether the importer is a member of a workspace (by id): a thin report's dataset must
    /// be reachable to it.
    pub member_of: &'a dyn Fn(&Model, &str) -> bool,
}

/// Starts an import into workspace `gid` of the file the service read as `view` (or could
/// not read: the error text); returns the import id. Refused at once: a thin report whose
/// dataset the importer cannot reach, and name conflicts the mode does not allow.
pub fn start(
    w: &mut World,
    gid: &str,
    new: NewImport<'_>,
    view: Result<PbixServiceView, String>,
) -> Result<String, ApiError> {
    let (delay, fault) = (w.knobs.import_delay_ms, w.knobs.fault_rate);
    let id = w.new_id();
    let now = now_ms();
    let mut import = Import {
        id: id.clone(),
        name: new.name.clone(),
        group_id: gid.to_string(),
        created_ms: now,
        ready_ms: now + delay,
        state: "Publishing".into(),
        ..Import::default()
    };
    match view {
        Err(e) => {
            // guess: 8.2 #4 — an unreadable package is accepted, then fails asynchronously
            import.pending = Some(PendingImport {
                fail: true,
                ..PendingImport::default()
            });
            import.error = Some(json!({"code": "PackageNotValid", "details": e}));
        }
        Ok(view) => {
            if let PbixKind::ThinReport { dataset_id, .. } = &view.kind {
                thin_target_reachable(w, dataset_id, new.member_of)?;
            }
            let mut p = pending(
                w,
                gid,
                &new.name,
                new.mode,
                &view,
                &new.sha256,
                new.skip_report,
            )?;
            p.owner = new.owner;
            p.fail = fault > 0.0 && w.roll() < fault;
            import.pending = Some(p);
        }
    }
    w.model.imports.push(import);
    finish_due(w, now_ms());
    Ok(id)
}

/// A thin report's dataset must exist and the caller must reach it (be a member of its
/// workspace). // guess: fixtures SOURCES.md #1 (public reports show this 400)
fn thin_target_reachable(
    w: &World,
    dataset_id: &str,
    member_of: &dyn Fn(&Model, &str) -> bool,
) -> Result<(), ApiError> {
    let m = &w.model;
    let reachable = m
        .datasets
        .iter()
        .any(|d| eq_ci(&d.id, dataset_id) && member_of(m, &d.group_id));
    if reachable {
        Ok(())
    } else {
        Err(ApiError::pbi_with(
            StatusCode::BAD_REQUEST,
            "PowerBIModelNotFoundException",
            json!({"datasetId": dataset_id}),
        ))
    }
}

/// Resolves the name conflict and decides what the import will create or overwrite.
fn pending(
    w: &World,
    gid: &str,
    name: &str,
    mode: &str,
    view: &PbixServiceView,
    sha: &str,
    skip_report: bool,
) -> Result<PendingImport, ApiError> {
    let m = &w.model;
    let thin = matches!(view.kind, PbixKind::ThinReport { .. });
    // documented: 8.2 #4 — conflicts are resolved by dataset name (thin reports: report name); guess: case-insensitive
    let matches: Vec<(Option<String>, Option<String>)> = if thin {
        m.reports
            .iter()
            .filter(|r| r.group_id == gid && eq_ci(&r.name, name))
            .map(|r| (None, Some(r.id.clone())))
            .collect()
    } else {
        m.datasets
            .iter()
            .filter(|d| d.group_id == gid && eq_ci(&d.name, name))
            .map(|d| {
                let same_name = |r: &&Report| r.group_id == gid && eq_ci(&r.name, name);
                // documented: 4.4 — a rebound report is still the package's report
                let rep = m
                    .reports
                    .iter()
                    .filter(same_name)
                    .find(|r| r.dataset_id == d.id)
                    .or_else(|| m.reports.iter().find(same_name))
                    .map(|r| r.id.clone());
                (Some(d.id.clone()), rep)
            })
            .collect()
    };
    let dup_params = || json!({"DuplicatePackagesFullMatch": null});
    let overwrite = match (mode, matches.len()) {
        ("Ignore", _) | ("Abort", 0) | ("CreateOrOverwrite", 0) => None,
        ("Abort", _) => {
            return Err(ApiError::pbi_with(
                StatusCode::BAD_REQUEST,
                "DuplicatePackageFoundError",
                dup_params(),
            ));
        } // guess: code
        ("Overwrite", 0) => {
            return Err(ApiError::pbi_with(
                StatusCode::NOT_FOUND,
                "DuplicatePackageNotFoundError",
                dup_params(),
            ));
        } // documented: 2.1 (observed)
        (_, 1) => matches.first().cloned(),
        _ => {
            return Err(ApiError::pbi_with(
                StatusCode::CONFLICT,
                "MoreThanOneDuplicatePackageFoundError",
                json!({"DuplicatePackagesFullMatch": serde_json::to_string(&matches.iter().map(|(d, r)| json!({"dataset": d, "report": r, "name": format!("{name}.pbix")})).collect::<Vec<_>>()).unwrap_or_default()}),
            ));
        } // documented: 2.1 (observed)
    };
    let (ds_over, rep_over) = overwrite.unwrap_or((None, None));
    let mut p = PendingImport {
        overwrite_dataset_id: ds_over,
        overwrite_report_id: rep_over,
        sha256: sha.into(),
        create_report: !skip_report,
        ..PendingImport::default()
    };
    match &view.kind {
        PbixKind::ThinReport { dataset_id, .. } => {
            p.bind_dataset_id = Some(dataset_id.clone());
            p.create_report = true;
        }
        PbixKind::AnalysisServicesLive { server, database } => {
            p.create_dataset = true;
            p.mode = DatasetMode::LiveConnection;
            let mut cd = serde_json::Map::new();
            cd.insert("server".into(), json!(server));
            cd.insert("database".into(), json!(database));
            p.datasources = vec![DatasourceSeed {
                datasource_type: "AnalysisServices".into(),
                connection_details: cd,
                ..DatasourceSeed::default()
            }];
        }
        PbixKind::Model => {
            p.create_dataset = true;
            if view.direct_query {
                p.mode = DatasetMode::DirectQuery;
            }
            let seed = (!view.model_readable)
                .then(|| m.tenant.pbix_views.get(&sha.to_lowercase()).cloned())
                .flatten();
            match seed {
                Some(s) => {
                    p.datasources = s.datasources;
                    p.parameters = s.parameters;
                }
                None => {
                    p.datasources = view.datasource_seeds();
                    p.parameters = view.dataset_parameters();
                }
            }
        }
    }
    Ok(p)
}

/// Finishes every import whose processing delay has passed.
pub fn finish_due(w: &mut World, now: u64) {
    let due: Vec<usize> = w
        .model
        .imports
        .iter()
        .enumerate()
        .filter(|(_, i)| i.state == "Publishing" && i.ready_ms <= now)
        .map(|(n, _)| n)
        .collect();
    for n in due {
        let Some(p) = w.model.imports[n].pending.take() else {
            w.model.imports[n].state = "Succeeded".into();
            continue;
        };
        if p.fail {
            let imp = &mut w.model.imports[n];
            imp.state = "Failed".into();
            if imp.error.is_none() {
                imp.error = Some(
                    json!({"code": "ImportFailed", "details": "emulator fault injection: the import failed"}),
                ); // guess: shape per 2.2
            }
            continue;
        }
        let (gid, name) = (
            w.model.imports[n].group_id.clone(),
            w.model.imports[n].name.clone(),
        );
        let dataset_id = if p.create_dataset {
            Some(upsert_dataset(w, &gid, &name, &p))
        } else {
            None
        };
        let mut report_ids = Vec::new();
        if p.create_report {
            let target = dataset_id
                .clone()
                .or(p.bind_dataset_id.clone())
                .unwrap_or_default();
            report_ids.push(upsert_report(
                w,
                &gid,
                &name,
                p.overwrite_report_id.as_deref(),
                &target,
            ));
        }
        let imp = &mut w.model.imports[n];
        imp.state = "Succeeded".into();
        imp.dataset_ids = dataset_id.into_iter().collect();
        imp.report_ids = report_ids;
    }
}

/// Creates or overwrites the dataset of a finished import; returns its id. The importer
/// becomes the owner. // documented: 2.1 (Overwrite keeps ids); guess: 8.2 #4 (importer owns)
fn upsert_dataset(w: &mut World, gid: &str, name: &str, p: &PendingImport) -> String {
    let sources: Vec<DatasetDatasource> = p
        .datasources
        .iter()
        .map(|s| DatasetDatasource {
            datasource_type: s.datasource_type.clone(),
            connection_details: s.connection_details.clone(),
            parameter_details: s.parameter_details.clone(),
            ..DatasetDatasource::default()
        })
        .collect();
    let existing = p
        .overwrite_dataset_id
        .as_ref()
        .and_then(|id| w.model.datasets.iter().position(|d| &d.id == id));
    let idx = match existing {
        Some(i) => {
            let d = &mut w.model.datasets[i];
            d.parameters = p.parameters.clone();
            d.datasources = sources;
            d.bound_gateway_id = None;
            d.mode = p.mode;
            d.configured_by = p.owner.0.clone();
            d.owner_object_id = p.owner.1.clone();
            d.pbix_sha256 = p.sha256.clone();
            i
        }
        None => {
            let id = w.new_id();
            w.model.datasets.push(Dataset {
                id,
                name: name.into(),
                group_id: gid.into(),
                configured_by: p.owner.0.clone(),
                owner_object_id: p.owner.1.clone(),
                created_ms: now_ms(),
                mode: p.mode,
                parameters: p.parameters.clone(),
                datasources: sources,
                pbix_sha256: p.sha256.clone(),
                ..Dataset::default()
            });
            w.model.datasets.len() - 1
        }
    };
    bind_cloud(w, idx);
    w.model.datasets[idx].id.clone()
}

/// Creates or overwrites the report of a finished import; an overwritten report keeps its id
/// and its binding. // documented: 2.1 (ids kept), 4.4 (import doesn't reset bindings)
fn upsert_report(
    w: &mut World,
    gid: &str,
    name: &str,
    overwrite: Option<&str>,
    dataset_id: &str,
) -> String {
    if let Some(id) = overwrite
        && let Some(r) = w.model.reports.iter().find(|r| r.id == id)
    {
        return r.id.clone();
    }
    let ds_ws = w
        .model
        .datasets
        .iter()
        .find(|d| eq_ci(&d.id, dataset_id))
        .map(|d| d.group_id.clone())
        .unwrap_or_else(|| gid.to_string());
    let id = w.new_id();
    w.model.reports.push(Report {
        id: id.clone(),
        name: name.into(),
        group_id: gid.into(),
        dataset_id: dataset_id.into(),
        dataset_workspace_id: ds_ws,
    });
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Knobs;
    use rand::SeedableRng;

    fn world() -> World {
        World {
            model: Model::default(),
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(7),
            buckets: Default::default(),
            knobs: Knobs::default(),
        }
    }

    fn publishing(w: &mut World, ready_ms: u64, pending: PendingImport) -> usize {
        w.model.imports.push(Import {
            id: "i1".into(),
            name: "Sales".into(),
            group_id: "g".into(),
            ready_ms,
            state: "Publishing".into(),
            pending: Some(pending),
            ..Import::default()
        });
        w.model.imports.len() - 1
    }

    fn model_import() -> PendingImport {
        PendingImport {
            create_dataset: true,
            create_report: true,
            owner: ("app".into(), "obj".into()),
            sha256: "ab".into(),
            ..PendingImport::default()
        }
    }

    #[test]
    fn an_import_stays_publishing_until_due_then_creates_its_dataset_and_report() {
        let mut w = world();
        let n = publishing(&mut w, 1_000, model_import());
        finish_due(&mut w, 999);
        assert_eq!(w.model.imports[n].state, "Publishing");
        assert!(w.model.datasets.is_empty() && w.model.reports.is_empty());

        finish_due(&mut w, 1_000);
        let imp = &w.model.imports[n];
        assert_eq!(imp.state, "Succeeded");
        assert!(imp.pending.is_none());
        let ds = &w.model.datasets[0];
        assert_eq!((ds.name.as_str(), ds.group_id.as_str()), ("Sales", "g"));
        assert_eq!(ds.owner_object_id, "obj");
        assert_eq!(imp.dataset_ids, vec![ds.id.clone()]);
        let rep = &w.model.reports[0];
        assert_eq!(rep.dataset_id, ds.id);
        assert_eq!(imp.report_ids, vec![rep.id.clone()]);
    }

    #[test]
    fn an_overwrite_keeps_the_ids_of_the_dataset_and_report() {
        let mut w = world();
        let first = publishing(&mut w, 0, model_import());
        finish_due(&mut w, 0);
        let (ds, rep) = (
            w.model.imports[first].dataset_ids[0].clone(),
            w.model.imports[first].report_ids[0].clone(),
        );
        let again = publishing(
            &mut w,
            0,
            PendingImport {
                overwrite_dataset_id: Some(ds.clone()),
                overwrite_report_id: Some(rep.clone()),
                sha256: "cd".into(),
                ..model_import()
            },
        );
        finish_due(&mut w, 0);
        assert_eq!(w.model.imports[again].dataset_ids, vec![ds]);
        assert_eq!(w.model.imports[again].report_ids, vec![rep]);
        assert_eq!(w.model.datasets.len(), 1);
        assert_eq!(w.model.reports.len(), 1);
        assert_eq!(w.model.datasets[0].pbix_sha256, "cd");
    }

    #[test]
    fn a_failing_import_creates_nothing_and_says_why() {
        let mut w = world();
        let n = publishing(
            &mut w,
            0,
            PendingImport {
                fail: true,
                ..model_import()
            },
        );
        finish_due(&mut w, 0);
        let imp = &w.model.imports[n];
        assert_eq!(imp.state, "Failed");
        assert_eq!(imp.error.as_ref().unwrap()["code"], "ImportFailed");
        assert!(w.model.datasets.is_empty() && w.model.reports.is_empty());
    }
}
