//! The terminal renderer: Terraform's symbols and wording, so release engineers read it at once.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::diff;
use crate::plan::model::{Action, AttrDiff, AttrValue, Change, ChangeKind, Drift, DriftKind, Plan};
use crate::sanitize;

/// Colours for the text renderer; all plain when colour is off.
#[derive(Clone, Copy)]
pub(crate) struct Palette {
    pub create: Style,
    pub update: Style,
    pub delete: Style,
    pub bold: Style,
    pub dim: Style,
    pub emphasis: Style,
}

impl Palette {
    pub(crate) fn new(color: bool) -> Self {
        if !color {
            let plain = Style::new();
            return Self {
                create: plain,
                update: plain,
                delete: plain,
                bold: plain,
                dim: plain,
                emphasis: plain,
            };
        }
        Self {
            create: AnsiColor::Green.on_default(),
            update: AnsiColor::Yellow.on_default(),
            delete: AnsiColor::Red.on_default(),
            bold: Style::new().bold(),
            dim: Style::new().dimmed(),
            emphasis: Style::new().bold().underline(),
        }
    }

    pub(crate) fn for_action(&self, action: Action) -> Style {
        match action {
            Action::Create => self.create,
            Action::Update | Action::Read | Action::NoOp => self.update,
            Action::Delete | Action::Replace => self.delete,
        }
    }
}

/// `text` wrapped in `style` (no escape codes at all for a plain style).
pub(crate) fn paint(style: Style, text: &str) -> String {
    if style == Style::new() {
        text.to_string()
    } else {
        format!("{style}{text}{style:#}")
    }
}

/// Renders the whole plan for a terminal. With `color` false the output holds no escape codes;
/// with it true, print through `anstream` so codes are still stripped when not on a TTY.
pub fn render_text(plan: &Plan, color: bool) -> String {
    let pal = Palette::new(color);
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&drift_section(plan, &pal));
    }
    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if plan.refresh_only {
        out.push_str(&refresh_only_footer(plan, &pal));
        return sanitize::guard_lines(&out);
    }
    if !plan.has_changes() && !shown.iter().any(|c| c.action == Action::Read) {
        let _ = writeln!(
            out,
            "{}",
            paint(pal.bold, "No changes. The service matches the manifest.")
        );
        return sanitize::guard_lines(&out);
    }
    out.push_str(&legend(plan, &pal));
    out.push_str("pbideploy will perform the following actions:\n\n");
    for change in shown {
        out.push_str(&change_block(change, &pal));
        out.push('\n');
    }
    out.push_str(&super::content::text(plan));
    out.push_str(&footer(plan, &pal));
    sanitize::guard_lines(&out)
}

fn legend(plan: &Plan, pal: &Palette) -> String {
    let mut out = String::from(
        "pbideploy compared the manifest with the service. Actions are shown with these symbols:\n",
    );
    let entries = [
        (Action::Create, "create"),
        (Action::Update, "update in-place"),
        (Action::Delete, "destroy"),
        (Action::Replace, "destroy and then create replacement"),
        (Action::Read, "read during apply"),
    ];
    for (action, words) in entries {
        if plan.changes.iter().any(|c| c.action == action) {
            let symbol = paint(pal.for_action(action), action.symbol());
            let _ = writeln!(out, "{}{symbol} {words}", pad_symbol(action));
        }
    }
    out.push('\n');
    out
}

/// Right-aligns symbols to three columns as Terraform does (`  +`, `-/+`).
fn pad_symbol(action: Action) -> &'static str {
    match action.symbol().len() {
        1 => "  ",
        2 => " ",
        _ => "",
    }
}

