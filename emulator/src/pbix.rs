//! What the service derives from an imported PBIX, built on the shared `pbix` crate (the
//! file format is not the wire, so pbideploy and the emulator may share the reader; the
//! service-side decisions below stay the emulator's own).
//!
//! Pipeline: read the file with bounded reads →
//! reject templates → thin report from `Connections` → the model (DataModel, else
//! DataModelSchema, else DataMashup) → datasources, parameters and storage mode. A model
//! the reader cannot decode gives `model_readable = false` and the server falls back to
//! the tenant file's per-hash view.
//!
//! **Template rule [inferred]:** a file is a `.pbit` template, which the Imports API does
//! not accept, when its path ends in `.pbit`, or when it has `DataModelSchema`, no
//! `DataModel`, and a `DataMashup` part (every Desktop-saved template carries one). A
//! hand-written **test PBIX** therefore has a `.pbix` name, a `DataModelSchema` part and
//! neither `DataModel` nor `DataMashup`; the emulator accepts it although the real service
//! would not (§8.3 recommends exactly this for test authoring).

use std::path::Path;

use pbix::{DatasetMode, Kind, LiveConnection, Pbix};

pub use pbix::{DataSource as PbixDatasource, DetailPiece, PbixError as ReadError, join_pieces};

/// The service's view of an imported PBIX.
#[derive(Debug, Clone, PartialEq)]
pub struct PbixServiceView {
    /// Model, thin report, or live connection to Analysis Services.
    pub kind: PbixKind,
    /// Whether the emulator could read the model's sources (false: the server falls back
    /// to the tenant file by sha256). Thin reports have no model: true with empty lists.
    pub model_readable: bool,
    /// Deduplicated datasources, in order of first appearance.
    pub datasources: Vec<PbixDatasource>,
    /// M parameters (`IsParameterQuery=true`), in file order.
    pub parameters: Vec<PbixParameter>,
    /// Whether the model keeps a table in DirectQuery: such a dataset has a DirectQuery
    /// refresh schedule instead of an import one (documented: Power BI REST API, Datasets - Update
    /// (Direct Query) Refresh Schedule In Group);
    /// a composite model counts as DirectQuery here (guess).
    pub direct_query: bool,
}

/// What an import of the file creates.
#[derive(Debug, Clone, PartialEq)]
pub enum PbixKind {
    /// A dataset (model) and a report.
    Model,
    /// Only a report, bound to an existing Power BI dataset (`pbiServiceLive`, or
    /// `pbiServiceXmlaStyleLive` where `dataset_id` may be a dataset name).
    ThinReport {
        /// `PbiModelDatabaseName`, else the connection string's `Initial Catalog`.
        dataset_id: String,
        /// The `Connections` entry's `ConnectionString`.
        connection_string: String,
    },
    /// A report plus a live-connection dataset on SSAS/AAS (`analysisServicesDatabaseLive`).
    AnalysisServicesLive {
        /// `Data Source` of the connection string.
        server: String,
        /// `Initial Catalog` of the connection string.
        database: String,
    },
}

/// An M parameter as `Get Parameters` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PbixParameter {
    /// Parameter (shared query) name.
    pub name: String,
    /// `Type` from the meta record (`Text`, `Number`, `Date`, ...; `Any` when absent).
    pub param_type: String,
    /// The literal before `meta` (not `DefaultValue`); empty for `null`.
    pub current_value: String,
    /// `IsParameterQueryRequired`.
    pub is_required: bool,
    /// `List={...}` values.
    pub suggested_values: Vec<String>,
}

/// Why a PBIX could not be imported; the server maps these to import failures.
#[derive(Debug, thiserror::Error)]
pub enum PbixError {
    /// The reader refused the file (not a ZIP, limits, malformed parts, no model).
    #[error("the PBIX cannot be read: {0}")]
    Read(#[from] pbix::PbixError),
    /// A `.pbit` template, which the Imports API does not accept.
    #[error(
        "the file is a Power BI template (.pbit: DataModelSchema without DataModel); the service imports only .pbix, open the template in Desktop and save it as .pbix"
    )]
    Template,
}

