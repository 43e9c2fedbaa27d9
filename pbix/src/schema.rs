//! `DataModelSchema` (TMSL `database` JSON): the model of templates and
//! of hand-written test files, read without XPress9.

use serde_json::{Map, Value};

use crate::model::{
    Column, ColumnKind, DataSource, Expression, Measure, Model, ModelSource, Partition,
    PartitionKind, StorageMode, Table,
};

/// `expression` is a string or an array of lines.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(lines) => Some(
            lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v[key].as_array().into_iter().flatten()
}

/// The model of a TMSL database document, and its `PBIDesktopVersion` annotation.
pub(crate) fn read(text_json: &str) -> Result<(Model, Option<String>), String> {
    let json: Value = serde_json::from_str(text_json).map_err(|e| format!("not JSON: {e}"))?;
    let model = json
        .get("model")
        .filter(|m| m.is_object())
        .ok_or_else(|| "no \"model\" object (expected a TMSL database)".to_string())?;
    let default_mode = model["defaultMode"].as_str().map(StorageMode::from_tmsl);
    let tables = list(model, "tables")
        .map(|t| Table {
            name: t["name"].as_str().unwrap_or_default().to_string(),
            partitions: list(t, "partitions")
                .map(|p| partition(p, default_mode))
                .collect(),
            columns: list(t, "columns").filter_map(column).collect(),
            measures: list(t, "measures")
                .map(|m| Measure {
                    name: m["name"].as_str().unwrap_or_default().to_string(),
                    expression: text(&m["expression"]).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let expressions: Vec<Expression> = list(model, "expressions")
        .filter_map(|e| {
            Some(Expression {
                name: e["name"].as_str()?.to_string(),
                is_m: e["kind"]
                    .as_str()
                    .is_none_or(|k| k.eq_ignore_ascii_case("m")),
                text: text(&e["expression"])?,
                description: e["description"].as_str().map(str::to_string),
            })
        })
        .collect();
    let desktop_version = list(model, "annotations")
        .find(|a| a["name"].as_str() == Some("PBIDesktopVersion"))
        .and_then(|a| a["value"].as_str().map(str::to_string));
    let mut out = crate::derive::model(ModelSource::DataModelSchema, tables, expressions);
    out.relationships = Some(list(model, "relationships").count());
    out.data_sources.extend(explicit_datasources(model));
    crate::derive::dedupe(&mut out.data_sources);
    Ok((out, desktop_version))
}

/// A TMSL column; `None` for the engine's `rowNumber` column.
fn column(c: &Value) -> Option<Column> {
    let kind = match c["type"].as_str() {
        Some("rowNumber") => return None,
        Some("calculated") => ColumnKind::Calculated,
        _ => ColumnKind::Data,
    };
    Some(Column {
        name: c["name"].as_str().unwrap_or_default().to_string(),
        data_type: c["dataType"].as_str().unwrap_or_default().to_string(),
        kind,
    })
}

fn partition(p: &Value, default_mode: Option<StorageMode>) -> Partition {
    let source = &p["source"];
    let kind = match source["type"].as_str().unwrap_or("m") {
        "m" => PartitionKind::M,
        "query" => PartitionKind::Query,
        "calculated" => PartitionKind::Calculated,
        "policyRange" => PartitionKind::PolicyRange,
        "calculationGroup" => PartitionKind::CalculationGroup,
        _ => PartitionKind::Other,
    };
    let mode = p["mode"]
        .as_str()
        .map_or(StorageMode::Default, StorageMode::from_tmsl)
        .resolve(default_mode);
    Partition {
        name: p["name"].as_str().unwrap_or_default().to_string(),
        kind,
        mode,
        query: text(&source["expression"]).or_else(|| text(&source["query"])),
    }
}

/// Explicit `model.dataSources[]`: structured (`connectionDetails.protocol` + `address`)
/// **[inferred]**; handy in hand-written test files.
fn explicit_datasources(model: &Value) -> Vec<DataSource> {
    let mut out = Vec::new();
    for ds in list(model, "dataSources") {
        let details = &ds["connectionDetails"];
        let address = &details["address"];
        let (kind, keys): (&str, &[&str]) = match details["protocol"].as_str() {
            Some("tds") => ("Sql", &["server", "database"]),
            Some("analysis-services") => ("AnalysisServices", &["server", "database"]),
            Some("odata") => ("OData", &["url"]),
            Some("http") => ("Web", &["url"]),
            Some("file") => ("File", &["path"]),
            _ => continue,
        };
        let mut map = Map::new();
        for k in keys {
            if let Some(v) = address[k].as_str() {
                map.insert((*k).to_string(), Value::String(v.to_string()));
            }
        }
        if !map.is_empty() {
            out.push(DataSource {
                datasource_type: kind.to_string(),
                connection_details: map,
                ..DataSource::default()
            });
        }
    }
    out
}
