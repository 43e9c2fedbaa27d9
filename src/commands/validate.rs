//! `pbideploy validate`: load the manifest for one environment (or each declared environment
//! when `--env` is not given) and report every problem, without contacting the service.

use std::io::Write;

use crate::cli::{DiagnosticFormat, ValidateArgs};
use crate::diagnostics::Diagnostics;
use crate::error::{CommandError, CommandResult, ErrorKind};
use crate::manifest::Document;

/// Splits `--var name=value` flags.
/// Runs the command: exit 0 when valid, 1 when not.
pub fn run(args: &ValidateArgs) -> CommandResult {
    let vars = &args.manifest.vars;
    let file = &args.manifest.file;
    let doc = match Document::read(file) {
        Ok(doc) => doc,
        Err(diags) => {
            report(&diags, args.format)?;
            return Err(CommandError::reported(ErrorKind::User));
        }
    };
    let envs: Vec<Option<String>> = match &args.manifest.env {
        Some(env) => vec![Some(env.clone())],
        None => {
            let names = doc.environment_names();
            if names.is_empty() {
                vec![None]
            } else {
                names.into_iter().map(Some).collect()
            }
        }
    };
    let mut failed: Option<Diagnostics> = None;
    let mut counts = None;
    let several = envs.len() > 1;
    doc.resolve_each(&envs, vars, |env, result| match result {
        Ok(m) => {
            counts = Some(m.counts());
            crate::manifest::drop_in_background(m);
        }
        Err(mut diags) => {
            if several && let Some(name) = env {
                for d in &mut diags.items {
                    d.message = format!("{} (environment `{name}`)", d.message);
                }
            }
            match &mut failed {
                Some(all) => all.items.extend(diags.items),
                None => failed = Some(diags),
            }
        }
    });
    match failed {
        Some(mut diags) => {
            diags.sort();
            report(&diags, args.format)?;
            Err(CommandError::reported(ErrorKind::User))
        }
        None => {
            let (w, d, r) = counts.unwrap_or_default();
            let env_note = match envs.as_slice() {
                [Some(one)] => format!(" (environment {one})"),
                [None] => String::new(),
                many => format!(" ({} environments)", many.len()),
            };
            let summary = format!(
                "{} is valid{env_note}: {w} workspace{}, {d} dataset{}, {r} report{}.",
                file.display(),
                plural(w),
                plural(d),
                plural(r)
            );
            let mut out = anstream::stdout();
            let written = match args.format {
                DiagnosticFormat::Text => writeln!(out, "{summary}"),
                DiagnosticFormat::Json => writeln!(out, "[]"),
            };
            written.map_err(CommandError::stdout)?;
            Ok(0)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn report(diags: &Diagnostics, format: DiagnosticFormat) -> Result<(), CommandError> {
    let result = match format {
        DiagnosticFormat::Json => {
            let text =
                serde_json::to_string_pretty(&diags.to_json()).unwrap_or_else(|_| "[]".into());
            // serde escapes C0 controls; C1 controls and bidi overrides in names are escaped too.
            writeln!(anstream::stdout(), "{}", crate::sanitize::json(&text))
        }
        DiagnosticFormat::Text => {
            let styled = anstream::stderr().current_choice() != anstream::ColorChoice::Never;
            write!(anstream::stderr(), "{}", diags.render(styled))
        }
    };
    result.map_err(|e| CommandError::write_failed("diagnostics", e))
}
