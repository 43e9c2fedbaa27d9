//! The plan command's output seam: forwards to `plan::render` (text, Markdown, JSON) and
//! `plan::file` (saved plans), mapping their errors to command errors.

use std::path::Path;

use crate::error::CommandError;
use crate::plan::model::Plan;
use crate::plan::{file, render};

/// Terraform-style text (colour codes when `color`; print through `anstream`).
pub fn text(plan: &Plan, color: bool) -> String {
    render::render_text(plan, color)
}

/// Markdown for a pull-request comment or a job summary.
pub fn markdown(plan: &Plan) -> String {
    render::render_markdown(plan)
}

/// The plan as JSON (schemas/plan.schema.json).
pub fn json(plan: &Plan) -> Result<String, CommandError> {
    render::render_json(plan)
        .map_err(|e| CommandError::internal(format!("cannot render the plan as JSON: {e}")))
}

/// Saves the plan for `apply FILE` (references and fingerprints only, never secret values).
pub fn save(path: &Path, plan: &Plan) -> Result<(), CommandError> {
    file::write_plan(path, plan).map_err(|e| CommandError::user(e.to_string()))
}
