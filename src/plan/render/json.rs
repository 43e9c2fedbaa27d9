//! The JSON renderer: the Plan's own serialization (documented in `schemas/plan.schema.json`,
//! versioned by `format_version`) plus a `summary` object so consumers need not count.

use crate::plan::model::Plan;

use crate::sanitize;

/// The `$id` of the schema the output follows (`schemas/plan.schema.json` in the repository).
pub const JSON_SCHEMA_ID: &str = "https://github.com/pbideploy/pbideploy/schemas/plan.schema.json";

/// Why a plan could not be rendered as JSON.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// serde_json refused the plan (not expected: every key in a Plan is a string).
    #[error("could not serialize the plan as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Pretty JSON of the plan with a `summary` (`add`, `change`, `delete`) added. C1 controls and
/// bidi characters inside strings are written as `\u` escapes; the value is unchanged.
/// The output is also a valid plan file for `show`.
pub fn render_json(plan: &Plan) -> Result<String, RenderError> {
    let mut value = serde_json::to_value(plan)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("summary".to_string(), serde_json::to_value(plan.summary())?);
    }
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    Ok(sanitize::json(&text))
}
