//! Inline word diffs of long strings (connection strings, parameters, M queries) with `similar`.
//!
//! A reviewer comparing two 200-character connection strings side by side misses the one
//! server name that changed; stacking old over new with the changed words emphasised shows it.

use std::fmt::Write as _;
use std::time::Duration;

use similar::{DiffTag, TextDiff};

use super::text::{Palette, paint};
use crate::sanitize;

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
///
/// Lines are paired with a line diff; within each replaced block the words are compared with
/// a token diff that also splits on punctuation, so in `Data Source=srv;Initial Catalog=db`
/// only `srv` is marked when the server changes.
pub(crate) fn inline_lines(old: &str, new: &str, pal: &Palette, indent: &str) -> String {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let mut out = String::new();
    for op in diff.ops() {
        let old_block = old_lines[op.old_range()].concat();
        let new_block = new_lines[op.new_range()].concat();
        if op.tag() == DiffTag::Equal {
            let same = Side {
                sign: " ",
                style: anstyle::Style::new(),
                open: "",
                close: "",
            };
            for line in lines_of(&[(false, old_block.as_str())]) {
                emit(&mut out, indent, &same, &line, pal);
            }
            continue;
        }
        let (old_side, new_side) = word_sides(&old_block, &new_block);
        let removed = Side {
            sign: "-",
            style: pal.delete,
            open: "[-",
            close: "-]",
        };
        let added = Side {
            sign: "+",
            style: pal.create,
            open: "{+",
            close: "+}",
        };
        for line in lines_of(&old_side) {
            emit(&mut out, indent, &removed, &line, pal);
        }
        for line in lines_of(&new_side) {
            emit(&mut out, indent, &added, &line, pal);
        }
    }
    out
}

/// Upper bound on the time spent diffing one value.
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);

/// A run of text and whether it differs from the other side.
type Segment<'a> = (bool, &'a str);

/// The old and the new block as segments, changed tokens flagged.
fn word_sides<'a>(old: &'a str, new: &'a str) -> (Vec<Segment<'a>>, Vec<Segment<'a>>) {
    let old_tokens = tokens(old);
    let new_tokens = tokens(new);
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_slices(&old_tokens, &new_tokens);
    // When nothing but blanks is shared, the whole value changed: emphasis would only add noise.
    let shares_words = diff.ops().iter().any(|op| {
        op.tag() == DiffTag::Equal
            && old_tokens[op.old_range()]
                .iter()
                .any(|t| !t.trim().is_empty())
    });
    let (mut old_side, mut new_side) = (Vec::new(), Vec::new());
    for op in diff.ops() {
        let changed = shares_words && op.tag() != DiffTag::Equal;
        old_side.extend(old_tokens[op.old_range()].iter().map(|t| (changed, *t)));
        new_side.extend(new_tokens[op.new_range()].iter().map(|t| (changed, *t)));
    }
    (old_side, new_side)
}

/// Splits text into words (letters, digits and `_-.@`), runs of spaces, line breaks and
/// single punctuation characters, so connection-string keys and values are separate tokens.
fn tokens(text: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@') {
            0
        } else if c == ' ' || c == '\t' {
            1
        } else {
            2
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<u8> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if let Some(p) = prev
            && (p != k || k == 2)
        {
            out.push(&text[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Splits segments at line breaks into lines of merged segments (adjacent runs with the same
/// flag joined), dropping the line terminators.
fn lines_of(segments: &[Segment<'_>]) -> Vec<Vec<(bool, String)>> {
    if segments.iter().all(|(_, t)| t.is_empty()) {
        return Vec::new();
    }
    let mut lines = vec![Vec::new()];
    for &(changed, text) in segments {
        let mut parts = text.split('\n').peekable();
        while let Some(part) = parts.next() {
            let part = part.strip_suffix('\r').unwrap_or(part);
            let line: &mut Vec<(bool, String)> = lines.last_mut().expect("never empty");
            match line.last_mut() {
                Some((flag, acc)) if *flag == changed => acc.push_str(part),
                _ if part.is_empty() => {}
                _ => line.push((changed, part.to_string())),
            }
            if parts.peek().is_some() {
                lines.push(Vec::new());
            }
        }
    }
    if lines.len() > 1 && lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

/// How one side of a diff is drawn: its sign, colour and plain-text markers.
struct Side {
    sign: &'static str,
    style: anstyle::Style,
    open: &'static str,
    close: &'static str,
}

/// Writes one diff line: sign, then the segments, changed ones emphasised.
fn emit(out: &mut String, indent: &str, side: &Side, line: &[(bool, String)], pal: &Palette) {
    let plain = pal.emphasis == anstyle::Style::new();
    let mut text = String::new();
    for (changed, part) in line {
        let safe = sanitize::text(part);
        if *changed && !safe.trim().is_empty() && side.sign != " " {
            if plain {
                let _ = write!(text, "{}{safe}{}", side.open, side.close);
            } else {
                text.push_str(&paint(
                    pal.emphasis.fg_color(side.style.get_fg_color()),
                    &safe,
                ));
            }
        } else {
            text.push_str(&paint(side.style, &safe));
        }
    }
    let _ = writeln!(out, "{indent}{} {text}", paint(side.style, side.sign));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_the_changed_value_of_a_connection_string() {
        let pal = Palette::new(false);
        let out = inline_lines(
            "Data Source=srv-prod;Initial Catalog=sales",
            "Data Source=srv-prod-2;Initial Catalog=sales",
            &pal,
            "",
        );
        assert_eq!(
            out,
            "- Data Source=[-srv-prod-];Initial Catalog=sales\n\
             + Data Source={+srv-prod-2+};Initial Catalog=sales\n"
        );
    }

    #[test]
    fn multi_line_values_keep_unchanged_lines_and_pair_changed_ones() {
        let pal = Palette::new(false);
        let out = inline_lines("let\n  a = 1\nin\n  a", "let\n  a = 2\nin\n  a", &pal, "  ");
        assert_eq!(
            out,
            "    let\n  -   a = [-1-]\n  +   a = {+2+}\n    in\n      a\n"
        );
    }

    #[test]
    fn added_and_removed_lines_have_no_empty_counterpart() {
        let pal = Palette::new(false);
        let out = inline_lines("a\n", "a\nb\n", &pal, "");
        assert_eq!(out, "  a\n+ b\n");
        let out = inline_lines("srv-prod", "srv-test", &pal, "");
        assert_eq!(
            out, "- srv-prod\n+ srv-test\n",
            "a wholly changed value is not marked"
        );
    }

    #[test]
    fn tokens_split_words_from_punctuation() {
        assert_eq!(
            tokens("Server=db.example.com;Port=1433"),
            ["Server", "=", "db.example.com", ";", "Port", "=", "1433"]
        );
        assert_eq!(tokens("a  b"), ["a", "  ", "b"]);
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
