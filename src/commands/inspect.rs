//! `pbideploy inspect FILE.pbix [--format text|json]`: what the service will see in a PBIX
//! before it is deployed, read offline with bounded reads.

use crate::cli::{InspectArgs, InspectFormat};
use crate::error::{CommandError, CommandResult};
use crate::inspect::{InspectReport, render_json, render_text};

/// Reads the file and prints the report; exit 1 with the reason when the file is refused.
pub fn run(args: &InspectArgs) -> CommandResult {
    let file = ::pbix::Pbix::open(&args.file).map_err(|e| {
        CommandError::user(format!("{}: {e}", args.file.display()))
            .hinted("inspect reads .pbix and .pbit files saved by Power BI Desktop")
    })?;
    let report = InspectReport::new(&args.file, &file);
    let output = match args.format {
        InspectFormat::Text => render_text(&report),
        InspectFormat::Json => render_json(&report),
    };
    super::print(&output)?;
    Ok(0)
}
