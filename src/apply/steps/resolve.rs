//! Names to ids at apply time, one read per fact per run: identity is by name, and ids of
//! items created earlier in the same apply are only known now.
//!
//! The resolver starts from what the plan read (workspace ids, dataset, report and import
//! lists) when apply made the plan in the same run, reads what it lacks once, and keeps its
//! lists true as steps change them: an import adds or overwrites its dataset with the id the
//! import returned, a delete removes, a created workspace is known empty. Lists a step cannot
//! update exactly (the reports an import produced) are forgotten and read again when needed.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::apply::StepError;
use crate::live::model::{LiveState, LiveWorkspace, eq_name};
use crate::plan::model::ItemRef;
use crate::powerbi::client::PowerBiClient;
use crate::powerbi::types::{Dataset, Datasource, Import, ImportState, Report};

/// Looks workspaces, datasets, reports, import histories and data sources up, once each.
#[derive(Debug)]
pub struct Resolver {
    client: PowerBiClient,
    known: Mutex<Known>,
}

/// Keys are lower-cased names (workspaces) or ids.
#[derive(Debug, Default)]
struct Known {
    /// `None`: known not to exist.
    workspaces: HashMap<String, Option<String>>,
    datasets: HashMap<String, Vec<Dataset>>,
    reports: HashMap<String, Vec<Report>>,
    imports: HashMap<String, Vec<Import>>,
    /// A dataset's data sources, until a step changes them.
    datasources: HashMap<String, Vec<Datasource>>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Resolver {
    /// A resolver that reads everything it is asked for (once).
    pub fn new(client: PowerBiClient) -> Self {
        Self {
            client,
            known: Mutex::new(Known::default()),
        }
    }

    /// A resolver that starts from what the plan read in this run: `live`, the workspaces
    /// the plan found missing (`absent`), and the content lists of the workspaces named in
    /// `content` (the plan reads lists only where the manifest declares content).
    pub fn seeded<'a>(
        client: PowerBiClient,
        live: &LiveState,
        absent: impl IntoIterator<Item = &'a str>,
        content: &[&str],
    ) -> Self {
        let r = Self::new(client);
        {
            let mut k = r.known();
            for name in absent {
                k.workspaces.insert(key(name), None);
            }
            for ws in &live.workspaces {
                k.workspaces.insert(key(&ws.name), Some(ws.id.clone()));
                if content.iter().any(|c| eq_name(c, &ws.name)) {
                    seed_content(&mut k, ws);
                }
            }
        }
        r
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        // Every update is complete under the lock, so a poisoned lock is still consistent.
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remember a workspace created in this run: it exists and is empty.
    pub fn created_workspace(&self, name: &str, id: &str) {
        let mut k = self.known();
        k.workspaces.insert(key(name), Some(id.to_string()));
        k.datasets.entry(key(id)).or_default();
        k.reports.entry(key(id)).or_default();
        k.imports.entry(key(id)).or_default();
    }

    /// Remember a workspace id (adopted by name).
    pub fn remember(&self, name: &str, id: &str) {
        self.known()
            .workspaces
            .insert(key(name), Some(id.to_string()));
    }

    /// The workspace's id, or `None` when the service has no workspace of that name.
    pub async fn find_workspace(&self, name: &str) -> Result<Option<String>, StepError> {
        if let Some(found) = self.known().workspaces.get(&key(name)) {
            return Ok(found.clone());
        }
        let found = self.client.find_groups_by_name(name).await?;
        match found.as_slice() {
            [] => Ok(None),
            [g] => {
                self.remember(name, &g.id);
                Ok(Some(g.id.clone()))
            }
            _ => Err(StepError::new(format!(
                "{} workspaces are named {name:?}; rename or delete the extra ones so the name is unique",
                found.len()
            ))),
        }
    }

    /// The workspace's id; an error when it does not exist.
    pub async fn workspace_id(&self, name: &str) -> Result<String, StepError> {
        self.find_workspace(name).await?.ok_or_else(|| {
            StepError::new(format!(
                "the workspace {name:?} does not exist (or the deploying principal is not a member of it)"
            ))
        })
    }

    /// The workspace's datasets (read once).
    async fn datasets(&self, ws_id: &str) -> Result<Vec<Dataset>, StepError> {
        if let Some(list) = self.known().datasets.get(&key(ws_id)) {
            return Ok(list.clone());
        }
        let list = self.client.list_datasets(ws_id).await?;
        self.known().datasets.insert(key(ws_id), list.clone());
        Ok(list)
    }

    /// The workspace's reports (read once, again after an import changed them).
    async fn reports(&self, ws_id: &str) -> Result<Vec<Report>, StepError> {
        if let Some(list) = self.known().reports.get(&key(ws_id)) {
            return Ok(list.clone());
        }
        let list = self.client.list_reports(ws_id).await?;
        self.known().reports.insert(key(ws_id), list.clone());
        Ok(list)
    }

    /// The workspace's import history (read once, then kept up to date with this run's
    /// finished imports): what an import compares with after an unknown outcome, and where
    /// it finds imports of its name still publishing.
    pub async fn imports(&self, ws_id: &str) -> Result<Vec<Import>, StepError> {
        if let Some(list) = self.known().imports.get(&key(ws_id)) {
            return Ok(list.clone());
        }
        let list = self.client.list_imports(ws_id).await?;
        self.known().imports.insert(key(ws_id), list.clone());
        Ok(list)
    }

    /// The dataset of that name in the workspace, if any (an error when there are several).
    pub async fn find_dataset(
        &self,
        ws_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StepError> {
        let mut found: Vec<Dataset> = self
            .datasets(ws_id)
            .await?
            .into_iter()
            .filter(|d| d.name.eq_ignore_ascii_case(name))
            .collect();
        if found.len() > 1 {
            return Err(StepError::new(format!(
                "{} datasets are named {name:?} in one workspace; delete the duplicates so imports can overwrite one",
                found.len()
            )));
        }
        Ok(found.pop())
    }

    /// The report of that name in the workspace, if any (an error when there are several).
    pub async fn find_report(&self, ws_id: &str, name: &str) -> Result<Option<Report>, StepError> {
        let mut found: Vec<Report> = self
            .reports(ws_id)
            .await?
            .into_iter()
            .filter(|r| r.name.eq_ignore_ascii_case(name))
            .collect();
        if found.len() > 1 {
            return Err(StepError::new(format!(
                "{} reports are named {name:?} in one workspace; delete the duplicates so imports can overwrite one",
                found.len()
            )));
        }
        Ok(found.pop())
    }

    /// The workspace id and dataset named by `item`; an error when either is missing.
    pub async fn dataset(&self, item: &ItemRef) -> Result<(String, Dataset), StepError> {
        let ws = self.workspace_id(&item.workspace).await?;
        let ds = self.find_dataset(&ws, &item.name).await?.ok_or_else(|| {
            StepError::new(format!(
                "the dataset {:?} does not exist in the workspace {:?}",
                item.name, item.workspace
            ))
        })?;
        Ok((ws, ds))
    }

    /// The workspace id and report named by `item`; an error when either is missing.
    pub async fn report(&self, item: &ItemRef) -> Result<(String, Report), StepError> {
        let ws = self.workspace_id(&item.workspace).await?;
        let r = self.find_report(&ws, &item.name).await?.ok_or_else(|| {
            StepError::new(format!(
                "the report {:?} does not exist in the workspace {:?}",
                item.name, item.workspace
            ))
        })?;
        Ok((ws, r))
    }

    /// An import into `ws_id` produced (or overwrote) the dataset `name` with id `id` and
    /// the report `report` (id, name) bound to it: the dataset's data sources are the PBIX's
    /// now.
    pub fn imported_dataset(
        &self,
        ws_id: &str,
        name: &str,
        id: &str,
        report: Option<(&str, &str)>,
    ) {
        let mut k = self.known();
        if let Some(list) = k.datasets.get_mut(&key(ws_id)) {
            list.retain(|d| !d.name.eq_ignore_ascii_case(name) && !d.id.eq_ignore_ascii_case(id));
            list.push(Dataset {
                id: id.to_string(),
                name: name.to_string(),
                ..Dataset::default()
            });
        }
        k.datasources.remove(&key(id));
        match report {
            Some((rid, rname)) => {
                if let Some(list) = k.reports.get_mut(&key(ws_id)) {
                    list.retain(|r| {
                        !r.name.eq_ignore_ascii_case(rname) && !r.id.eq_ignore_ascii_case(rid)
                    });
                    list.push(Report {
                        id: rid.to_string(),
                        name: rname.to_string(),
                        dataset_id: Some(id.to_string()),
                        ..Report::default()
                    });
                }
            }
            None => {
                k.reports.remove(&key(ws_id));
            }
        }
    }

    /// This run's import `done` finished: later imports into the workspace compare with a
    /// history that includes it, so it is never taken for theirs after an unknown outcome.
    pub fn import_finished(&self, ws_id: &str, done: &Import) {
        if let Some(list) = self.known().imports.get_mut(&key(ws_id)) {
            list.retain(|i| !i.id.eq_ignore_ascii_case(&done.id));
            list.push(done.clone());
        }
    }

    /// An import into `ws_id` changed its reports (a thin report import).
    pub fn reports_changed(&self, ws_id: &str) {
        self.known().reports.remove(&key(ws_id));
    }

    /// A report was rebound to `dataset_id`.
    pub fn rebound(&self, ws_id: &str, report_id: &str, dataset_id: &str) {
        let mut k = self.known();
        let list = k.reports.get_mut(&key(ws_id)).into_iter().flatten();
        for r in list.filter(|r| r.id.eq_ignore_ascii_case(report_id)) {
            r.dataset_id = Some(dataset_id.to_string());
        }
    }

    /// A dataset was deleted.
    pub fn deleted_dataset(&self, ws_id: &str, id: &str) {
        let mut k = self.known();
        if let Some(list) = k.datasets.get_mut(&key(ws_id)) {
            list.retain(|d| !d.id.eq_ignore_ascii_case(id));
        }
        k.datasources.remove(&key(id));
    }

    /// A report was deleted.
    pub fn deleted_report(&self, ws_id: &str, id: &str) {
        if let Some(list) = self.known().reports.get_mut(&key(ws_id)) {
            list.retain(|r| !r.id.eq_ignore_ascii_case(id));
        }
    }

    /// The dataset's data sources (read once until a step changes them).
    pub async fn datasources(&self, ws_id: &str, id: &str) -> Result<Vec<Datasource>, StepError> {
        if let Some(list) = self.known().datasources.get(&key(id)) {
            return Ok(list.clone());
        }
        let list = self.client.get_datasources(ws_id, id).await?;
        self.known().datasources.insert(key(id), list.clone());
        Ok(list)
    }

    /// A step changed the dataset's data sources (parameters, re-pointing, take over,
    /// binding): the next step reads them again.
    pub fn sources_changed(&self, id: &str) {
        self.known().datasources.remove(&key(id));
    }
}

/// The content lists the plan read of one workspace.
fn seed_content(k: &mut Known, ws: &LiveWorkspace) {
    let id = key(&ws.id);
    let datasets = ws.datasets.iter().map(|d| Dataset {
        id: d.id.clone(),
        name: d.name.clone(),
        configured_by: d.configured_by.clone(),
        ..Dataset::default()
    });
    k.datasets.insert(id.clone(), datasets.collect());
    let reports = ws.reports.iter().map(|r| Report {
        id: r.id.clone(),
        name: r.name.clone(),
        dataset_id: r.dataset_id.clone(),
        dataset_workspace_id: r.dataset_workspace_id.clone(),
        ..Report::default()
    });
    k.reports.insert(id.clone(), reports.collect());
    let imports = ws.imports.iter().map(|i| Import {
        id: i.id.clone(),
        name: i.name.clone(),
        import_state: Some(ImportState::parse(&i.state)),
        created_date_time: i.created.clone(),
        updated_date_time: i.updated.clone(),
        ..Import::default()
    });
    k.imports.insert(id, imports.collect());
}
