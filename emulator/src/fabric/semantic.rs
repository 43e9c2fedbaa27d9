//! What the service derives from a semantic model definition: the required parts, then (read
//! through the `pbix` crate, like a PBIX's model) parameters, data sources, storage mode and
//! the columns of Import tables, which the Power BI side of the model shows.

use super::definition::part;
use super::error::FabricError;
use super::state::StoredDefinition;
use crate::app::World;
use crate::model::{DatasetDatasource, DatasetMode, Parameter};
use std::collections::{BTreeMap, BTreeSet};

/// The service's view of a semantic model definition.
#[derive(Debug, Clone, Default)]
pub struct ModelView {
    /// M parameters.
    pub parameters: Vec<Parameter>,
    /// Data sources.
    pub datasources: Vec<DatasetDatasource>,
    /// Storage mode.
    pub mode: DatasetMode,
    /// Import tables and their columns (what an update must not drop without a purge).
    pub import_columns: BTreeMap<String, BTreeSet<String>>,
}

/// Checks the required parts and reads the model. // documented: Fabric REST API, semantic
/// model definition (`definition.pbism` required, and either `definition/**/*.tmdl` or
/// `model.bim`, never both)
pub fn derive(def: &StoredDefinition) -> Result<ModelView, FabricError> {
    let fail = |file: &str, why: &str| {
        FabricError::bad(
            "Workload_FailedToParseFile",
            format!("Cannot read '{file}'. {why}"),
        )
    };
    if part(def, "definition.pbism").is_none() {
        return Err(fail(
            "definition.pbism",
            "A semantic model definition needs definition.pbism.",
        ));
    }
    let tmdl = def.parts.iter().any(|p| {
        let l = p.path.to_lowercase();
        l.starts_with("definition/") && l.ends_with(".tmdl")
    });
    let bim = part(def, "model.bim").is_some();
    match (tmdl, bim) {
        (true, true) => Err(fail(
            "model.bim",
            "A definition holds TMDL (definition/*.tmdl) or model.bim, not both.",
        )),
        (false, false) => Err(fail(
            "definition",
            "A semantic model needs its TMDL folder (definition/*.tmdl) or model.bim.",
        )),
        _ => read(def),
    }
}

/// Reads the model with the `pbix` crate (TMDL or TMSL) and takes the service's view of it:
/// what a PBIX with this model would give. A model the reader refuses fails the operation.
/// guess: the service's own wording for unreadable TMDL differs; the reader's is kept
fn read(def: &StoredDefinition) -> Result<ModelView, FabricError> {
    let model = to_project(def, pbix::project::ItemKind::SemanticModel)
        .and_then(|d| pbix::project::semantic_model(&d))
        .map_err(|e| {
            FabricError::bad(
                "Workload_FailedToParseFile",
                format!("Cannot read the semantic model: {e}"),
            )
        })?;
    let view = crate::pbix::model_view(Some(&model));
    let import_columns = model
        .tables
        .iter()
        .filter(|t| t.holds_imported_data())
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .filter(|c| c.kind == pbix::ColumnKind::Data)
                .map(|c| c.name.clone())
                .collect();
            (t.name.clone(), cols)
        })
        .collect();
    Ok(ModelView {
        parameters: view.dataset_parameters(),
        datasources: view
            .datasource_seeds()
            .into_iter()
            .map(|s| DatasetDatasource {
                datasource_type: s.datasource_type,
                connection_details: s.connection_details,
                parameter_details: s.parameter_details,
                ..DatasetDatasource::default()
            })
            .collect(),
        mode: if view.direct_query {
            DatasetMode::DirectQuery
        } else {
            DatasetMode::Import
        },
        import_columns,
    })
}

/// The definition in the `pbix` crate's terms (decoded parts, canonical order).
pub fn to_project(
    def: &StoredDefinition,
    kind: pbix::project::ItemKind,
) -> Result<pbix::project::Definition, pbix::project::ProjectError> {
    let parts = def
        .parts
        .iter()
        .map(|p| pbix::project::Part {
            path: p.path.clone(),
            bytes: part(def, &p.path).unwrap_or_default(),
        })
        .collect();
    pbix::project::Definition::from_parts(kind, parts)
}

impl ModelView {
    /// Whether replacing `self` by `new` drops an Import table or one of its columns.
    pub fn loses_data(&self, new: &ModelView) -> bool {
        self.import_columns
            .iter()
            .any(|(table, cols)| match new.import_columns.get(table) {
                None => true,
                Some(now) => cols.iter().any(|c| !now.contains(c)),
            })
    }

    /// Writes the view into dataset `idx`: parameters, data sources (a source still present
    /// keeps its gateway binding), mode; cloud sources get their cloud datasource ids.
    /// guess: an updated definition keeps bindings of unchanged sources
    pub fn apply(self, w: &mut World, idx: usize) {
        let d = &mut w.model.datasets[idx];
        let old = std::mem::take(&mut d.datasources);
        d.datasources = self
            .datasources
            .into_iter()
            .map(|mut s| {
                if let Some(o) = old.iter().find(|o| {
                    o.datasource_type.eq_ignore_ascii_case(&s.datasource_type)
                        && o.connection_details == s.connection_details
                }) {
                    s.datasource_id = o.datasource_id.clone();
                    s.gateway_id = o.gateway_id.clone();
                }
                s
            })
            .collect();
        d.parameters = self.parameters;
        d.mode = self.mode;
        d.pending_refresh = true;
        crate::model::cloud::bind_cloud(w, idx);
    }
}
