//! `pbideploy show FILE [--format text|markdown|json]`: render a saved plan.
//!
//! Reviewers and pipelines render the exact plan `apply FILE` will execute, in the format they
//! need (a PR comment, a terminal, a machine), without touching the service.

use crate::cli::{PlanFormat, ShowArgs};
use crate::error::{CommandError, CommandResult};
use crate::plan::file::read_plan;
use crate::plan::render::{render_json, render_markdown, render_text};

/// Reads the plan file and prints it to stdout.
pub fn run(args: &ShowArgs) -> CommandResult {
    let plan = read_plan(&args.file)?;
    let output = match args.format {
        PlanFormat::Text => {
            let color =
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
            render_text(&plan, color)
        }
        PlanFormat::Markdown => render_markdown(&plan),
        PlanFormat::Json => render_json(&plan)
            .map_err(|e| CommandError::internal(format!("{}: {e}", args.file.display())))?,
    };
    super::print(&output)?;
    Ok(0)
}
