//! Logging setup: tracing to stderr, filtered by `-v`/`-q` or `PBIDEPLOY_LOG`. Stdout is for
//! results only.

use tracing_subscriber::EnvFilter;

use crate::env_vars::{self, ProcessEnv, VarSource};

/// Installs the global subscriber: `-q` count `quiet`, `-v` count `verbose`, JSON lines when
/// `json`. Safe to call once per process.
pub fn init(quiet: u8, verbose: u8, json: bool) {
    let default = match (quiet, verbose) {
        (q, _) if q > 0 => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = ProcessEnv
        .var(env_vars::PBIDEPLOY_LOG)
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| GuardedStderr)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(
                anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never,
            )
            .try_init()
    };
}

/// Stderr for log records. Log fields carry names from the manifest and the service; a name
/// holding a newline could put `::add-mask::` or `::set-output` at the start of a line, which
/// the GitHub Actions runner would execute. Each record's lines are guarded before writing.
struct GuardedStderr;

impl std::io::Write for GuardedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let guarded = crate::sanitize::guard_lines(&text);
        std::io::stderr().write_all(guarded.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