/// The footer line; `Plan: N to add, N to change, N to delete.`
pub(crate) fn summary_line(plan: &Plan) -> String {
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

fn footer(plan: &Plan, pal: &Palette) -> String {
    format!("{}\n", paint(pal.bold, &summary_line(plan)))
}

fn refresh_only_footer(plan: &Plan, pal: &Palette) -> String {
    let line = if plan.drift.is_empty() {
        "No changes. The service matches the ledger."
    } else {
        "Refresh-only plan: the drift above was found; nothing else will change."
    };
    format!("{}\n", paint(pal.bold, line))
}

/// The wording after the address in a change header.
pub(crate) fn action_words(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
        Action::Replace => "must be replaced",
        Action::Read => "will be read during apply",
        Action::NoOp => "is unchanged",
    }
}

/// One change as Terraform prints a resource: header comment, reason, then the block.
pub(crate) fn change_block(change: &Change, pal: &Palette) -> String {
    let style = pal.for_action(change.action);
    let address = sanitize::text(&change.address.to_string());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {}",
        paint(pal.bold, &format!("# {}", heading(change, &address)))
    );
    if !change.reason.is_empty() {
        let _ = writeln!(out, "  # ({})", sanitize::text(&change.reason));
    }
    let symbol = paint(style, change.action.symbol());
    let pad = pad_symbol(change.action);
    let label = block_label(change);
    // A change with no attributes (a refresh that will run) is one line, not an empty block.
    if change.attrs.is_empty() {
        let _ = writeln!(out, "{pad}{symbol} {label}");
        return out;
    }
    let _ = writeln!(out, "{pad}{symbol} {label} {{");
    out.push_str(&attr_lines(&change.attrs, pal, "      "));
    out.push_str("    }\n");
    out
}

/// `ADDRESS will be updated in-place`; a refresh is an action, not a setting, so it reads
/// `ADDRESS: a refresh will run`. `address` is already made safe for the output.
pub(crate) fn heading(change: &Change, address: &str) -> String {
    match change.kind {
        ChangeKind::Refresh => format!("{address}: a refresh will run"),
        _ => format!("{address} {}", action_words(change.action)),
    }
}

/// `dataset "Sales Model"`, or `parameters` for singleton children.
fn block_label(change: &Change) -> String {
    let kind = change.kind.label();
    match change
        .address
        .segments
        .last()
        .and_then(|s| s.key.as_deref())
    {
        Some(key) => format!("{kind} \"{}\"", escape_quotes(&sanitize::text(key))),
        None => kind.to_string(),
    }
}

fn escape_quotes(s: &str) -> String {
    s.replace('"', "\\\"")
}

