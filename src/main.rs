//! Entry point: parse the command line, run it, map errors to exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use pbideploy::cli::{Cli, ColorWhen, LogFormat};

/// mimalloc: loading a manifest is allocation-bound (a JSON value and a typed model of every
/// item), and the system allocator was markedly slower on large manifests; upload memory is
/// unaffected. `benches/local_work.rs` and `benches/upload_memory.rs` measure both.
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
    let g = &cli.global;
    pbideploy::logging::init(g.quiet, g.verbose, g.log_format == LogFormat::Json);
    let verbose = cli.global.verbose > 0;
    match pbideploy::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if !err.already_reported {
                let mut stderr = anstream::stderr();
                // Messages quote names from the manifest and the service: escaped.
                let text = pbideploy::sanitize::text;
                let _ = writeln!(stderr, "error: {}", text(&err.message));
                if verbose {
                    for cause in err.causes() {
                        let _ = writeln!(stderr, "caused by: {}", text(&cause));
                    }
                }
                for hint in &err.hints {
                    let _ = writeln!(stderr, "hint: {}", text(hint));
                }
            }
            ExitCode::from(err.exit_code())
        }
    }
}
