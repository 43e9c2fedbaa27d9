//! What `pbideploy inspect` reports about a PBIX: what the service will see when the file
//! is imported (kind, storage mode, tables, parameters, data sources, Desktop version; for a
//! thin report its dataset). The report is its own serialisable type (documented by
//! `schemas/inspect.schema.json`, generated from it) so the `pbix` crate's types stay free
//! to change without breaking pipelines that read the JSON.

use crate::sanitize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use ::pbix::{DatasetMode, Kind, LiveConnection, Model, PartitionKind, Pbix, StorageMode};
use schemars::JsonSchema;
use serde::Serialize;

/// The `$id` of the schema the JSON output follows.
pub const SCHEMA_ID: &str = "https://pbideploy.dev/schemas/inspect.schema.json";

/// The report on one file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    /// The schema this document follows.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// The file, as given.
    pub file: String,
    /// What an import creates: `model` (dataset and report), `template` (refused by the
    /// service), or `thinReport` (a report bound to an existing dataset).
    pub kind: FileKind,
    /// The package format version (`Version` part), e.g. `1.28`.
    pub package_version: Option<String>,
    /// The Power BI Desktop build that saved the file.
    pub desktop_version: Option<String>,
    /// The dataset id the file was last published as (`RemoteArtifacts`), if any.
    pub published_dataset: Option<String>,
    /// A thin report's live connection.
    pub live_connection: Option<LiveTarget>,
    /// A model's content.
    pub model: Option<ModelReport>,
    /// Why the file's `DataModel` part could not be read, when it could not.
    pub unread_model: Option<String>,
}

/// What an import creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FileKind {
    /// A dataset and a report.
    Model,
    /// A `.pbit` template.
    Template,
    /// A report only, live-connected.
    ThinReport,
}

/// Where a thin report's data lives.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "target")]
pub enum LiveTarget {
    /// A Power BI dataset.
    PowerBiDataset {
        /// The dataset id (or its name, for the XMLA-style connection).
        dataset: String,
        /// Whether `dataset` may be a name (XMLA-style connection).
        by_name: bool,
    },
    /// An Analysis Services database (not deployable as a report of a manifest dataset).
    AnalysisServices {
        /// The server.
        server: String,
        /// The database.
        database: String,
    },
}

/// A model as the service will see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelReport {
    /// The part it was read from: `dataModel`, `dataModelSchema` or `dataMashup`.
    pub source: String,
    /// `import`, `directQuery` or `composite`.
    pub storage_mode: String,
    /// Tables and their partitions.
    pub tables: Vec<TableReport>,
    /// The M parameters (`Get Parameters`).
    pub parameters: Vec<ParameterReport>,
    /// The data sources (`Get Datasources`).
    pub data_sources: Vec<DataSourceReport>,
    /// Named expressions (shared queries), parameters included.
    pub expressions: Vec<ExpressionReport>,
    /// Number of relationships, when known.
    pub relationships: Option<usize>,
}

/// A table.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableReport {
    /// Table name.
    pub name: String,
    /// Its partitions.
    pub partitions: Vec<PartitionReport>,
}

/// A partition.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionReport {
    /// Partition name.
    pub name: String,
    /// `m`, `query` (native SQL), `calculated`, `policyRange`, `calculationGroup`, `other`.
    pub kind: String,
    /// `import`, `directQuery`, `dual`, `push`, `directLake`, `default` or `unknown`.
    pub mode: String,
    /// The M, SQL or DAX text.
    pub query: Option<String>,
}

/// An M parameter.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParameterReport {
    /// Name (case-sensitive in `parameters:`).
    pub name: String,
    /// `Text`, `Number`, `Date`, `DateTime`, `Logical`, `Any`, ...
    #[serde(rename = "type")]
    pub param_type: String,
    /// The value in the file.
    pub current_value: String,
    /// Whether a value is required.
    pub required: bool,
    /// The values offered (`List={...}`), empty when any value goes.
    pub allowed_values: Vec<String>,
    /// Its description.
    pub description: Option<String>,
}

/// A data source.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceReport {
    /// `Sql`, `Web`, `File`, `OData`, ...
    pub datasource_type: String,
    /// As `Get Datasources` shows them, e.g. `{server, database}` or `{url}`.
    pub connection_details: BTreeMap<String, String>,
    /// The parameters each detail is built from (a parameter change re-points it).
    pub from_parameters: BTreeMap<String, Vec<String>>,
    /// Where the model's M uses it: the service lists a source once however many tables
    /// read it, so this shows the uses behind it.
    pub used_by: Vec<SourceUseReport>,
}

/// One use of a data source.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceUseReport {
    /// The table whose partition loads the source; absent for a shared query no table uses.
    pub table: Option<String>,
    /// That partition.
    pub partition: Option<String>,
    /// The shared query (or other table) holding the call, when it is not in the
    /// partition's own M.
    pub via: Option<String>,
    /// The function that reads what the source returns, e.g. `Excel.Workbook`.
    pub wrapped_in: Option<String>,
}

