//! What changes inside Power BI Project items: each changed part's unified diff, for a
//! terminal (text) and for a pull-request comment (Markdown, one `diff` block per part).
//!
//! A reviewer reads the measure's DAX or the partition's M that changed, not the whole file;
//! a very long part diff (a regenerated layout file) is cut after [`MAX_PART_LINES`] lines so
//! one noisy part cannot push the rest of the plan out of a comment.

use std::fmt::Write as _;

use crate::plan::content::ContentDiff;
use crate::plan::model::Plan;
use crate::sanitize;

/// Lines shown of one part's diff before it is cut.
pub const MAX_PART_LINES: usize = 80;

/// The lines of `diff` to show (each escaped), and how many were left out.
fn shown_lines(diff: &str) -> (Vec<String>, usize) {
    let lines: Vec<&str> = diff.lines().collect();
    let cut = lines.len().saturating_sub(MAX_PART_LINES);
    let shown = lines
        .iter()
        .take(MAX_PART_LINES)
        // TMDL indents with tabs, which `sanitize::text` would show as `\t`.
        .map(|l| sanitize::text(&l.replace('\t', "    ")))
        .collect();
    (shown, cut)
}

/// The content section for a terminal; empty when the plan has no content diffs.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    for item in &plan.content {
        let _ = writeln!(
            out,
            "  # {}: definition changes",
            sanitize::text(&item.address.to_string())
        );
        for part in &item.parts {
            let _ = writeln!(
                out,
                "  --- {} ({})",
                sanitize::text(&part.path),
                part.status.label()
            );
            let (lines, cut) = shown_lines(&part.diff);
            for line in lines {
                let _ = writeln!(out, "    {line}");
            }
            if cut > 0 {
                let _ = writeln!(out, "    … {cut} more line(s) of this part not shown");
            }
        }
        out.push('\n');
    }
    out
}

/// The content section for Markdown within `budget` bytes of `out`'s total length; parts
/// that do not fit are counted in a closing note.
pub fn markdown(plan: &Plan, out: &mut String, budget: usize) {
    if plan.content.is_empty() {
        return;
    }
    out.push_str("#### Definition changes (Power BI Projects)\n\n");
    let mut left_out = 0;
    for item in &plan.content {
        let block = item_block(item);
        if left_out > 0 || out.len() + block.len() > budget {
            left_out += item.parts.len();
        } else {
            out.push_str(&block);
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {left_out} changed part(s) are not shown to fit the comment; run `pbideploy show PLANFILE` for all of them.\n"
        );
    }
}

fn item_block(item: &ContentDiff) -> String {
    let mut out = format!(
        "<details open><summary>{}</summary>\n\n",
        sanitize::html(&item.address.to_string())
    );
    for part in &item.parts {
        let (lines, cut) = shown_lines(&part.diff);
        let mut body = lines.join("\n");
        if cut > 0 {
            let _ = write!(body, "\n# … {cut} more line(s) of this part not shown");
        }
        let fence = sanitize::fence_for(&body);
        let _ = write!(
            out,
            "`{}` ({})\n\n{fence}diff\n{body}\n{fence}\n\n",
            sanitize::text(&part.path).replace('`', "'"),
            part.status.label()
        );
    }
    out.push_str("</details>\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::Address;
    use crate::plan::content::{PartChange, PartStatus};

    fn plan_with(diff: &str) -> Plan {
        let mut plan = crate::plan::content::empty_plan();
        plan.content.push(ContentDiff {
            address: Address::workspace("Sales").dataset("Sales"),
            parts: vec![PartChange {
                path: "definition/tables/Sales.tmdl".into(),
                status: PartStatus::Changed,
                diff: diff.into(),
            }],
        });
        plan
    }

    #[test]
    fn markdown_shows_each_part_in_a_diff_block_that_its_content_cannot_close() {
        let plan = plan_with("@@ -1 +1 @@\n-\tmeasure A = 1\n+\tmeasure A = ```2```");
        let mut out = String::new();
        markdown(&plan, &mut out, 10_000);
        let want = "````diff\n@@ -1 +1 @@\n-    measure A = 1\n+    measure A = ```2```\n````";
        assert!(out.contains(want), "{out}");
        assert!(out.contains("`definition/tables/Sales.tmdl` (changed)"));
    }

    #[test]
    fn long_parts_are_cut_and_what_does_not_fit_is_counted() {
        let long: Vec<String> = (0..200).map(|i| format!("+line {i}")).collect();
        let plan = plan_with(&long.join("\n"));
        let mut out = String::new();
        markdown(&plan, &mut out, 100_000);
        assert!(out.contains("+line 79\n# … 120 more line(s)"), "{out}");
        assert!(!out.contains("+line 80\n"));
        let mut small = String::new();
        markdown(&plan, &mut small, 100);
        assert!(small.contains("1 changed part(s) are not shown"), "{small}");
    }

    #[test]
    fn text_escapes_control_characters_in_part_content() {
        let plan = plan_with("+measure A = \"\u{1b}[31mred\"");
        let out = text(&plan);
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("definition/tables/Sales.tmdl (changed)"));
    }
}
