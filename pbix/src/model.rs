//! What a model PBIX holds, in the terms the service uses: tables and their partitions,
//! named M expressions, the M parameters among them, and the data sources the service will
//! derive from the M. One shape whatever part it was read from (`DataModel`,
//! `DataModelSchema` or `DataMashup`), so callers never care about the file's age.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The part of the file the model was read from, newest format first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// `DataModel`: XPress9 → ABF → `metadata.sqlitedb` (every file saved since ~2020).
    DataModel,
    /// `DataModelSchema`: TMSL JSON (templates, and hand-written test files); also a Power BI
    /// Project's semantic model (`model.bim` is the same TMSL, and TMDL is its text form).
    DataModelSchema,
    /// `DataMashup` `Formulas/Section1.m` (legacy files; partitions are not known).
    DataMashup,
}

/// The model of a PBIX or PBIT.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Where it was read from.
    pub source: ModelSource,
    /// Tables, in file order, with their partitions (engine-internal ones left out).
    pub tables: Vec<Table>,
    /// Named expressions (shared queries), parameters included.
    pub expressions: Vec<Expression>,
    /// The M parameters, as `Get Parameters` lists them.
    pub parameters: Vec<Parameter>,
    /// The data sources `Get Datasources` will list, deduplicated, in order of first use.
    pub data_sources: Vec<DataSource>,
    /// Data-access calls whose source the M analyser could not derive (an unknown connector,
    /// arguments it cannot resolve): when not empty, the service may list sources that
    /// `data_sources` lacks, so "matches no source" is not a safe conclusion.
    pub unresolved_sources: Vec<String>,
    /// Which tables use each data source: `Get Datasources` lists a source once however
    /// many tables read it (eight tables reading one workbook are one `Web` source), so
    /// this is what shows a reviewer the uses behind it.
    pub source_uses: Vec<SourceUse>,
    /// Number of relationships, when the source says.
    pub relationships: Option<usize>,
    /// The decoded Analysis Services backup (`DataModel` only): size and SHA-256 (hex).
    pub abf: Option<(u64, String)>,
}

impl Model {
    /// The data sources after `Update Parameters` sets the values `value` gives (see
    /// [`substitute_parameters`]).
    pub fn data_sources_with(&self, value: impl Fn(&str) -> Option<String>) -> Vec<DataSource> {
        substitute_parameters(&self.data_sources, value)
    }

    /// The dataset's storage mode as the service sees it: DirectQuery when every data
    /// partition is DirectQuery (or DirectLake), Composite when Import and DirectQuery mix,
    /// else Import. Calculated partitions and Dual tables do not decide it (Dual tables
    /// only exist beside DirectQuery ones).
    pub fn storage_mode(&self) -> DatasetMode {
        let data = self.tables.iter().flat_map(|t| &t.partitions).filter(|p| {
            !matches!(
                p.kind,
                PartitionKind::Calculated | PartitionKind::CalculationGroup
            )
        });
        let (mut import, mut direct) = (false, false);
        for p in data {
            match p.mode {
                StorageMode::Import | StorageMode::Push => import = true,
                StorageMode::DirectQuery | StorageMode::DirectLake => direct = true,
                StorageMode::Dual | StorageMode::Default | StorageMode::Unknown => {}
            }
        }
        match (import, direct) {
            (true, true) => DatasetMode::Composite,
            (false, true) => DatasetMode::DirectQuery,
            _ => DatasetMode::Import,
        }
    }
}

/// One use of a data source by the model's M.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceUse {
    /// The source (index into [`Model::data_sources`]).
    pub source: usize,
    /// The table and partition whose M reaches the call, directly or through the shared
    /// queries and tables it names; `None` for a shared query no partition names.
    pub table: Option<(String, String)>,
    /// The query holding the call when it is not the partition's own M: a shared query
    /// (named expression) or another table.
    pub via: Option<String>,
    /// The function the call is the first argument of, e.g. `Excel.Workbook` for a workbook
    /// read over `Web.Contents`.
    pub wrapped_in: Option<String>,
}

