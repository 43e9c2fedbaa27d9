//! TMDL text into a tree of nodes, without knowing what the objects mean (see the parent
//! module for that). Each line at a level is one of:
//!
//! - `/// text`: a description of the object that follows;
//! - `keyword: value`: a property;
//! - `keyword`: a flag (`isHidden`) or, with deeper lines under it, an unnamed object
//!   (`dataAccessOptions`);
//! - `keyword = expression`: an expression property (`source =`);
//! - `[ref] keyword name [= expression]`: an object, its name unquoted or `'quoted'` (`''`
//!   escapes a quote), with an optional default expression (a measure's DAX, a partition's
//!   source type, an expression's M);
//!
//! and the lines one level deeper are its children. An expression continues on the lines
//! indented deeper than the line's children (deeper than the line itself for an expression
//! property), or sits between ```` ``` ```` fences; its text loses the body's common
//! indentation. Anything else stops the parse with the line, column and what was expected.
//! Keywords are matched as Desktop and Microsoft's serializer spell them (`table`,
//! `dataType`): an object type spelled otherwise is refused by the model reader, and so is
//! `mode`, `source`, `dataType` or `defaultMode` in another case; other properties spelled
//! otherwise are kept as unknown ones.

use super::lexer::{Line, Lines};
use crate::project::error::{Position, ProjectError};

/// One line of TMDL and what is nested under it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Object type or property name (`table`, `column`, `dataType`, `source`).
    pub keyword: String,
    /// The object's name; `None` for properties, flags and unnamed objects.
    pub name: Option<String>,
    /// The property value or default expression.
    pub value: Option<Value>,
    /// `ref table X`: a reference to an object defined elsewhere.
    pub reference: bool,
    /// The `///` lines above it.
    pub description: Option<String>,
    /// Nested objects and properties, in file order.
    pub children: Vec<Node>,
    /// Where the line starts (after its indentation).
    pub at: Position,
}

/// A node's value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// After `:` (a property).
    Text(String),
    /// After `=` (an expression, possibly on several lines).
    Expr(Expr),
}

/// An expression and where its text lies in the part, line by line, so that a rewrite can
/// change its bytes in place.
#[derive(Debug, Clone)]
pub(crate) struct Expr {
    /// The text, lines joined with `\n`, common indentation removed.
    pub text: String,
    /// For each line of `text`: the byte offset in the part where that line's text starts.
    pub line_starts: Vec<usize>,
}

impl Node {
    /// The first child with this keyword.
    pub fn child(&self, keyword: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.keyword == keyword)
    }

    /// The text value of property `keyword`, if it has one.
    pub fn property(&self, keyword: &str) -> Option<&str> {
        match self.child(keyword)?.value.as_ref()? {
            Value::Text(t) => Some(t),
            Value::Expr(e) => Some(&e.text),
        }
    }

    /// The expression value, if the node has one.
    pub fn expr(&self) -> Option<&Expr> {
        match self.value.as_ref()? {
            Value::Expr(e) => Some(e),
            Value::Text(_) => None,
        }
    }
}

/// Unnamed objects whose default expression sits two levels deeper, with their properties
/// one level deeper (`linguisticMetadata =` then `contentType: json`).
const UNNAMED_OBJECTS_WITH_EXPRESSION: &[&str] = &["linguisticMetadata"];

/// Parses a whole TMDL part into its top-level nodes.
pub(crate) fn parse(
    path: &str,
    lines: &Lines<'_>,
    max_depth: usize,
) -> Result<Vec<Node>, ProjectError> {
    let mut p = Parser {
        path,
        lines,
        next: 0,
        max_depth,
    };
    let nodes = p.block(0)?;
    if let Some(line) = p.peek() {
        return Err(p.error(line, 0, "unexpected indentation: this line is indented deeper than the object above allows; indent children one level under their parent"));
    }
    Ok(nodes)
}

struct Parser<'p, 'a> {
    path: &'p str,
    lines: &'p Lines<'a>,
    /// Index of the next unread line.
    next: usize,
    max_depth: usize,
}

