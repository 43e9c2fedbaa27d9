//! Why a Power BI Project item could not be read or rewritten. Item folders arrive in pull
//! requests, so each message names the part (path relative to the item folder), the line and
//! column where there is one, what was expected, and how to fix it.

use std::fmt;

/// A place in a text part: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why an item definition was refused. `Display` is a full sentence with a fix hint; paths
/// are relative to the item folder (callers prefix the folder).
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`: {source}; check that it exists and is readable")]
    Io {
        /// The path that failed (as given, or relative to the item folder).
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// A symbolic link, device, FIFO or socket inside the item folder.
    #[error(
        "`{path}` is not a regular file or folder (a symbolic link or a special file); an item folder holds only regular files: replace it with the file itself"
    )]
    NotRegular {
        /// The offending entry.
        path: String,
    },
    /// A part path that is empty, absolute, has `..`, a backslash, a control character or
    /// is not UTF-8.
    #[error(
        "part path `{path}` is not allowed ({reason}); part paths are relative, with `/` separators and no `..`"
    )]
    BadPath {
        /// The path, lossily decoded.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two parts with the same path.
    #[error("part `{path}` appears twice; each part path must be unique")]
    DuplicatePart {
        /// The path.
        path: String,
    },
    /// More files than the cap.
    #[error(
        "the item folder holds more than {limit} files and folders; remove generated or unrelated files from it"
    )]
    TooManyFiles {
        /// The cap.
        limit: usize,
    },
    /// Folders nested deeper than the cap.
    #[error("`{path}` is nested deeper than {limit} folders inside the item folder")]
    TooDeep {
        /// The folder.
        path: String,
        /// The cap.
        limit: usize,
    },
    /// A part larger than the cap.
    #[error("part `{path}` is larger than the {limit}-byte limit for one part")]
    PartTooLarge {
        /// The part.
        path: String,
        /// The cap.
        limit: u64,
    },
    /// The parts together exceed the cap.
    #[error(
        "the item's parts add up to more than the {limit}-byte limit; remove large resources from the item folder"
    )]
    TotalTooLarge {
        /// The cap.
        limit: u64,
    },
    /// The folder name says neither `.SemanticModel` nor `.Report` and `.platform` does not
    /// either.
    #[error(
        "`{path}` is neither a semantic model nor a report: name the folder `<name>.SemanticModel` or `<name>.Report` (as Power BI Desktop does), or give it a `.platform` with `metadata.type`"
    )]
    UnknownKind {
        /// The folder.
        path: String,
    },
    /// A part the item needs is absent, or parts that exclude each other are both present.
    #[error("{message}")]
    Parts {
        /// What is missing or conflicting, and the fix.
        message: String,
    },
    /// A text part that is not UTF-8.
    #[error(
        "part `{path}` is not UTF-8 text (invalid byte at {at}); save it as UTF-8, as Power BI Desktop does"
    )]
    NotUtf8 {
        /// The part.
        path: String,
        /// Where the first invalid byte is.
        at: Position,
    },
    /// A TMDL or JSON text that does not parse, or says something this reader refuses.
    #[error("{path}:{at}: {message}")]
    Syntax {
        /// The part.
        path: String,
        /// Where.
        at: Position,
        /// What was expected and found, and the fix.
        message: String,
    },
    /// A part parses but its content is inconsistent (a duplicate table, a partition without
    /// source).
    #[error("part `{path}`: {message}")]
    Invalid {
        /// The part.
        path: String,
        /// What is wrong, and the fix.
        message: String,
    },
    /// A line longer than the cap.
    #[error("{path}:{line}: the line is longer than the {limit}-byte limit")]
    LineTooLong {
        /// The part.
        path: String,
        /// 1-based line.
        line: usize,
        /// The cap.
        limit: usize,
    },
    /// More TMDL lines than the cap, over all parts.
    #[error(
        "the model's TMDL files hold more than {limit} lines in all (`{path}` passes the limit); a real model is far smaller"
    )]
    TooManyLines {
        /// The part where the count passed the cap.
        path: String,
        /// The cap.
        limit: usize,
    },
    /// Indentation deeper than the cap.
    #[error("{path}:{line}: indentation is deeper than {limit} levels")]
    NestingTooDeep {
        /// The part.
        path: String,
        /// 1-based line.
        line: usize,
        /// The cap.
        limit: usize,
    },
    /// `set_parameters` names a parameter the model does not declare.
    #[error(
        "the model has no parameter `{name}` (parameters: {known}); parameter names are case-sensitive"
    )]
    UnknownParameter {
        /// The name asked for.
        name: String,
        /// The model's parameters, comma-separated (or `none`).
        known: String,
    },
    /// A parameter value that does not fit the parameter's type or allowed values.
    #[error("parameter `{name}`: value `{value}` {reason}")]
    BadParameterValue {
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// Why it does not fit, with the expected form.
        reason: String,
    },
    /// The function was given an item of the other kind.
    #[error("{0}")]
    WrongKind(String),
    /// An argument (not the definition) is unusable, e.g. a model id with a `;`.
    #[error("{0}")]
    InvalidArgument(String),
}

impl ProjectError {
    /// A syntax error at `at` in `path`.
    pub(crate) fn syntax(path: &str, at: Position, message: impl Into<String>) -> Self {
        ProjectError::Syntax {
            path: path.to_string(),
            at,
            message: message.into(),
        }
    }

    /// An inconsistency in `path`.
    pub(crate) fn invalid(path: &str, message: impl Into<String>) -> Self {
        ProjectError::Invalid {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// The text of a part, or where its first invalid UTF-8 byte is. A leading byte-order mark
/// is dropped (editors on Windows add one).
pub(crate) fn utf8<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, ProjectError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        ProjectError::NotUtf8 {
            path: path.to_string(),
            at: Position { line, column },
        }
    })
}

/// A JSON part parsed, or a syntax error naming its line and column.
pub(crate) fn json(path: &str, bytes: &[u8]) -> Result<serde_json::Value, ProjectError> {
    let text = utf8(path, bytes)?;
    serde_json::from_str(text).map_err(|e| {
        let at = Position {
            line: e.line(),
            column: e.column(),
        };
        ProjectError::syntax(
            path,
            at,
            format!("not valid JSON ({e}); fix the JSON syntax"),
        )
    })
}
