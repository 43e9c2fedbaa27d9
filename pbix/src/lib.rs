//! Reads Power BI `.pbix` and `.pbit` files the way the service will see them, with one API
//! whatever the file's age: its kind (model, template, or thin report live-connected to a
//! Power BI dataset or to Analysis Services), the Desktop version, a thin report's target,
//! and for a model its tables, partitions, named expressions, M parameters and the data
//! sources the service will derive from the M.
//!
//! The model comes from the newest part that can be read: the `DataModel` (XPress9 → ABF →
//! `metadata.sqlitedb`, see [`datamodel`]), else `DataModelSchema` (TMSL JSON), else the
//! legacy `DataMashup`. Legacy files whose model rows hold no M (native SQL partitions) take
//! their parameters and data sources from the `DataMashup`, as the service does.
//!
//! Files arrive in pull requests, so every read is bounded ([`limits`]): the ZIP's table of
//! contents is sized before it is parsed, entry names, counts, sizes and compression
//! ratios are checked before any part is read, and no read goes past its cap. Errors say
//! what is wrong in plain words ([`PbixError`]). pbideploy (`validate`, `inspect`) and its
//! service emulator both read files through this crate, so they agree on what a file is.

mod connections;
mod container;
pub mod datamodel;
mod derive;
mod error;
pub mod limits;
mod m;
mod mashup;
mod model;
pub mod project;
mod raw;
mod schema;

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

pub use connections::{LiveConnection, connection_properties};
pub use error::PbixError;
pub use limits::Limits;
pub use model::{
    Column, ColumnKind, DataSource, DatasetMode, DetailPiece, Expression, Measure, Model,
    ModelSource, Parameter, Partition, PartitionKind, SourceUse, StorageMode, Table, join_pieces,
    substitute_parameters,
};

use container::{Container, decode_text};
use error::malformed;

/// What an import of the file would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A dataset (model) and a report.
    Model,
    /// A `.pbit` template: a model without data, which the Imports API does not accept.
    Template,
    /// A report only, live-connected to an existing dataset or Analysis Services database.
    ThinReport(LiveConnection),
}

/// How much of the file to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The caps in force.
    pub limits: Limits,
    /// Only classify (table of contents and `Connections`): what `validate` needs, fast
    /// enough for thousands of files.
    pub kind_only: bool,
}

/// A PBIX or PBIT, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Pbix {
    /// What the file is.
    pub kind: Kind,
    /// The package format version (`Version` part, e.g. `1.28`; not the Desktop version).
    pub package_version: Option<String>,
    /// The Desktop build that saved the file (model annotation `PBIDesktopVersion`, else
    /// `Settings`).
    pub desktop_version: Option<String>,
    /// `RemoteArtifacts`: the dataset id the file was last published as, if any.
    pub published_dataset: Option<String>,
    /// The model (models and templates), `None` for thin reports, when `kind_only`, or when
    /// no part could be read (see `unread_model`).
    pub model: Option<Model>,
    /// Why the `DataModel` part could not be read, when it could not (the model, if any,
    /// then comes from an older part).
    pub unread_model: Option<String>,
}

impl Pbix {
    /// Reads everything the service would see in the file at `path`.
    pub fn open(path: &Path) -> Result<Pbix, PbixError> {
        Self::open_with(path, &Options::default())
    }

    /// [`Pbix::open`] with options (e.g. `kind_only`).
    pub fn open_with(path: &Path, options: &Options) -> Result<Pbix, PbixError> {
        // Checked before opening: opening a FIFO for reading would block.
        if !std::fs::metadata(path)?.is_file() {
            return Err(PbixError::Io(std::io::Error::other("not a regular file")));
        }
        let file = File::open(path)?;
        let template_name = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pbit"));
        Self::from_reader(BufReader::new(file), template_name, options)
    }

    /// Reads a file from any seekable reader; `template_name` says whether its name ends in
    /// `.pbit`.
    pub fn from_reader<R: Read + Seek>(
        reader: R,
        template_name: bool,
        options: &Options,
    ) -> Result<Pbix, PbixError> {
        let mut zip = Container::open(reader, &options.limits)?;
        let has_model = zip.has("DataModel");
        let has_schema = zip.has("DataModelSchema");
        let has_mashup = zip.has("DataMashup");
        let connections = if zip.has("Connections") {
            let limit = zip.limits().max_connections_bytes;
            let text = decode_text(&zip.read("Connections", limit)?)
                .map_err(|r| malformed("Connections", r))?;
            connections::parse(&text)?
        } else {
            connections::Connections::default()
        };
        let kind = if template_name || (has_schema && !has_model && has_mashup) {
            Kind::Template
        } else if !has_model
            && !has_schema
            && let Some(live) = connections.live
        {
            Kind::ThinReport(live)
        } else if has_model || has_schema || has_mashup {
            Kind::Model
        } else {
            return Err(PbixError::NoModel);
        };
        let mut pbix = Pbix {
            kind,
            package_version: None,
            desktop_version: None,
            published_dataset: connections.published_dataset,
            model: None,
            unread_model: None,
        };
        if options.kind_only {
            return Ok(pbix);
        }
        read_versions(&mut zip, &mut pbix)?;
        if !matches!(pbix.kind, Kind::ThinReport(_)) {
            read_model(&mut zip, &mut pbix)?;
        }
        Ok(pbix)
    }
}