/// A named expression.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpressionReport {
    /// Name.
    pub name: String,
    /// Whether it is an M parameter.
    pub parameter: bool,
    /// Its text.
    pub expression: String,
}

impl InspectReport {
    /// The report on a file read by the `pbix` crate.
    pub fn new(path: &Path, file: &Pbix) -> Self {
        let (kind, live_connection) = match &file.kind {
            Kind::Model => (FileKind::Model, None),
            Kind::Template => (FileKind::Template, None),
            Kind::ThinReport(live) => (FileKind::ThinReport, Some(live_target(live))),
        };
        InspectReport {
            schema: SCHEMA_ID.to_string(),
            file: path.display().to_string(),
            kind,
            package_version: file.package_version.clone(),
            desktop_version: file.desktop_version.clone(),
            published_dataset: file.published_dataset.clone(),
            live_connection,
            model: file.model.as_ref().map(model_report),
            unread_model: file.unread_model.clone(),
        }
    }
}

fn live_target(live: &LiveConnection) -> LiveTarget {
    match live {
        LiveConnection::PowerBiDataset { dataset, xmla, .. } => LiveTarget::PowerBiDataset {
            dataset: dataset.clone(),
            by_name: *xmla,
        },
        LiveConnection::AnalysisServices {
            server, database, ..
        } => LiveTarget::AnalysisServices {
            server: server.clone(),
            database: database.clone(),
        },
    }
}

fn model_report(model: &Model) -> ModelReport {
    let storage_mode = match model.storage_mode() {
        DatasetMode::Import => "import",
        DatasetMode::DirectQuery => "directQuery",
        DatasetMode::Composite => "composite",
    };
    let source = match model.source {
        ::pbix::ModelSource::DataModel => "dataModel",
        ::pbix::ModelSource::DataModelSchema => "dataModelSchema",
        ::pbix::ModelSource::DataMashup => "dataMashup",
    };
    ModelReport {
        source: source.into(),
        storage_mode: storage_mode.into(),
        tables: model
            .tables
            .iter()
            .map(|t| TableReport {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| PartitionReport {
                        name: p.name.clone(),
                        kind: partition_kind(p.kind).into(),
                        mode: storage(p.mode).into(),
                        query: p.query.clone(),
                    })
                    .collect(),
            })
            .collect(),
        parameters: model
            .parameters
            .iter()
            .map(|p| ParameterReport {
                name: p.name.clone(),
                param_type: p.param_type.clone(),
                current_value: p.current_value.clone(),
                required: p.required,
                allowed_values: p.allowed_values.clone(),
                description: p.description.clone(),
            })
            .collect(),
        data_sources: model
            .data_sources
            .iter()
            .enumerate()
            .map(|(i, d)| data_source(d, model.source_uses.iter().filter(|u| u.source == i)))
            .collect(),
        expressions: model
            .expressions
            .iter()
            .map(|e| ExpressionReport {
                name: e.name.clone(),
                parameter: model.parameters.iter().any(|p| p.name == e.name),
                expression: e.text.clone(),
            })
            .collect(),
        relationships: model.relationships,
    }
}

fn data_source<'a>(
    d: &::pbix::DataSource,
    uses: impl Iterator<Item = &'a ::pbix::SourceUse>,
) -> DataSourceReport {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    DataSourceReport {
        datasource_type: d.datasource_type.clone(),
        connection_details: d
            .connection_details
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect(),
        from_parameters: d
            .parameter_details
            .iter()
            .map(|(k, pieces)| {
                let names = pieces
                    .iter()
                    .filter_map(|p| match p {
                        ::pbix::DetailPiece::Param { name, .. } => Some(name.clone()),
                        ::pbix::DetailPiece::Text(_) => None,
                    })
                    .collect();
                (k.clone(), names)
            })
            .collect(),
        used_by: uses
            .map(|u| SourceUseReport {
                table: u.table.as_ref().map(|(t, _)| t.clone()),
                partition: u.table.as_ref().map(|(_, p)| p.clone()),
                via: u.via.clone(),
                wrapped_in: u.wrapped_in.clone(),
            })
            .collect(),
    }
}

fn partition_kind(kind: PartitionKind) -> &'static str {
    match kind {
        PartitionKind::M => "m",
        PartitionKind::Query => "query",
        PartitionKind::Calculated => "calculated",
        PartitionKind::PolicyRange => "policyRange",
        PartitionKind::CalculationGroup => "calculationGroup",
        PartitionKind::Other => "other",
    }
}

fn storage(mode: StorageMode) -> &'static str {
    match mode {
        StorageMode::Import => "import",
        StorageMode::DirectQuery => "directQuery",
        StorageMode::Default => "default",
        StorageMode::Push => "push",
        StorageMode::Dual => "dual",
        StorageMode::DirectLake => "directLake",
        StorageMode::Unknown => "unknown",
    }
}

