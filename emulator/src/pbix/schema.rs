//! `DataModelSchema` (TMSL `database` JSON, §5): M from `model.expressions[]` and the
//! M partitions of `model.tables[]`, plus explicit `model.dataSources[]` (handy in
//! hand-written test files).

use serde_json::{Map, Value};

use super::PbixDatasource;
use super::mashup::{self, Query};

/// `expression` is a string or an array of lines.
fn expression_text(v: &Value) -> Option<String> {
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

fn model(text: &str) -> Result<Value, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    json.get("model")
        .cloned()
        .ok_or_else(|| "no \"model\" object (expected a TMSL database)".to_string())
}

/// The model's M expressions (parameters, helper queries) and M partition sources.
pub(crate) fn queries(text: &str) -> Result<Vec<Query>, String> {
    let model = model(text)?;
    let mut out = Vec::new();
    for e in model["expressions"].as_array().into_iter().flatten() {
        let kind = e["kind"].as_str().unwrap_or("m");
        if let (Some(name), Some(expr), "m") =
            (e["name"].as_str(), expression_text(&e["expression"]), kind)
        {
            out.push(mashup::parse_expression(name, &expr));
        }
    }
    for t in model["tables"].as_array().into_iter().flatten() {
        let table = t["name"].as_str().unwrap_or("table");
        for p in t["partitions"].as_array().into_iter().flatten() {
            let source = &p["source"];
            if source["type"].as_str() == Some("m")
                && let Some(expr) = expression_text(&source["expression"])
            {
                let name = format!("{table}/{}", p["name"].as_str().unwrap_or(""));
                out.push(mashup::parse_expression(&name, &expr));
            }
        }
    }
    Ok(out)
}

/// Whether any table is held in DirectQuery: a partition's `mode`, or the model's
/// `defaultMode` for partitions that set none (TMSL; `dual` counts as import here, a guess).
pub(crate) fn is_direct_query(text: &str) -> bool {
    let Ok(model) = model(text) else {
        return false;
    };
    let default_dq = model["defaultMode"].as_str() == Some("directQuery");
    let mut partitions = model["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["partitions"].as_array().into_iter().flatten());
    partitions.any(|p| match p["mode"].as_str() {
        Some(m) => m == "directQuery",
        None => default_dq,
    })
}

/// Explicit `model.dataSources[]`: structured (`connectionDetails.protocol` + `address`)
/// or provider (`connectionString` with Data Source / Initial Catalog) **[inferred]**.
pub(crate) fn explicit_datasources(text: &str) -> Result<Vec<PbixDatasource>, String> {
    let model = model(text)?;
    let mut out = Vec::new();
    for ds in model["dataSources"].as_array().into_iter().flatten() {
        let details = &ds["connectionDetails"];
        let address = &details["address"];
        let field = |k: &str| address[k].as_str().map(|s| Value::String(s.to_string()));
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
            if let Some(v) = field(k) {
                map.insert((*k).to_string(), v);
            }
        }
        if !map.is_empty() {
            out.push(PbixDatasource {
                datasource_type: kind.to_string(),
                connection_details: map,
                ..PbixDatasource::default()
            });
        }
    }
    Ok(out)
}
