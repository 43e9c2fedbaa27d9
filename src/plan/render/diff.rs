//! Inline word diffs of long strings (connection strings, parameters, M queries) with `similar`.
//!
//! A reviewer comparing two 200-character connection strings side by side misses the one
//! server name that changed; stacking old over new with the changed words emphasised shows it.

use std::fmt::Write as _;
use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use super::sanitize;
use super::text::{Palette, paint};

/// Strings longer than this are always shown as a diff.
const LONG_STRING: usize = 60;

/// True when an attribute's change is best read as a diff: connection strings, parameters,
/// multi-line or long values.
pub(crate) fn wants_inline_diff(name: &str, old: &str, new: &str) -> bool {
    if old == new {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    lower.contains("connection")
        || lower.starts_with("parameter")
        || old.contains('\n')
        || new.contains('\n')
        || old.chars().count() > LONG_STRING
        || new.chars().count() > LONG_STRING
}

/// Lines `- old` / `+ new` (and `  same` for unchanged lines of multi-line values), each
/// prefixed by `indent`. Changed words are emphasised with colour, or without colour marked
/// git-style as `[-removed-]` and `{+added+}`.
pub(crate) fn inline_lines(old: &str, new: &str, pal: &Palette, indent: &str) -> String {
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(200))
        .diff_lines(old, new);
    let plain = pal.emphasis == anstyle::Style::new();
    let mut out = String::new();
    for change in diff.iter_all_inline_changes() {
        let (sign, style, open, close) = match change.tag() {
            ChangeTag::Delete => ("-", pal.delete, "[-", "-]"),
            ChangeTag::Insert => ("+", pal.create, "{+", "+}"),
            ChangeTag::Equal => (" ", anstyle::Style::new(), "", ""),
        };
        let mut line = String::new();
        for (emphasised, part) in change.iter_strings_lossy() {
            let part = part.strip_suffix('\n').unwrap_or(&part);
            let part = part.strip_suffix('\r').unwrap_or(part);
            let safe = sanitize::text(part);
            if emphasised && !safe.is_empty() && change.tag() != ChangeTag::Equal {
                if plain {
                    let _ = write!(line, "{open}{safe}{close}");
                } else {
                    line.push_str(&paint(pal.emphasis.fg_color(style.get_fg_color()), &safe));
                }
            } else {
                line.push_str(&paint(style, &safe));
            }
        }
        let _ = writeln!(out, "{indent}{} {line}", paint(style, sign));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_the_changed_words_without_colour() {
        let pal = Palette::new(false);
        let out = inline_lines(
            "Data Source=srv-prod;Initial Catalog=sales",
            "Data Source=srv-prod-2;Initial Catalog=sales",
            &pal,
            "",
        );
        assert!(out.starts_with("- Data Source="), "{out}");
        assert!(out.contains("{+"), "{out}");
        assert!(out.contains(";Initial Catalog=sales\n"), "{out}");
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn chooses_diffs_for_connection_strings_and_long_values() {
        assert!(wants_inline_diff("connection_string", "a", "b"));
        assert!(wants_inline_diff("parameter.Server", "a", "b"));
        assert!(wants_inline_diff("query", "a\nb", "a\nc"));
        assert!(!wants_inline_diff("capacity", "A1", "P1"));
        assert!(!wants_inline_diff("connection_string", "same", "same"));
    }
}