/// The report as JSON (fields in declaration order).
pub fn render_json(report: &InspectReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    sanitize::json(&text)
}

/// The report for a terminal. Every string read from the file (names, M, versions, errors)
/// can come from a pull request: each passes through [`sanitize::text`], so none can move the
/// cursor, forge a line or start a GitHub workflow command.
pub fn render_text(r: &InspectReport) -> String {
    let s = sanitize::text;
    let mut out = String::new();
    let kind = match (r.kind, &r.model) {
        (FileKind::ThinReport, _) => "thin report".to_string(),
        (FileKind::Template, _) => "template (.pbit; the service does not import templates)".into(),
        (FileKind::Model, Some(m)) => format!("model, {}", mode_words(&m.storage_mode)),
        (FileKind::Model, None) => "model".into(),
    };
    let _ = writeln!(out, "{}: {kind}", s(&r.file));
    let versions = [
        ("Desktop", &r.desktop_version),
        ("package", &r.package_version),
    ];
    for (what, v) in versions {
        if let Some(v) = v {
            let _ = writeln!(out, "  {what} version: {}", s(v));
        }
    }
    if let Some(id) = &r.published_dataset {
        let _ = writeln!(out, "  last published as dataset {}", s(id));
    }
    match &r.live_connection {
        Some(LiveTarget::PowerBiDataset { dataset, by_name }) => {
            let what = if *by_name { "named" } else { "id" };
            let _ = writeln!(out, "  dataset ({what}): {}", s(dataset));
        }
        Some(LiveTarget::AnalysisServices { server, database }) => {
            let _ = writeln!(
                out,
                "  Analysis Services: server {}, database {}",
                s(server),
                s(database)
            );
        }
        None => {}
    }
    if let Some(m) = &r.model {
        model_text(&mut out, m);
    }
    if let Some(why) = &r.unread_model {
        let note = if r.model.is_some() {
            "the DataModel part could not be read; the model above comes from an older part"
        } else {
            "the model could not be read"
        };
        let _ = writeln!(out, "  note: {note}: {}", s(why));
    }
    sanitize::guard_lines(&out)
}

fn mode_words(mode: &str) -> &str {
    match mode {
        "directQuery" => "DirectQuery",
        "composite" => "composite (Import and DirectQuery)",
        _ => "Import",
    }
}

fn model_text(out: &mut String, m: &ModelReport) {
    let s = sanitize::text;
    let _ = writeln!(out, "  Tables ({}):", m.tables.len());
    for t in &m.tables {
        let parts: Vec<String> = t
            .partitions
            .iter()
            .map(|p| format!("{} {}", s(&p.kind), s(&p.mode)))
            .collect();
        let _ = writeln!(out, "    {}  [{}]", s(&t.name), parts.join(", "));
    }
    let _ = writeln!(out, "  Parameters ({}):", m.parameters.len());
    for p in &m.parameters {
        let required = if p.required { ", required" } else { "" };
        let _ = write!(
            out,
            "    {} ({}{required}) = \"{}\"",
            s(&p.name),
            s(&p.param_type),
            s(&p.current_value)
        );
        if !p.allowed_values.is_empty() {
            let allowed: Vec<String> = p.allowed_values.iter().map(|v| s(v)).collect();
            let _ = write!(out, "  allowed: {}", allowed.join(", "));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "  Data sources ({}):", m.data_sources.len());
    for d in &m.data_sources {
        let details: Vec<String> = d
            .connection_details
            .iter()
            .map(|(k, v)| format!("{}={}", s(k), s(v)))
            .collect();
        let _ = writeln!(out, "    {}  {}", s(&d.datasource_type), details.join("  "));
        uses_text(out, &d.used_by);
    }
}

/// The tables (and unloaded shared queries) behind one data source, one per line.
fn uses_text(out: &mut String, uses: &[SourceUseReport]) {
    if uses.is_empty() {
        return;
    }
    let s = sanitize::text;
    let mut tables: Vec<&str> = uses.iter().filter_map(|u| u.table.as_deref()).collect();
    tables.dedup();
    let n = tables.len();
    let _ = writeln!(
        out,
        "      used by {n} table{}:",
        if n == 1 { "" } else { "s" }
    );
    for u in uses {
        let mut line = match (&u.table, &u.via) {
            (Some(t), None) => s(t),
            (Some(t), Some(v)) => format!("{}, through `{}`", s(t), s(v)),
            (None, Some(v)) => format!("shared query `{}` (no table loads it)", s(v)),
            (None, None) => continue,
        };
        if let Some(f) = &u.wrapped_in {
            let _ = write!(line, " (read with {})", s(f));
        }
        let _ = writeln!(out, "        {line}");
    }
}

/// `schemas/inspect.schema.json`, generated from [`InspectReport`].
pub fn schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<InspectReport>();
    let mut value = schema.to_value();
    if let serde_json::Value::Object(obj) = &mut value {
        obj.insert("$id".into(), SCHEMA_ID.into());
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