/// `Version` and the `Settings` Desktop build (JSON in files since ~2019; legacy binary
/// settings are skipped).
fn read_versions<R: Read + Seek>(zip: &mut Container<R>, pbix: &mut Pbix) -> Result<(), PbixError> {
    let limit = zip.limits().max_small_part_bytes;
    if zip.has("Version") {
        let text = decode_text(&zip.read("Version", limit)?).ok();
        pbix.package_version = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    }
    if zip.has("Settings") {
        let settings = decode_text(&zip.read("Settings", limit)?).ok();
        pbix.desktop_version = settings
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["QueriesSettings"]["Version"].as_str().map(str::to_string));
    }
    Ok(())
}

/// The model from the newest readable part (see the crate docs).
fn read_model<R: Read + Seek>(zip: &mut Container<R>, pbix: &mut Pbix) -> Result<(), PbixError> {
    if zip.has("DataModel") {
        let part = zip.stream("DataModel")?;
        match datamodel::read_data_model(part, &datamodel::Limits::default()) {
            Ok(raw) => {
                if raw.desktop_version.is_some() {
                    pbix.desktop_version.clone_from(&raw.desktop_version);
                }
                pbix.model = Some(raw::model(raw));
            }
            Err(e) => pbix.unread_model = Some(e.to_string()),
        }
    }
    if pbix.model.is_none() && zip.has("DataModelSchema") {
        let limit = zip.limits().max_schema_bytes;
        let text = decode_text(&zip.read("DataModelSchema", limit)?)
            .map_err(|r| malformed("DataModelSchema", r))?;
        let (model, version) = schema::read(&text).map_err(|r| malformed("DataModelSchema", r))?;
        if version.is_some() {
            pbix.desktop_version = version;
        }
        pbix.model = Some(model);
    }
    let holds_m = pbix.model.as_ref().is_some_and(|m| {
        m.expressions.iter().any(|e| e.is_m)
            || m.tables
                .iter()
                .flat_map(|t| &t.partitions)
                .any(|p| p.kind == PartitionKind::M)
    });
    if zip.has("DataMashup") && !holds_m {
        let limit = zip.limits().max_mashup_bytes;
        let bytes = zip.read("DataMashup", limit)?;
        let mashup = mashup::read(&bytes, zip.limits())?;
        match &mut pbix.model {
            Some(model) => {
                // Each member is known by its table's name; its first partition loads it.
                let loaded: Vec<(String, String)> = model
                    .tables
                    .iter()
                    .filter_map(|t| Some((t.name.clone(), t.partitions.first()?.name.clone())))
                    .collect();
                let facts = derive::from_section(&mashup.section, &loaded);
                model.parameters = facts.parameters;
                model.data_sources = facts.data_sources;
                model.unresolved_sources = facts.unresolved_sources;
                model.source_uses = facts.source_uses;
            }
            None if !mashup.section.trim().is_empty() && !m_is_empty(&mashup.section) => {
                pbix.model = Some(mashup_model(&mashup));
            }
            None => {}
        }
    }
    if pbix.model.is_none() && pbix.unread_model.is_none() {
        return Err(PbixError::NoModel);
    }
    Ok(())
}

/// Whether a section document declares no member (`section Section1;`).
fn m_is_empty(section: &str) -> bool {
    m::parse_section(section).is_empty()
}

/// A legacy model known only from its mashup: one M partition per loaded query.
fn mashup_model(mashup: &mashup::Mashup) -> Model {
    let tables: Vec<Table> = mashup
        .loaded
        .iter()
        .map(|(name, direct)| {
            let partition = Partition {
                name: name.clone(),
                kind: PartitionKind::M,
                mode: if *direct {
                    StorageMode::DirectQuery
                } else {
                    StorageMode::Import
                },
                query: None,
            };
            Table::new(name.clone(), vec![partition])
        })
        .collect();
    let loaded: Vec<(String, String)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.name.clone()))
        .collect();
    let facts = derive::from_section(&mashup.section, &loaded);
    Model {
        source: ModelSource::DataMashup,
        tables,
        expressions: Vec::new(),
        parameters: facts.parameters,
        data_sources: facts.data_sources,
        unresolved_sources: facts.unresolved_sources,
        source_uses: facts.source_uses,
        relationships: None,
        abf: None,
    }
}