/// Options for [`inspect_pbix_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InspectOptions {
    /// Analyse templates instead of rejecting them (what Desktop would build from one).
    pub allow_template: bool,
}

/// Derives the service view of the PBIX at `path`, rejecting templates like the service.
pub fn inspect_pbix(path: &Path) -> Result<PbixServiceView, PbixError> {
    inspect_pbix_with(path, InspectOptions::default())
}

/// [`inspect_pbix`] with options (tests use `allow_template` on the `.pbit` fixture).
pub fn inspect_pbix_with(
    path: &Path,
    options: InspectOptions,
) -> Result<PbixServiceView, PbixError> {
    let file = Pbix::open(path)?;
    let kind = match file.kind {
        Kind::Template if !options.allow_template => return Err(PbixError::Template),
        Kind::Template | Kind::Model => PbixKind::Model,
        Kind::ThinReport(LiveConnection::PowerBiDataset {
            dataset,
            connection_string,
            ..
        }) => PbixKind::ThinReport {
            dataset_id: dataset,
            connection_string,
        },
        Kind::ThinReport(LiveConnection::AnalysisServices {
            server, database, ..
        }) => PbixKind::AnalysisServicesLive { server, database },
    };
    Ok(match kind {
        PbixKind::Model => model_view(file.model.as_ref()),
        live => live_view(live),
    })
}

/// A model's view; an unreadable model (no decodable part) is marked so. Also what a
/// semantic model definition uploaded through the Fabric items API gives.
pub fn model_view(model: Option<&pbix::Model>) -> PbixServiceView {
    let Some(model) = model else {
        return PbixServiceView {
            kind: PbixKind::Model,
            model_readable: false,
            datasources: Vec::new(),
            parameters: Vec::new(),
            direct_query: false,
        };
    };
    PbixServiceView {
        kind: PbixKind::Model,
        model_readable: true,
        datasources: model.data_sources.clone(),
        parameters: model
            .parameters
            .iter()
            .map(|p| PbixParameter {
                name: p.name.clone(),
                param_type: p.param_type.clone(),
                current_value: p.current_value.clone(),
                is_required: p.required,
                suggested_values: p.allowed_values.clone(),
            })
            .collect(),
        direct_query: model.storage_mode() != DatasetMode::Import,
    }
}

/// The view of a live-connection file: no model of its own; SSAS reports its server.
fn live_view(kind: PbixKind) -> PbixServiceView {
    let datasources = match &kind {
        PbixKind::AnalysisServicesLive { server, database } => vec![PbixDatasource {
            datasource_type: "AnalysisServices".into(),
            connection_details: [("server", server), ("database", database)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect(),
            ..PbixDatasource::default()
        }],
        _ => Vec::new(),
    };
    PbixServiceView {
        kind,
        model_readable: true,
        datasources,
        parameters: Vec::new(),
        direct_query: false,
    }
}

impl PbixServiceView {
    /// The parameters as `Get Parameters` lists them.
    pub fn dataset_parameters(&self) -> Vec<crate::model::Parameter> {
        self.parameters
            .iter()
            .map(|x| crate::model::Parameter {
                name: x.name.clone(),
                param_type: x.param_type.clone(),
                is_required: x.is_required,
                current_value: x.current_value.clone(),
                suggested_values: x.suggested_values.clone(),
            })
            .collect()
    }

    /// The data sources as the dataset will hold them.
    pub fn datasource_seeds(&self) -> Vec<crate::model::DatasourceSeed> {
        self.datasources
            .iter()
            .map(|d| crate::model::DatasourceSeed {
                datasource_type: d.datasource_type.clone(),
                connection_details: d.connection_details.clone(),
                parameter_details: d.parameter_details.clone(),
            })
            .collect()
    }
}
