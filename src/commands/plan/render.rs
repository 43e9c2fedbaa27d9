//! The plan command's error mapping for the renderers and saved plans that can fail (JSON,
//! plan files); text and Markdown are called directly from `crate::plan::render`.

use std::path::Path;

use crate::error::CommandError;
use crate::plan::model::Plan;
use crate::plan::{file, render};

/// The plan as JSON (schemas/plan.schema.json).
pub fn json(plan: &Plan) -> Result<String, CommandError> {
    render::render_json(plan)
        .map_err(|e| CommandError::internal(format!("cannot render the plan as JSON: {e}")))
}

/// Saves the plan for `apply FILE` (references and fingerprints only, never secret values).
pub fn save(path: &Path, plan: &Plan) -> Result<(), CommandError> {
    Ok(file::write_plan(path, plan)?)
}
