//! PLACEHOLDER until the XPress9 → ABF → `metadata.sqlitedb` reader (branch `w-xpress`) is
//! merged: the same types and entry point, and a reader that always answers `Unsupported`,
//! so that every `DataModel` part is treated as unreadable and the crate falls back to
//! `DataModelSchema` / `DataMashup`. Replace this whole file at the merge.

use std::io::Read;

/// Marks this stand-in: the decoder-dependent fixture tests skip (with a notice) while it
/// is in place, and stop compiling when the real reader replaces it, so the lead removes
/// their gate at the merge.
pub const PLACEHOLDER: bool = true;

/// Caps for the decoder (the real reader defines them).
#[derive(Debug, Clone, Default)]
pub struct Limits {}

/// Why the `DataModel` part could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataModelError {
    /// The reader is not built into this version.
    #[error("reading the DataModel part (XPress9) is not supported by this build")]
    Unsupported,
}

/// The rows of `metadata.sqlitedb` the crate maps to its public model.
#[derive(Debug, Clone, PartialEq)]
pub struct RawModel {
    pub abf_size: u64,
    pub abf_sha256: [u8; 32],
    pub desktop_version: Option<String>,
    pub default_mode: Option<i64>,
    pub tables: Vec<RawTable>,
    pub partitions: Vec<RawPartition>,
    pub expressions: Vec<RawExpression>,
    pub data_sources: Vec<RawDataSource>,
    pub relationships: usize,
}

/// A `Table` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    pub id: i64,
    pub name: String,
}

/// A `Partition` row (`kind` = TOM `Type`, `mode` = TOM `Mode`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPartition {
    pub table_name: String,
    pub name: String,
    pub kind: i64,
    pub mode: i64,
    pub query: Option<String>,
    pub data_source_id: Option<i64>,
}

/// An `Expression` row (`kind` 0 = M).
#[derive(Debug, Clone, PartialEq)]
pub struct RawExpression {
    pub name: String,
    pub kind: i64,
    pub expression: String,
    pub description: Option<String>,
}

/// A `DataSource` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDataSource {
    pub name: String,
    pub kind: Option<i64>,
    pub provider: Option<String>,
    pub connection_details: Option<String>,
}

/// Placeholder: always `Unsupported`.
pub fn read_data_model<R: Read>(
    _data_model_part: R,
    _limits: &Limits,
) -> Result<RawModel, DataModelError> {
    Err(DataModelError::Unsupported)
}
