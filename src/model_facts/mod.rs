//! What a dataset's PBIX tells `validate` and `plan` about the dataset an import creates:
//! its storage mode, its M parameters and the data sources the service will derive. Read
//! through the `pbix` crate, kept small and serializable so that it can be cached by the
//! file's content ([`cache`]).

pub mod cache;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use pbix::{DataSource, DatasetMode, Parameter};

/// What importing a file creates, as `validate` checks it against the list it is declared in:
/// [`pbix::Kind`] without the connection strings, small enough to cache by the file's stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ImportKind {
    /// A dataset (model) and its report.
    Model,
    /// A `.pbit` template, which the service does not import.
    Template,
    /// A thin report live-connected to a Power BI dataset.
    ReportOnDataset,
    /// A report live-connected to Analysis Services at `server` (the service creates a
    /// live-connection dataset for it).
    ReportOnAnalysisServices { server: String },
}

impl From<&pbix::Kind> for ImportKind {
    fn from(kind: &pbix::Kind) -> Self {
        use pbix::{Kind, LiveConnection};
        match kind {
            Kind::Model => ImportKind::Model,
            Kind::Template => ImportKind::Template,
            Kind::ThinReport(LiveConnection::PowerBiDataset { .. }) => ImportKind::ReportOnDataset,
            Kind::ThinReport(LiveConnection::AnalysisServices { server, .. }) => {
                ImportKind::ReportOnAnalysisServices {
                    server: server.clone(),
                }
            }
        }
    }
}

/// The facts of a model PBIX, as the service will see them after an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelFacts {
    /// Import, DirectQuery or composite: decides which refresh schedule applies.
    pub mode: DatasetMode,
    /// The M parameters (`Get Parameters`).
    pub parameters: Vec<Parameter>,
    /// The data sources (`Get Datasources`) with the file's parameter values.
    pub data_sources: Vec<DataSource>,
    /// Data-access calls whose source could not be derived; when any, the service may list
    /// sources `data_sources` lacks, so "matches no source" is not concluded.
    pub unresolved_sources: Vec<String>,
}

/// What reading a file for its model gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum FileFacts {
    /// The model, read in full.
    Model(ModelFacts),
    /// No model the rules can trust: not a model file, a model part the reader refuses (an
    /// old XPress8 backup, ...) or an unreadable file; `why` says which. Model-based
    /// checks are skipped for it.
    Unknown { why: String },
}

impl FileFacts {
    /// Reads the file at `path` (bounded reads, see the `pbix` crate); never fails: what
    /// cannot be read becomes [`FileFacts::Unknown`].
    pub fn read(path: &Path) -> FileFacts {
        match pbix::Pbix::open(path) {
            Ok(file) => Self::from_pbix(&file),
            Err(e) => FileFacts::Unknown { why: e.to_string() },
        }
    }

    fn from_pbix(file: &pbix::Pbix) -> FileFacts {
        if let Some(why) = &file.unread_model {
            return FileFacts::Unknown {
                why: format!("its model part could not be read: {why}"),
            };
        }
        match (&file.kind, &file.model) {
            (pbix::Kind::Model, Some(model)) => FileFacts::Model(ModelFacts {
                mode: model.storage_mode(),
                parameters: model.parameters.clone(),
                data_sources: model.data_sources.clone(),
                unresolved_sources: model.unresolved_sources.clone(),
            }),
            _ => FileFacts::Unknown {
                why: "it holds no model".into(),
            },
        }
    }

    /// The model's facts, when known.
    pub fn model(&self) -> Option<&ModelFacts> {
        match self {
            FileFacts::Model(m) => Some(m),
            FileFacts::Unknown { .. } => None,
        }
    }
}

impl ModelFacts {
    /// The parameter named exactly `name` (the service's names are case-sensitive).
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The data sources once the manifest's parameter values (`values`, by name) are set.
    pub fn sources_with<'a>(&self, values: impl Fn(&str) -> Option<&'a str>) -> Vec<DataSource> {
        pbix::substitute_parameters(&self.data_sources, |name| values(name).map(str::to_owned))
    }
}

/// The import kind of the file at `path` (a canonical, regular file inside the manifest's
/// folder), through the cache by the file's size and modification time, else from `read`;
/// call [`cache::flush`] after a batch.
pub fn import_kind<E>(
    path: &Path,
    read: impl FnOnce() -> Result<ImportKind, E>,
) -> Result<ImportKind, E> {
    cache::import_kind(path, read)
}

/// The facts of the file at `path` (a canonical, regular file inside the manifest's folder),
/// through the cache; call [`cache::flush`] after a batch.
pub fn lookup(path: &Path) -> FileFacts {
    cache::facts(path, None)
}

/// [`lookup`] for a file whose SHA-256 the caller already computed.
pub fn lookup_hashed(path: &Path, sha256: &str) -> FileFacts {
    cache::facts(path, Some(sha256))
}

/// A connection detail of a derived source as text (they are all strings).
pub fn detail<'a>(source: &'a DataSource, key: &str) -> Option<&'a str> {
    source
        .connection_details
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
}
