//! `pbideploy completions SHELL`: prints a completion script to stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::CommandResult;

pub fn run(args: &CompletionsArgs) -> CommandResult {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "pbideploy", &mut std::io::stdout());
    Ok(0)
}
