//! TMDL lines and their indentation. TMDL nests by indentation, one tab per level as
//! Desktop writes it; files indented with spaces (as in Microsoft's documentation) use the
//! width of their first space-indented line as one level. Each line is measured once, and
//! lines over the length cap are refused before anything else looks at them.

use crate::project::error::ProjectError;

/// One line of a TMDL part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub no: usize,
    /// Byte offset of the line's first character in the part.
    pub start: usize,
    /// Indentation width in columns (a tab counts one level), set once the file's unit is
    /// known.
    pub width: usize,
    /// Leading tabs and spaces.
    tabs: usize,
    spaces: usize,
    /// Bytes of leading whitespace.
    pub indent_bytes: usize,
    /// The line without its end (`\n` or `\r\n`).
    pub raw: &'a str,
}

impl<'a> Line<'a> {
    /// The text after the indentation, without trailing whitespace.
    pub fn content(&self) -> &'a str {
        self.raw[self.indent_bytes..].trim_end()
    }

    /// Whether the line holds only whitespace.
    pub fn is_blank(&self) -> bool {
        self.content().is_empty()
    }
}

/// A part's lines, and the width of one indentation level.
pub(crate) struct Lines<'a> {
    pub lines: Vec<Line<'a>>,
    /// Columns per level: 1 for tabs (each tab counts as one full level), else the width of
    /// the first space-indented line.
    pub unit: usize,
}

impl Lines<'_> {
    /// The nesting level of a structural line, or `None` when its indentation is not a
    /// whole number of levels.
    pub fn level(&self, line: &Line<'_>) -> Option<usize> {
        line.width
            .is_multiple_of(self.unit)
            .then_some(line.width / self.unit)
    }
}

/// Splits `text` into lines and measures their indentation.
pub(crate) fn lines<'a>(
    path: &str,
    text: &'a str,
    max_line_bytes: usize,
) -> Result<Lines<'a>, ProjectError> {
    let mut out = Vec::new();
    let mut unit = None;
    let mut start = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line_start = start;
        start += raw.len() + 1;
        if raw.len() > max_line_bytes {
            return Err(ProjectError::LineTooLong {
                path: path.to_string(),
                line: i + 1,
                limit: max_line_bytes,
            });
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let indent_bytes = raw.len() - raw.trim_start_matches([' ', '\t']).len();
        let indent = &raw[..indent_bytes];
        let spaces = indent.bytes().filter(|&b| b == b' ').count();
        let tabs = indent_bytes - spaces;
        if spaces > 0 && unit.is_none() && tabs == 0 && !raw[indent_bytes..].trim().is_empty() {
            unit = Some(spaces);
        }
        out.push(Line {
            no: i + 1,
            start: line_start,
            width: 0,
            tabs,
            spaces,
            indent_bytes,
            raw,
        });
    }
    let unit = unit.unwrap_or(4).max(1);
    for line in &mut out {
        line.width = line.tabs * unit + line.spaces;
    }
    Ok(Lines { lines: out, unit })
}