/// Attribute lines with `=` aligned; unchanged attributes folded into a count.
pub(crate) fn attr_lines(attrs: &[AttrDiff], pal: &Palette, indent: &str) -> String {
    let shown: Vec<&AttrDiff> = attrs.iter().filter(|a| !a.is_unchanged()).collect();
    let hidden = attrs.len() - shown.len();
    let width = shown
        .iter()
        .map(|a| sanitize::text(&a.name).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for attr in shown {
        out.push_str(&attr_line(attr, pal, indent, width));
    }
    if hidden > 0 {
        let noun = if hidden == 1 {
            "attribute"
        } else {
            "attributes"
        };
        let _ = writeln!(
            out,
            "{indent}  {}",
            paint(pal.dim, &format!("# ({hidden} unchanged {noun} hidden)"))
        );
    }
    out
}

fn attr_line(attr: &AttrDiff, pal: &Palette, indent: &str, width: usize) -> String {
    let (symbol, style) = match (&attr.before, &attr.after) {
        (None, _) => ("+", pal.create),
        (Some(_), None) => ("-", pal.delete),
        _ => ("~", pal.update),
    };
    let name = sanitize::text(&attr.name);
    let pad = " ".repeat(width.saturating_sub(name.chars().count()));
    let note = attr
        .note
        .as_deref()
        .map(|n| format!(" {}", paint(pal.dim, &format!("# {}", sanitize::text(n)))))
        .unwrap_or_default();
    let head = format!("{indent}{} {name}{pad} = ", paint(style, symbol));
    if !attr.sensitive
        && let (
            Some(AttrValue::Value(serde_json::Value::String(old))),
            Some(AttrValue::Value(serde_json::Value::String(new))),
        ) = (&attr.before, &attr.after)
        && diff::wants_inline_diff(&attr.name, old, new)
    {
        let mut out = format!("{head}<<-DIFF{note}\n");
        out.push_str(&diff::inline_lines(
            old,
            new,
            pal,
            &format!("{indent}      "),
        ));
        let _ = writeln!(out, "{indent}    DIFF");
        return out;
    }
    let value = match (&attr.before, &attr.after) {
        (None, Some(after)) => value_text(after, attr.sensitive),
        (Some(before), None) => format!("{} -> null", value_text(before, attr.sensitive)),
        (Some(before), Some(after)) => format!(
            "{} -> {}",
            value_text(before, attr.sensitive),
            value_text(after, attr.sensitive)
        ),
        (None, None) => "(known after apply)".to_string(),
    };
    format!("{head}{value}{note}\n")
}

/// A value as Terraform shows it, with user text sanitized; sensitive ones never shown.
pub(crate) fn value_text(value: &AttrValue, sensitive: bool) -> String {
    match value {
        AttrValue::Value(_) if sensitive => "(sensitive value)".to_string(),
        AttrValue::Value(serde_json::Value::String(s)) => {
            format!("\"{}\"", escape_quotes(&sanitize::text(s)))
        }
        AttrValue::Value(v) => sanitize::text(&v.to_string()),
        AttrValue::Sensitive => "(sensitive value)".to_string(),
        AttrValue::KnownAfterApply => "(known after apply)".to_string(),
        AttrValue::NotChecked => "(not checked)".to_string(),
    }
}

/// A short human phrase for a drift kind, used in headers.
pub(crate) fn drift_words(kind: DriftKind) -> &'static str {
    match kind {
        DriftKind::DeletedInService => "was deleted in the service",
        DriftKind::RepublishedOutside => "was re-published outside pbideploy",
        DriftKind::NotTracked => "is not tracked by the ledger",
        DriftKind::CredentialFailing => "has failing credentials",
        DriftKind::CredentialNotChecked => "has credentials that were not checked",
        DriftKind::OwnerChanged => "has a new owner",
        DriftKind::SettingsChangedOutside => "has settings changed outside pbideploy",
        DriftKind::ReboundOutside => "was rebound outside pbideploy",
        DriftKind::Duplicate => "has duplicates in the service",
        DriftKind::Orphaned => "is no longer in the manifest (kept: prune is off)",
        DriftKind::Note => "has a note",
    }
}

fn drift_section(plan: &Plan, pal: &Palette) -> String {
    let mut out = format!(
        "{}\n\n",
        paint(pal.bold, "Note: Objects have changed outside of pbideploy")
    );
    out.push_str(
        "pbideploy found these differences between its ledger and the service, and notes for the reviewer:\n\n",
    );
    for drift in &plan.drift {
        out.push_str(&drift_block(drift, pal));
        out.push('\n');
    }
    if !plan.refresh_only {
        out.push_str(
            "The changes below take these findings into account.\n\n─────────────────────────────────────────────────────────────────────────────\n\n",
        );
    }
    out
}

pub(crate) fn drift_block(drift: &Drift, pal: &Palette) -> String {
    let mut out = String::new();
    let address = sanitize::text(&drift.address.to_string());
    let _ = writeln!(
        out,
        "  {}",
        paint(
            pal.bold,
            &format!("# {address} {}", drift_words(drift.kind))
        )
    );
    if !drift.message.is_empty() {
        let _ = writeln!(out, "  # ({})", sanitize::text(&drift.message));
    }
    out.push_str(&attr_lines(&drift.attrs, pal, "    "));
    out
}
