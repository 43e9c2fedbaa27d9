//! The `DataModel` part of a PBIX: XPress9 decoding ([`xpress9`]), the Analysis Services
//! backup (ABF) it holds, and the model metadata in its `metadata.sqlitedb` (read with
//! SQLite; see the `metadata` module for why).
//!
//! The XPress9 decoder follows Microsoft's MIT-licensed reference decoder
//! ("Copyright (c) Microsoft Corporation"; credited in THIRD-PARTY-NOTICES.md).
//!
//! The part is streamed: decoded bytes are hashed and scanned as they pass, and only the
//! backup's header page, directory, log and `metadata.sqlitedb` are kept, so memory stays
//! bounded by [`Limits`] whatever the model's size.

mod abf;
mod error;
mod metadata;
pub mod xpress9;

use std::io::Read;

pub use error::DataModelError;
pub use xpress9::decode_xpress9_stream;

/// The raw rows of a model, as stored (before any interpretation of the M or storage modes).
#[derive(Debug, Clone, PartialEq)]
pub struct RawModel {
    /// Size of the decoded backup (ABF), in bytes.
    pub abf_size: u64,
    /// SHA-256 of the decoded backup: identifies the model content across repackaging.
    pub abf_sha256: [u8; 32],
    /// The `PBIDesktopVersion` model annotation, e.g. `2.100.785.0 (21.12)`.
    pub desktop_version: Option<String>,
    /// `Model.DefaultMode` (0 Import, 1 DirectQuery, ...).
    pub default_mode: Option<i64>,
    /// The model's own tables (engine-internal hierarchy and relationship tables excluded).
    pub tables: Vec<RawTable>,
    /// The partitions of those tables, in storage order.
    pub partitions: Vec<RawPartition>,
    /// The columns of those tables, in storage order.
    pub columns: Vec<RawColumn>,
    /// The measures of those tables, in storage order.
    pub measures: Vec<RawMeasure>,
    /// Shared expressions (M parameters and helper queries).
    pub expressions: Vec<RawExpression>,
    /// Legacy provider data sources (modern models keep their sources in the M).
    pub data_sources: Vec<RawDataSource>,
    /// Relationships between the author's tables (not to automatic date tables).
    pub relationships: usize,
}

/// A row of the `Table` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    pub id: i64,
    pub name: String,
}

/// A row of the `Partition` table, with its table's name.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPartition {
    pub table_name: String,
    pub name: String,
    /// `Partition.Type`: 1 query (SQL), 2 calculated (DAX), 4 M, 6 policy range, 7 calculation group.
    pub kind: i64,
    /// `Partition.Mode`: 0 Import, 1 DirectQuery, 2 Default, 4 Dual, 5 DirectLake.
    pub mode: i64,
    /// `QueryDefinition`: the M, SQL or DAX text.
    pub query: Option<String>,
    /// `DataSourceID` of a legacy query partition.
    pub data_source_id: Option<i64>,
}

/// A row of the `Column` table, with its table's name.
#[derive(Debug, Clone, PartialEq)]
pub struct RawColumn {
    pub table_name: String,
    /// `ExplicitName`, else `InferredName`.
    pub name: String,
    /// `ExplicitDataType`: 2 string, 6 int64, 8 double, 9 dateTime, 10 decimal, 11 boolean,
    /// 17 binary, 20 variant.
    pub data_type: i64,
    /// `Column.Type`: 1 data, 2 calculated, 3 row number, 4 calculated table column.
    pub kind: i64,
}

/// A row of the `Measure` table, with its table's name.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMeasure {
    pub table_name: String,
    pub name: String,
    pub expression: String,
}

/// A row of the `Expression` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RawExpression {
    pub name: String,
    /// `Expression.Kind`: 0 M.
    pub kind: i64,
    pub expression: String,
    pub description: Option<String>,
}

/// A row of the `DataSource` table.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDataSource {
    pub name: String,
    /// `DataSource.Type`: 1 provider, 2 structured.
    pub kind: Option<i64>,
    pub provider: Option<String>,
    pub connection_details: Option<String>,
}

/// Reads the model from the bytes of a PBIX's `DataModel` zip entry, streaming.
///
/// Errors say what is corrupt, truncated, unsupported (2016-17 XPress8 backups, encrypted
/// backups) or over a [`Limits`] cap; the caller adds the file name.
pub fn read_data_model<R: Read>(
    data_model_part: R,
    limits: &Limits,
) -> Result<RawModel, DataModelError> {
    let mut sink = abf::AbfSink::new(limits);
    let decoded = decode_xpress9_stream(data_model_part, &mut sink, limits);
    if let Some(failure) = sink.take_failure() {
        return Err(failure);
    }
    decoded?;
    let abf = sink.finish()?;
    let model = metadata::read_metadata(&abf.metadata)?;
    Ok(RawModel {
        abf_size: abf.size,
        abf_sha256: abf.sha256,
        desktop_version: model.desktop_version,
        default_mode: model.default_mode,
        tables: model.tables,
        partitions: model.partitions,
        columns: model.columns,
        measures: model.measures,
        expressions: model.expressions,
        data_sources: model.data_sources,
        relationships: model.relationships,
    })
}

/// Caps on what a hostile `DataModel` may make the reader do. Every declared size is input,
/// so each is checked before memory is reserved or work is done.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest decoded backup (ABF) accepted, in bytes. Bounds the decoding time (about
    /// 1 s per 100 MB); the default, 2 GiB, covers any model Power BI Desktop saves to a
    /// file a pull request would carry.
    pub max_abf_size: u64,
    /// Largest decoded size of one XPress9 frame, in bytes. Power BI writes 2 MiB frames;
    /// the default allows 16 MiB.
    pub max_frame_size: u32,
    /// Most XPress9 frames accepted (the default, 65,536, is 128 GiB of 2 MiB frames, so
    /// `max_abf_size` binds first for real files).
    pub max_frames: u64,
    /// Largest `metadata.sqlitedb` kept in memory, in bytes (real ones are well under
    /// 10 MB); default 64 MiB.
    pub max_metadata_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_abf_size: 2 << 30,
            max_frame_size: 16 << 20,
            max_frames: 65_536,
            max_metadata_size: 64 << 20,
        }
    }
}
