//! Entry point: parse the command line, run it, map errors to exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use pbideploy::cli::{Cli, ColorWhen};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let choice = match cli.global.color {
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto => anstream::ColorChoice::Auto,
    };
    choice.write_global();
    pbideploy::logging::init(&cli.global);
    match pbideploy::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if !err.already_reported {
                let mut stderr = anstream::stderr();
                // Messages quote names from the manifest and the service: escaped.
                let text = pbideploy::plan::render::sanitize::text;
                let _ = writeln!(stderr, "error: {}", text(&err.message));
                for hint in &err.hints {
                    let _ = writeln!(stderr, "hint: {}", text(hint));
                }
            }
            ExitCode::from(err.exit_code())
        }
    }
}
