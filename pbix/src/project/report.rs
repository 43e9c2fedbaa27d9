//! A report's `definition.pbir`: which semantic model it uses, and its rewrite to the
//! deployed model before upload. Desktop writes `byPath` (a folder beside the report); the
//! Fabric API accepts only `byConnection` (Fabric REST API, report definition): the schema 2.0.0 form
//! `{"connectionString": "semanticmodelid=<id>"}`, or for files declaring the 1.0.0 schema
//! the older object form naming the model in `pbiModelDatabaseName`.

use serde_json::Value;

use super::error::{ProjectError, json};
use super::{Definition, ItemKind, Part};

/// The part that binds a report to its model.
pub(crate) const PBIR: &str = "definition.pbir";

/// The `$schema` of the byConnection form written for every file not declaring 1.0.0.
const SCHEMA_2: &str = "https://developer.microsoft.com/json-schemas/fabric/item/report/definitionProperties/2.0.0/schema.json";

/// Where a report's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportBinding {
    /// `byPath`: a semantic model folder relative to the report folder (`../Sales.SemanticModel`).
    ByPath(String),
    /// `byConnection`: a deployed semantic model.
    ByConnection {
        /// The model's id (`semanticmodelid=` of the connection string, or
        /// `pbiModelDatabaseName` of the 1.0 form), when given.
        model_id: Option<String>,
        /// `initial catalog` of the connection string (the model's name), when given.
        model_name: Option<String>,
        /// The connection string as written, when there is one.
        connection_string: Option<String>,
    },
}

/// The binding `definition.pbir` declares.
pub fn report_binding(def: &Definition) -> Result<ReportBinding, ProjectError> {
    let pbir = pbir(def)?;
    let reference = &pbir["datasetReference"];
    if let Some(path) = reference["byPath"]["path"].as_str() {
        return Ok(ReportBinding::ByPath(path.to_string()));
    }
    let conn = &reference["byConnection"];
    if conn.is_object() {
        let connection_string = conn["connectionString"].as_str().map(str::to_string);
        let field = |key: &str| {
            connection_string
                .as_deref()
                .and_then(|c| connection_field(c, key))
        };
        let model_id = field("semanticmodelid").or_else(|| {
            conn["pbiModelDatabaseName"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        });
        return Ok(ReportBinding::ByConnection {
            model_id,
            model_name: field("initial catalog"),
            connection_string,
        });
    }
    Err(ProjectError::invalid(
        PBIR,
        "\"datasetReference\" has neither \"byPath\" {\"path\": ...} nor \"byConnection\"; point the report at its semantic model folder: {\"byPath\": {\"path\": \"../Sales.SemanticModel\"}}",
    ))
}

/// The definition with `definition.pbir` bound `byConnection` to model `model_id` (the
/// deployed model's Fabric item id): the 2.0.0 form, or the 1.0 object form for files that
/// declare the 1.0.0 schema. Other parts are unchanged; binding twice gives the same bytes.
pub fn bind_report(def: &Definition, model_id: &str) -> Result<Definition, ProjectError> {
    if model_id.is_empty()
        || !model_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ProjectError::InvalidArgument(format!(
            "`{model_id}` is not a semantic model id (letters, digits and `-`, as in a GUID)"
        )));
    }
    let pbir = pbir(def)?;
    let schema = pbir["$schema"].as_str();
    let version = pbir["version"].as_str().unwrap_or("4.0");
    let legacy = schema.is_some_and(|s| s.contains("/1.0.0/"));
    let quoted = |s: &str| Value::String(s.to_string()).to_string();
    let text = if legacy {
        let schema_line = schema.map_or(String::new(), |s| {
            format!("  \"$schema\": {},\n", quoted(s))
        });
        format!(
            "{{\n{schema_line}  \"version\": {},\n  \"datasetReference\": {{\n    \"byPath\": null,\n    \"byConnection\": {{\n      \"connectionString\": null,\n      \"pbiServiceModelId\": null,\n      \"pbiModelVirtualServerName\": \"sobe_wowvirtualserver\",\n      \"pbiModelDatabaseName\": {},\n      \"name\": \"EntityDataSource\",\n      \"connectionType\": \"pbiServiceXmlaStyleLive\"\n    }}\n  }}\n}}\n",
            quoted(version),
            quoted(model_id)
        )
    } else {
        format!(
            "{{\n  \"$schema\": {},\n  \"version\": {},\n  \"datasetReference\": {{\n    \"byConnection\": {{\n      \"connectionString\": {}\n    }}\n  }}\n}}\n",
            quoted(SCHEMA_2),
            quoted(version),
            quoted(&format!("semanticmodelid={model_id}"))
        )
    };
    let mut out = def.clone();
    for p in &mut out.parts {
        if p.path == PBIR {
            *p = Part {
                path: PBIR.to_string(),
                bytes: text.into_bytes(),
            };
            break;
        }
    }
    Ok(out)
}

/// The parsed `definition.pbir` of a report.
fn pbir(def: &Definition) -> Result<Value, ProjectError> {
    if def.kind != ItemKind::Report {
        return Err(ProjectError::WrongKind(
            "this is a semantic model definition, not a report; give the `*.Report` folder".into(),
        ));
    }
    let part = def.part(PBIR).ok_or_else(|| ProjectError::Parts {
        message: "the report has no `definition.pbir`".into(),
    })?;
    let value = json(PBIR, &part.bytes)?;
    if !value.is_object() {
        return Err(ProjectError::invalid(
            PBIR,
            "the top level is not a JSON object",
        ));
    }
    Ok(value)
}

/// The value of `key` (case-insensitive) in a `key=value;key=value` connection string.
fn connection_field(conn: &str, key: &str) -> Option<String> {
    conn.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key) && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}
