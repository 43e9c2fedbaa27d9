//! Helpers every command that reads a manifest or the service shares: the runtime, manifest
//! loading with diagnostics, `--target` parsing, the clock. (Error conversions are in
//! [`super::errors`].)

use std::io::Write;

use crate::diagnostics::Diagnostics;
use crate::domain::address::Address;
use crate::error::{CommandError, ErrorKind};
use crate::manifest::{self, LoadedManifest};

/// A multi-threaded runtime for one command (reads run concurrently).
pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CommandError::internal(format!("cannot start the async runtime: {e}")))
}

/// Loads the manifest; on failure prints the diagnostics as `validate` does and exits 1.
pub fn load_manifest(args: &crate::cli::ManifestArgs) -> Result<LoadedManifest, CommandError> {
    let vars = &args.vars;
    manifest::load(&args.file, args.env.as_deref(), vars).map_err(|diags| {
        print_diagnostics(&diags);
        CommandError::reported(ErrorKind::User)
    })
}

fn print_diagnostics(diags: &Diagnostics) {
    let styled = anstream::stderr().current_choice() != anstream::ColorChoice::Never;
    let _ = write!(anstream::stderr(), "{}", diags.render(styled));
}

/// Parses `--target` addresses.
pub fn parse_targets(raw: &[String]) -> Result<Vec<Address>, CommandError> {
    raw.iter()
        .map(|t| {
            t.parse::<Address>().map_err(|e| {
                CommandError::user(format!("invalid --target `{t}`: {e}"))
                    .hinted("addresses look like workspace[\"Sales\"].dataset[\"Sales Model\"]")
            })
        })
        .collect()
}

/// RFC 3339 UTC time now (the planner reads no clock).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_time_is_well_formed() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20"));
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn bad_targets_are_user_errors() {
        assert!(parse_targets(&["workspace[\"A\"]".into()]).is_ok());
        let err = parse_targets(&["not an address".into()]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::User);
    }
}
