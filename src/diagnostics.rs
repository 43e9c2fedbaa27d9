//! Manifest diagnostics: a stable code, a message, a position and a fix hint, rendered as
//! `FILE:LINE:COL` with a source snippet (annotate-snippets) or as JSON for tools.

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::sanitize;

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable identifier, e.g. `unknown-field`; tools and docs key on it.
    pub code: &'static str,
    pub message: String,
    /// 1-based; 0 when the problem has no position (for example an unreadable file).
    pub line: u64,
    pub column: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Byte range in the source to underline.
    #[serde(skip)]
    pub bytes: Option<Range<usize>>,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            line: 0,
            column: 0,
            hint: None,
            bytes: None,
        }
    }

    #[must_use]
    pub fn at(mut self, pos: Pos) -> Self {
        self.line = pos.line;
        self.column = pos.column;
        self.bytes = pos.bytes;
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A position in the source: line/column (1-based) and the byte range when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
    pub bytes: Option<Range<usize>>,
}

/// All problems found in one manifest, with the source text for snippets.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// The manifest path as the user gave it.
    pub file: String,
    /// The source text, when it was readable as UTF-8.
    pub source: Option<String>,
    pub items: Vec<Diagnostic>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: u64,
    column: u64,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>, source: Option<String>) -> Self {
        Self {
            file: file.into(),
            source,
            items: Vec::new(),
        }
    }

    /// A set holding just one diagnostic.
    pub fn single(file: impl Into<String>, source: Option<String>, diag: Diagnostic) -> Self {
        let mut all = Self::new(file, source);
        all.items.push(diag);
        all
    }

    pub fn push(&mut self, diag: Diagnostic) {
        self.items.push(diag);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorts by position (then code) and drops exact duplicates.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (a.line, a.column, a.code, &a.message).cmp(&(b.line, b.column, b.code, &b.message))
        });
        self.items.dedup();
    }

    /// The JSON array `--format json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        let items: Vec<JsonDiagnostic<'_>> = self
            .items
            .iter()
            .map(|d| JsonDiagnostic {
                file: &self.file,
                line: d.line,
                column: d.column,
                code: d.code,
                message: &d.message,
                hint: d.hint.as_deref(),
            })
            .collect();
        serde_json::to_value(items).unwrap_or(serde_json::Value::Null)
    }

    /// Human text: one `error[code]: FILE:LINE:COL: message` block per diagnostic with a snippet.
    pub fn render(&self, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for diag in &self.items {
            out.push_str(&self.render_one(&renderer, diag));
            out.push('\n');
        }
        let n = self.items.len();
        out.push_str(&format!(
            "{}: {n} problem{} found\n",
            self.file,
            if n == 1 { "" } else { "s" }
        ));
        out
    }

    fn render_one(&self, renderer: &Renderer, diag: &Diagnostic) -> String {
        // Messages quote names and paths from the manifest: escaped, so a name cannot add
        // lines, move the cursor or start a workflow command on stderr.
        let message = sanitize::text(&diag.message);
        let title = if diag.line > 0 {
            format!("{}:{}:{}: {message}", self.file, diag.line, diag.column)
        } else {
            format!("{}: {message}", self.file)
        };
        let head = Level::ERROR.primary_title(title).id(diag.code);
        let group = match (self.source.as_deref(), diag.bytes.clone()) {
            (Some(source), Some(bytes)) => match line_window(source, bytes) {
                Some((text, start_line, range)) => head.element(
                    Snippet::source(text)
                        .line_start(start_line)
                        .path(self.file.clone())
                        .annotation(AnnotationKind::Primary.span(range)),
                ),
                None => Group::with_title(head),
            },
            _ => Group::with_title(head),
        };
        let mut report = vec![group];
        if let Some(hint) = &diag.hint {
            report.push(Group::with_title(
                Level::HELP.secondary_title(sanitize::text(hint)),
            ));
        }
        sanitize::guard_lines(&renderer.render(&report))
    }
}

/// Cuts the lines around `bytes` out of `source` (so huge files render fast), returning the
/// text, its first line number and the range relative to it. The range is clamped to one line.
fn line_window(source: &str, bytes: Range<usize>) -> Option<(&str, usize, Range<usize>)> {
    let start = bytes.start.min(source.len());
    if !source.is_char_boundary(start) {
        return None;
    }
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let end = bytes.end.clamp(start, line_end);
    let end = if end == start {
        next_boundary(source, start, line_end)
    } else {
        end
    };
    if !source.is_char_boundary(end) {
        return None;
    }
    let line_no = source[..line_start].bytes().filter(|b| *b == b'\n').count() + 1;
    Some((
        &source[line_start..line_end],
        line_no,
        (start - line_start)..(end - line_start),
    ))
}

fn next_boundary(source: &str, start: usize, limit: usize) -> usize {
    let mut end = start + 1;
    while end < limit && !source.is_char_boundary(end) {
        end += 1;
    }
    end.min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_position_code_snippet_and_hint() {
        let src = "a: 1\nworkspacs: []\n".to_owned();
        let mut all = Diagnostics::new("m.yaml", Some(src));
        all.push(
            Diagnostic::new("unknown-field", "unknown field `workspacs`")
                .at(Pos {
                    line: 2,
                    column: 1,
                    bytes: Some(5..14),
                })
                .hint("did you mean `workspaces`?"),
        );
        let text = all.render(false);
        assert!(text.contains("error[unknown-field]: m.yaml:2:1: unknown field"));
        assert!(text.contains("2 | workspacs: []"));
        assert!(text.contains("did you mean `workspaces`?"));
        assert_eq!(all.to_json()[0]["line"], 2);
    }
}
