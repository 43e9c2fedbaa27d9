//! One module per command: each turns parsed arguments into work and a `CommandResult`.

use crate::cli::{Cli, Command};
use crate::error::{CommandError, CommandResult};

pub mod completions;
pub mod show;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CommandResult {
    match cli.command {
        Command::Completions(args) => completions::run(&args),
        Command::Validate(_) => not_built("validate"),
        Command::Plan(_) => not_built("plan"),
        Command::Apply(_) => not_built("apply"),
        Command::Show(args) => show::run(&args),
        Command::State(_) => not_built("state"),
    }
}

fn not_built(name: &str) -> CommandResult {
    Err(CommandError::internal(format!(
        "`pbideploy {name}` is not built yet in this version"
    )))
}