/// A dataset's storage mode (decides refreshability and which refresh schedule applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetMode {
    /// Every table imported: refreshable, days/times schedule.
    Import,
    /// Every table DirectQuery: not refreshable, a `frequency` schedule.
    DirectQuery,
    /// Import and DirectQuery tables side by side.
    Composite,
}

/// A table, its partitions, columns and measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Its partitions (usually one).
    pub partitions: Vec<Partition>,
    /// Its columns in definition order (engine-internal `RowNumber` columns left out): what a
    /// definition update may drop, losing data. Empty when the source does not list them
    /// (the legacy `DataMashup`).
    pub columns: Vec<Column>,
    /// Its measures in definition order (empty when the source does not list them).
    pub measures: Vec<Measure>,
}

impl Table {
    /// A table with partitions only (sources that list no columns or measures).
    pub fn new(name: String, partitions: Vec<Partition>) -> Self {
        Table {
            name,
            partitions,
            columns: Vec::new(),
            measures: Vec::new(),
        }
    }

    /// Whether the table holds imported data (a partition in Import or Dual mode): removing
    /// it or one of its columns loses data that only a refresh brings back.
    pub fn holds_imported_data(&self) -> bool {
        self.partitions.iter().any(|p| {
            matches!(p.mode, StorageMode::Import | StorageMode::Dual)
                && !matches!(
                    p.kind,
                    PartitionKind::Calculated | PartitionKind::CalculationGroup
                )
        })
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// TOM data type as the source spells it (`string`, `int64`, `double`, `dateTime`,
    /// `decimal`, `boolean`, `binary`, `variant`, ...); empty when unstated.
    pub data_type: String,
    /// Whether it is read from the source or computed by DAX.
    pub kind: ColumnKind,
}

/// Where a column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Read from the partition's source (TOM `Data`; calculated tables' columns too).
    Data,
    /// A DAX calculated column (TOM `Calculated`).
    Calculated,
}

/// A measure of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Measure name.
    pub name: String,
    /// Its DAX expression.
    pub expression: String,
}

/// One partition of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Partition name.
    pub name: String,
    /// What its query is.
    pub kind: PartitionKind,
    /// How its data is held, with `Default` already resolved to the model's default mode.
    pub mode: StorageMode,
    /// The M, SQL or DAX text, when it has one.
    pub query: Option<String>,
}

/// What a partition's source is (TOM `PartitionSourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKind {
    /// Power Query M (TOM type 4).
    M,
    /// A native query on a provider data source, e.g. SQL (TOM type 1, legacy files).
    Query,
    /// A DAX calculated table (TOM type 2).
    Calculated,
    /// An incremental-refresh policy range (TOM type 6).
    PolicyRange,
    /// A calculation group (TOM type 7).
    CalculationGroup,
    /// Another TOM type (entity, inferred, parquet, ...).
    Other,
}

impl PartitionKind {
    /// From TOM `Partition.Type`; `None` for engine-internal partitions (type 3), which the
    /// service never shows.
    pub fn from_tom(kind: i64) -> Option<Self> {
        Some(match kind {
            1 => Self::Query,
            2 => Self::Calculated,
            3 => return None,
            4 => Self::M,
            6 => Self::PolicyRange,
            7 => Self::CalculationGroup,
            _ => Self::Other,
        })
    }
}

/// How a partition holds its data (TOM `ModeType`; documented values: learn.microsoft.com
/// `Microsoft.AnalysisServices.Tabular.ModeType`: 0 Import, 1 DirectQuery, 2 Default,
/// 3 Push, 4 Dual, 5 DirectLake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    /// Imported (cached in the model).
    Import,
    /// Queried at the source on every query.
    DirectQuery,
    /// Inherits the model's default (only left when the model gives none).
    Default,
    /// Push dataset.
    Push,
    /// Both import and DirectQuery.
    Dual,
    /// Direct Lake (Fabric).
    DirectLake,
    /// A value this reader does not know.
    Unknown,
}

impl StorageMode {
    /// From TOM `ModeType`.
    pub fn from_tom(mode: i64) -> Self {
        match mode {
            0 => Self::Import,
            1 => Self::DirectQuery,
            2 => Self::Default,
            3 => Self::Push,
            4 => Self::Dual,
            5 => Self::DirectLake,
            _ => Self::Unknown,
        }
    }

