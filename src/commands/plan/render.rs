//! The plan command's output seam: text, Markdown, JSON and the saved plan file. Interim
//! renderers until the `render` branch's `plan::render` and `plan::file` are merged; then
//! these functions only forward to them.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::CommandError;
use crate::plan::model::{Action, AttrDiff, Plan};

fn attr_line(a: &AttrDiff) -> String {
    let show = |v: &Option<crate::plan::model::AttrValue>| {
        v.as_ref()
            .map(|v| v.display())
            .unwrap_or_else(|| "null".into())
    };
    if a.is_unchanged() {
        return format!("{} = {}", a.name, show(&a.after));
    }
    match (&a.before, &a.after) {
        (None, _) => format!("+ {} = {}", a.name, show(&a.after)),
        (_, None) => format!("- {} = {}", a.name, show(&a.before)),
        _ => format!("~ {} = {} -> {}", a.name, show(&a.before), show(&a.after)),
    }
}

fn footer(plan: &Plan) -> String {
    let s = plan.summary();
    if s.is_empty() {
        "No changes. The service matches the manifest.".to_string()
    } else {
        format!(
            "Plan: {} to add, {} to change, {} to delete.",
            s.add, s.change, s.delete
        )
    }
}

/// Terraform-style text (colour when `color`).
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = |action: Action, s: &str| -> String {
        if !color {
            return s.to_string();
        }
        let code = match action {
            Action::Create => "32",
            Action::Delete => "31",
            Action::Update | Action::Replace => "33",
            _ => "0",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    };
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str("Drift and notes:\n");
        for d in &plan.drift {
            let _ = writeln!(out, "  ! {}: {}", d.address, d.message);
        }
        out.push('\n');
    }
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .collect();
    if !changes.is_empty() {
        out.push_str("pbideploy will perform the following actions:\n\n");
        for c in changes {
            let _ = writeln!(out, "  # {} ({})", c.address, c.reason);
            let _ = writeln!(
                out,
                "  {} {}",
                paint(c.action, c.action.symbol()),
                c.address
            );
            for a in c.attrs.iter().filter(|a| !a.is_unchanged()) {
                let _ = writeln!(out, "      {}", attr_line(a));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{}", footer(plan));
    out
}

/// Markdown for a pull-request comment or a job summary.
pub fn markdown(plan: &Plan) -> String {
    let mut out = format!("### pbideploy plan\n\n**{}**\n\n", footer(plan));
    for c in plan.changes.iter().filter(|c| c.action.is_change()) {
        let _ = writeln!(
            out,
            "- `{}` `{}`: {}",
            c.action.symbol(),
            c.address,
            c.reason
        );
    }
    for d in &plan.drift {
        let _ = writeln!(out, "- drift `{}`: {}", d.address, d.message);
    }
    out
}

/// The plan as JSON.
pub fn json(plan: &Plan) -> Result<String, CommandError> {
    serde_json::to_string_pretty(plan)
        .map_err(|e| CommandError::internal(format!("cannot serialise the plan: {e}")))
}

/// Saves the plan for `apply FILE` (references and fingerprints only, never secret values).
pub fn save(path: &Path, plan: &Plan) -> Result<(), CommandError> {
    let text = json(plan)?;
    std::fs::write(path, text).map_err(|e| {
        CommandError::user(format!("cannot write the plan to {}: {e}", path.display()))
    })
}
