//! One module per command: each turns parsed arguments into work and a `CommandResult`.

use std::io::Write as _;

use crate::cli::{Cli, Command};
use crate::error::{CommandError, CommandResult};

pub mod apply;
pub mod completions;
pub mod errors;
pub mod init;
pub mod inspect;
pub mod plan;
pub mod shared;
pub mod show;
pub mod state;
pub mod validate;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CommandResult {
    match cli.command {
        Command::Completions(args) => completions::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Init(args) => init::run(&args),
        Command::State(cmd) => state::run(&cmd),
    }
}

/// Writes a command's whole output to stdout (colour handled by `anstream`).
pub(crate) fn print(output: &str) -> Result<(), CommandError> {
    let mut stdout = anstream::stdout();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(CommandError::stdout)
}
