//! The Markdown renderer for a pull-request comment (and `$GITHUB_STEP_SUMMARY`).
//!
//! Layout: the summary line and a per-workspace table first, deletions and replacements in a
//! warning block, drift, then one collapsible `<details>` per workspace holding that workspace's
//! changes as a `diff` block (GitHub colours `+`/`-` lines). GitHub refuses comments over
//! 65,536 characters, so sections that do not fit are left out and a note says which.

use std::fmt::Write as _;

use super::text::{Palette, change_block, drift_words, heading, summary_line};
use crate::plan::model::{Action, Change, Plan};
use crate::sanitize;

/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing of an open section and the truncation note.
const RESERVE: usize = 2_048;

/// Renders the plan as Markdown that fits in one GitHub comment.
pub fn render_markdown(plan: &Plan) -> String {
    render_markdown_with_limit(plan, COMMENT_LIMIT)
}

/// [`render_markdown`] with another size limit (in bytes, which is never less than characters).
pub fn render_markdown_with_limit(plan: &Plan, limit: usize) -> String {
    let budget = limit.saturating_sub(RESERVE);
    let groups = group_by_workspace(plan);
    let mut out = header(plan, &groups);
    let mut omitted = Omitted::default();
    drift_list(plan, &mut out, budget, &mut omitted);
    for group in &groups {
        workspace_section(group, &mut out, budget, &mut omitted);
    }
    super::content::markdown(plan, &mut out, budget);
    if !omitted.is_empty() {
        let _ = write!(out, "\n{}\n", omitted.note());
    }
    sanitize::guard_lines(&out)
}

/// The changes (no-ops left out) of one workspace, or of gateway items (outside any workspace).
struct Group<'a> {
    title: String,
    changes: Vec<&'a Change>,
}

impl Group<'_> {
    fn count(&self, f: impl Fn(Action) -> bool) -> usize {
        self.changes.iter().filter(|c| f(c.action)).count()
    }
    fn add(&self) -> usize {
        self.count(|a| matches!(a, Action::Create | Action::Replace))
    }
    fn change(&self) -> usize {
        self.count(|a| a == Action::Update)
    }
    fn delete(&self) -> usize {
        self.count(|a| matches!(a, Action::Delete | Action::Replace))
    }
}

fn group_by_workspace(plan: &Plan) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for change in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let title = match change.address.workspace_name() {
            Some(ws) => ws.to_string(),
            // Gateway data sources: shared by every workspace whose datasets bind to them.
            None => "(gateways)".to_string(),
        };
        match groups.iter_mut().find(|g| g.title == title) {
            Some(g) => g.changes.push(change),
            None => groups.push(Group {
                title,
                changes: vec![change],
            }),
        }
    }
    groups
}

fn header(plan: &Plan, groups: &[Group<'_>]) -> String {
    let mut out = String::from("### pbideploy plan");
    if let Some(env) = &plan.environment {
        let _ = write!(out, " for `{}`", sanitize::markdown(env).replace('`', ""));
    }
    let _ = write!(out, "\n\n**{}**\n\n", summary_line(plan));
    if !groups.is_empty() {
        out.push_str("| Workspace | Add | Change | Delete |\n|---|---:|---:|---:|\n");
        for g in groups {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                sanitize::markdown(&g.title),
                g.add(),
                g.change(),
                g.delete()
            );
        }
        out.push('\n');
    }
    let destructive: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .collect();
    if !destructive.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **{} item(s) will be destroyed or replaced:**\n>",
            destructive.len()
        );
        for c in destructive.iter().take(50) {
            let _ = writeln!(out, "> - {}", change_sentence(c));
        }
        if destructive.len() > 50 {
            let _ = writeln!(
                out,
                "> - … and {} more (see the workspace sections below)",
                destructive.len() - 50
            );
        }
        out.push('\n');
    }
    out
}

/// `` `-/+` workspace\["Sales"\]… must be replaced: reason `` for lists.
fn change_sentence(c: &Change) -> String {
    let mut s = format!(
        "`{}` {}",
        c.action.symbol(),
        heading(c, &sanitize::markdown(&c.address.to_string()))
    );
    if !c.reason.is_empty() {
        let _ = write!(s, ": {}", sanitize::markdown(&c.reason));
    }
    s
}

fn drift_list(plan: &Plan, out: &mut String, budget: usize, omitted: &mut Omitted) {
    if plan.drift.is_empty() {
        return;
    }
    out.push_str("#### Objects changed outside pbideploy\n\n");
    for d in &plan.drift {
        let mut line = format!(
            "- {} {}",
            sanitize::markdown(&d.address.to_string()),
            drift_words(d.kind)
        );
        if !d.message.is_empty() {
            let _ = write!(line, ": {}", sanitize::markdown(&d.message));
        }
        line.push('\n');
        if out.len() + line.len() > budget {
            omitted.drift += 1;
        } else {
            out.push_str(&line);
        }
    }
    out.push('\n');
}

fn workspace_section(group: &Group<'_>, out: &mut String, budget: usize, omitted: &mut Omitted) {
    let pal = Palette::new(false);
    let blocks: Vec<String> = group
        .changes
        .iter()
        .map(|c| change_block(c, &pal))
        .collect();
    let fence = sanitize::fence_for(&blocks.concat());
    let open = format!(
        "<details><summary>{}: {} to add, {} to change, {} to delete</summary>\n\n{fence}diff\n",
        sanitize::html(&group.title),
        group.add(),
        group.change(),
        group.delete()
    );
    let close = format!("{fence}\n\n</details>\n\n");
    if out.len() + open.len() + close.len() > budget {
        omitted.changes += group.changes.len();
        omitted.workspaces.push(group.title.clone());
        return;
    }
    out.push_str(&open);
    let mut left_out = 0;
    for block in &blocks {
        if left_out > 0 || out.len() + block.len() + 1 + close.len() > budget {
            left_out += 1;
        } else {
            out.push_str(block);
            out.push('\n');
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "# … {left_out} more change(s) in this workspace not shown"
        );
        omitted.changes += left_out;
        omitted.partial.push(group.title.clone());
    }
    out.push_str(&close);
}

/// What did not fit, for the truncation note.
#[derive(Default)]
struct Omitted {
    changes: usize,
    drift: usize,
    workspaces: Vec<String>,
    partial: Vec<String>,
}

impl Omitted {
    fn is_empty(&self) -> bool {
        self.changes == 0 && self.drift == 0
    }

    fn note(&self) -> String {
        let mut note = format!(
            "> [!NOTE]\n> **Output truncated** to fit GitHub's {COMMENT_LIMIT}-character comment limit: \
             {} change(s) and {} drift item(s) are not shown.",
            self.changes, self.drift
        );
        let names = |list: &[String]| {
            let shown: Vec<String> = list
                .iter()
                .take(20)
                .map(|n| sanitize::markdown(n))
                .collect();
            let more = list.len().saturating_sub(20);
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        };
        if !self.partial.is_empty() {
            let _ = write!(note, "\n> Partly shown: {}.", names(&self.partial));
        }
        if !self.workspaces.is_empty() {
            let _ = write!(note, "\n> Not shown: {}.", names(&self.workspaces));
        }
        note.push_str(
            "\n> The summary and the table above count every change. \
             Run `pbideploy show PLANFILE` for the full plan.",
        );
        note
    }
}