    /// From TMSL `mode` (`import`, `directQuery`, ...), case-insensitive.
    pub fn from_tmsl(mode: &str) -> Self {
        match mode.to_ascii_lowercase().as_str() {
            "import" => Self::Import,
            "directquery" => Self::DirectQuery,
            "default" => Self::Default,
            "push" => Self::Push,
            "dual" => Self::Dual,
            "directlake" => Self::DirectLake,
            _ => Self::Unknown,
        }
    }

    /// `Default` replaced by the model's default mode (Import when it has none: TOM's
    /// documented default for `Model.DefaultMode`).
    pub fn resolve(self, model_default: Option<StorageMode>) -> Self {
        match (self, model_default) {
            (Self::Default, Some(d)) if d != Self::Default => d,
            (Self::Default, _) => Self::Import,
            (m, _) => m,
        }
    }
}

/// A named expression (shared query) of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// Its name (how other queries refer to it).
    pub name: String,
    /// Whether it is M (`true`) or another language.
    pub is_m: bool,
    /// The text after `name =`.
    pub text: String,
    /// Its description, if any.
    pub description: Option<String>,
}

/// An M parameter as `Get Parameters` reports it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Parameter {
    /// Parameter (shared query) name; case-sensitive in `Update Parameters`.
    pub name: String,
    /// `Type` from the meta record (`Text`, `Number`, `Date`, ...; `Any` when absent).
    pub param_type: String,
    /// The literal before `meta` (not `DefaultValue`); empty for `null`.
    pub current_value: String,
    /// `IsParameterQueryRequired`.
    pub required: bool,
    /// `List={...}` values (the service's `suggestedValues`).
    pub allowed_values: Vec<String>,
    /// The expression's description, else the meta record's `Description`.
    pub description: Option<String>,
}

/// A data source as `Get Datasources` reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    /// e.g. `Sql`, `OData`, `Web`, `File`, `AnalysisServices`.
    pub datasource_type: String,
    /// e.g. `{server, database}` or `{url}`.
    pub connection_details: serde_json::Map<String, serde_json::Value>,
    /// The details whose M value is built from parameters, as pieces: the service
    /// re-evaluates them when a parameter changes (`Update Parameters` re-points the source).
    pub parameter_details: BTreeMap<String, Vec<DetailPiece>>,
}

/// One piece of a connection detail's M value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DetailPiece {
    /// Literal text.
    Text(String),
    /// A parameter reference and the value it had when the PBIX was read.
    Param {
        /// The parameter (shared query) name.
        name: String,
        /// Its value at import.
        value: String,
    },
}

/// The detail's text: literal pieces as they are, parameters through `current` (by name),
/// falling back to the value they had when the file was read.
pub fn join_pieces(pieces: &[DetailPiece], current: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            DetailPiece::Text(t) => out.push_str(t),
            DetailPiece::Param { name, value } => match current(name) {
                Some(v) => out.push_str(&v),
                None => out.push_str(value),
            },
        }
    }
    out
}

/// `sources` after `Update Parameters` sets the values `value` gives (by parameter name;
/// `None` keeps the file's value): each detail built from parameters is re-joined, the way
/// the service re-evaluates it, then sources that became equal merge. The one place
/// parameter values are substituted into derived sources (`validate` and `plan` use it on
/// what they cached of a file).
pub fn substitute_parameters(
    sources: &[DataSource],
    value: impl Fn(&str) -> Option<String>,
) -> Vec<DataSource> {
    let mut out: Vec<DataSource> = Vec::new();
    for d in sources {
        let mut d = d.clone();
        for (key, pieces) in &d.parameter_details {
            let text = join_pieces(pieces, &value);
            d.connection_details
                .insert(key.clone(), serde_json::Value::String(text));
        }
        let seen = out.iter().any(|o| {
            o.datasource_type == d.datasource_type && o.connection_details == d.connection_details
        });
        if !seen {
            out.push(d);
        }
    }
    out
}
