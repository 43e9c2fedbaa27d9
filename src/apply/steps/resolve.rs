//! Names to ids at apply time: identity is by name, and ids of items created earlier in the
//! same apply are only known now. Workspace ids are cached; items are listed fresh because
//! an import just before may have created them.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::apply::StepError;
use crate::plan::model::ItemRef;
use crate::powerbi::client::PowerBiClient;
use crate::powerbi::types::{Dataset, Report};

/// Looks workspaces, datasets and reports up by name.
#[derive(Debug)]
pub struct Resolver {
    client: PowerBiClient,
    workspaces: Mutex<HashMap<String, String>>,
}

impl Resolver {
    /// A resolver using `client`.
    pub fn new(client: PowerBiClient) -> Self {
        Self {
            client,
            workspaces: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        match self.workspaces.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Remember a workspace id (after creating it).
    pub fn remember(&self, name: &str, id: &str) {
        self.cache().insert(name.to_lowercase(), id.to_string());
    }

    /// Forget a workspace (after deleting it).
    pub fn forget(&self, name: &str) {
        self.cache().remove(&name.to_lowercase());
    }

    /// The workspace's id, or `None` when the service has no workspace of that name.
    pub async fn find_workspace(&self, name: &str) -> Result<Option<String>, StepError> {
        if let Some(id) = self.cache().get(&name.to_lowercase()) {
            return Ok(Some(id.clone()));
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

    /// The dataset of that name in the workspace, if any (an error when there are several).
    pub async fn find_dataset(
        &self,
        ws_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StepError> {
        let mut found: Vec<Dataset> = self
            .client
            .list_datasets(ws_id)
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
            .client
            .list_reports(ws_id)
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
}