impl<'a> Parser<'_, 'a> {
    /// The next non-blank line, skipping blank ones.
    fn peek(&mut self) -> Option<Line<'a>> {
        while let Some(line) = self.lines.lines.get(self.next) {
            if !line.is_blank() {
                return Some(*line);
            }
            self.next += 1;
        }
        None
    }

    fn error(&self, line: Line<'_>, offset: usize, message: &str) -> ProjectError {
        let column = line.raw[..(line.indent_bytes + offset).min(line.raw.len())]
            .chars()
            .count()
            + 1;
        ProjectError::syntax(
            self.path,
            Position {
                line: line.no,
                column,
            },
            message,
        )
    }

    /// The nodes at `level`, up to the first line indented less.
    fn block(&mut self, level: usize) -> Result<Vec<Node>, ProjectError> {
        let mut nodes = Vec::new();
        let mut description: Option<(String, Line<'a>)> = None;
        while let Some(line) = self.peek() {
            let Some(line_level) = self.lines.level(&line) else {
                return Err(self.error(line, 0, &format!("indentation of {} columns is not a whole number of levels ({} per level in this file); indent with tabs, one per level", line.width, self.lines.unit)));
            };
            if line_level < level {
                break;
            }
            if line_level > level {
                return Err(self.error(line, 0, "unexpected indentation: this line is indented deeper than the object above allows; indent children one level under their parent"));
            }
            if level > self.max_depth {
                return Err(ProjectError::NestingTooDeep {
                    path: self.path.to_string(),
                    line: line.no,
                    limit: self.max_depth,
                });
            }
            if let Some(text) = line.content().strip_prefix("///") {
                self.next += 1;
                let text = text.strip_prefix(' ').unwrap_or(text);
                match &mut description {
                    Some((d, _)) => {
                        d.push('\n');
                        d.push_str(text);
                    }
                    None => description = Some((text.to_string(), line)),
                }
                continue;
            }
            let mut node = self.entry(line, level)?;
            node.description = description.take().map(|(d, _)| d);
            nodes.push(node);
        }
        if let Some((_, line)) = description {
            return Err(self.error(line, 0, "a `///` description must be followed by the object it describes, at the same indentation"));
        }
        Ok(nodes)
    }

    /// One node starting at `line` (the current line) and everything nested under it.
    fn entry(&mut self, line: Line<'a>, level: usize) -> Result<Node, ProjectError> {
        self.next += 1;
        let content = line.content();
        let at = Position {
            line: line.no,
            column: line.raw[..line.indent_bytes].chars().count() + 1,
        };
        let mut cur = Cursor { s: content, i: 0 };
        let mut keyword = cur.word();
        let mut reference = false;
        if keyword == "ref" && cur.peek().is_some_and(|c| c == ' ' || c == '\t') {
            reference = true;
            cur.spaces();
            keyword = cur.word();
        }
        if keyword.is_empty() {
            return Err(self.error(line, cur.i, "expected an object type (`table`, `column`, `measure`, ...) or a property name (`dataType: int64`)"));
        }
        let keyword = keyword.to_string();
        let mut node = Node {
            keyword: keyword.clone(),
            name: None,
            value: None,
            reference,
            description: None,
            children: Vec::new(),
            at,
        };
        if !reference && cur.peek() == Some(':') {
            node.value = Some(Value::Text(content[cur.i + 1..].trim().to_string()));
            return Ok(node);
        }
        cur.spaces();
        match cur.peek() {
            None => {}
            Some('=') if !reference => {
                let floor = if UNNAMED_OBJECTS_WITH_EXPRESSION.contains(&keyword.as_str()) {
                    level + 1
                } else {
                    level
                };
                node.value = Some(Value::Expr(self.expression(line, cur.i + 1, floor)?));
            }
            Some(_) => {
                node.name = Some(self.name(line, &mut cur)?);
                cur.spaces();
                match cur.peek() {
                    None => {}
                    Some('=') if !reference => {
                        node.value =
                            Some(Value::Expr(self.expression(line, cur.i + 1, level + 1)?));
                    }
                    Some(_) => {
                        return Err(self.error(line, cur.i, "expected `=` or the end of the line after the name; quote names that hold spaces or symbols: 'Sales Amount'"));
                    }
                }
            }
        }
        if self
            .peek()
            .is_some_and(|l| self.lines.level(&l).is_none_or(|n| n > level))
        {
            node.children = self.block(level + 1)?;
        }
        Ok(node)
    }

    /// A quoted or unquoted object name at the cursor.
    fn name(&self, line: Line<'_>, cur: &mut Cursor<'_>) -> Result<String, ProjectError> {
        if cur.peek() == Some('\'') {
            let start = cur.i;
            cur.i += 1;
            let mut name = String::new();
            loop {
                match cur.next() {
                    Some('\'') if cur.peek() == Some('\'') => {
                        cur.i += 1;
                        name.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => name.push(c),
                    None => {
                        return Err(self.error(line, start, "the quoted name is not closed: end it with `'` (write `''` for a quote inside the name)"));
                    }
                }
            }
            if name.is_empty() {
                return Err(self.error(line, start, "an object name cannot be empty"));
            }
            return Ok(name);
        }
        let start = cur.i;
        while cur.peek().is_some_and(|c| !c.is_whitespace() && c != '=') {
            cur.next();
        }
        Ok(cur.s[start..cur.i].to_string())
    }

    /// The expression after `=` at byte `offset` of `line`'s content: the rest of the line,
    /// then the lines indented deeper than `floor` levels (or a fenced block).
    fn expression(
        &mut self,
        line: Line<'a>,
        offset: usize,
        floor: usize,
    ) -> Result<Expr, ProjectError> {
        let content = line.content();
        let rest = &content[offset..];
        let lead = rest.len() - rest.trim_start().len();
        let first = rest.trim();
        let first_start = line.start + line.indent_bytes + offset + lead;
        if first == "```" {
            return self.fenced(line);
        }
        let mut pieces: Vec<(usize, &str)> = Vec::new();
        if !first.is_empty() {
            pieces.push((first_start, first));
        }
        let body = self.body(floor * self.lines.unit);
        let strip = common_indent(&body);
        for l in body {
            let text = l.raw.get(strip..).unwrap_or("");
            pieces.push((l.start + strip.min(l.raw.len()), text.trim_end()));
        }
        if pieces.is_empty() {
            return Err(self.error(line, offset, "expected an expression after `=`, on the same line or on the lines below, indented one level deeper"));
        }
        Ok(expr_of(&pieces))
    }

    /// The lines deeper than `width` columns from the current one, blank lines inside
    /// included, trailing blank lines left for the next node.
    fn body(&mut self, width: usize) -> Vec<Line<'a>> {
        let mut end = self.next;
        let mut last_text = self.next;
        while let Some(l) = self.lines.lines.get(end) {
            if l.is_blank() {
                end += 1;
                continue;
            }
            if l.width <= width {
                break;
            }
            end += 1;
            last_text = end;
        }
        let body = self.lines.lines[self.next..last_text].to_vec();
        self.next = last_text;
        body
    }

    /// A block between ```` ``` ```` fences, the opening one ending `line`.
    fn fenced(&mut self, line: Line<'a>) -> Result<Expr, ProjectError> {
        let start = self.next;
        let close = self.lines.lines[start..]
            .iter()
            .position(|l| l.content() == "```")
            .map(|p| p + start);
        let Some(close) = close else {
            return Err(self.error(
                line,
                line.content().len().saturating_sub(3),
                "the ``` block is not closed: end it with a line holding only ```",
            ));
        };
        let body: Vec<Line<'a>> = self.lines.lines[start..close].to_vec();
        self.next = close + 1;
        let strip = common_indent(&body);
        let pieces: Vec<(usize, &str)> = body
            .iter()
            .map(|l| {
                let text = l.raw.get(strip..).unwrap_or("");
                (l.start + strip.min(l.raw.len()), text)
            })
            .collect();
        Ok(expr_of(&pieces))
    }
}

/// Bytes of leading whitespace shared by the non-blank lines.
fn common_indent(lines: &[Line<'_>]) -> usize {
    let mut shared: Option<&str> = None;
    for l in lines.iter().filter(|l| !l.is_blank()) {
        let indent = &l.raw[..l.indent_bytes];
        shared = Some(match shared {
            None => indent,
            Some(s) => {
                let n = s
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &s[..n]
            }
        });
    }
    shared.map_or(0, str::len)
}

fn expr_of(pieces: &[(usize, &str)]) -> Expr {
    Expr {
        text: pieces
            .iter()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
            .join("\n"),
        line_starts: pieces.iter().map(|(s, _)| *s).collect(),
    }
}

/// A position in a line's content.
struct Cursor<'s> {
    s: &'s str,
    i: usize,
}

impl<'s> Cursor<'s> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    /// An identifier: letters, digits and `_`.
    fn word(&mut self) -> &'s str {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn spaces(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.i += 1;
        }
    }
}
