//! The one error type at the CLI edge: what went wrong, hints on how to fix it, and the exit
//! code it maps to. Library modules have their own `thiserror` types; `commands::errors` holds
//! every conversion from them into this, keeping the library error as the cause.

use std::fmt;

/// How an error maps to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: manifest, flags, files. Exit 1.
    User,
    /// The service refused or failed. Exit 1.
    Service,
    /// An apply that changed some things and failed others. Exit 3.
    PartialApply,
    /// A bug in pbideploy. Exit 255.
    Internal,
    /// Stdout was closed by its reader (`pbideploy plan | head`): not a failure. Exit 0,
    /// nothing printed.
    ClosedPipe,
}

/// An error shown to the user, with optional hints.
#[derive(Debug)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub hints: Vec<String>,
    /// Set when the message was already printed in full (for example diagnostics).
    pub already_reported: bool,
    /// The library error this one was made from; its chain is printed with `-v`.
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CommandError {
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message)
    }

    pub fn service(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Service, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hints: Vec::new(),
            already_reported: false,
            source: None,
        }
    }

    /// An error whose details were already printed (diagnostics): only the exit code matters.
    pub fn reported(kind: ErrorKind) -> Self {
        Self {
            kind,
            message: String::new(),
            hints: Vec::new(),
            already_reported: true,
            source: None,
        }
    }

    #[must_use]
    pub fn hinted(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Keeps `source` as the cause, so `-v` can show what lies behind the message.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// A failed write of the command's output to stdout: a reader that went away
    /// ([`ErrorKind::ClosedPipe`]) ends the command quietly; anything else is an error.
    pub fn stdout(e: std::io::Error) -> Self {
        Self::write_failed("to stdout", e)
    }

    /// [`Self::stdout`] for other output (`what`: `diagnostics`, `the summary`).
    pub fn write_failed(what: &str, e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Self::reported(ErrorKind::ClosedPipe);
        }
        Self::internal(format!("cannot write {what}: {e}")).with_source(e)
    }

    /// The causes below the message, outermost first (for `-v`). A cause that says exactly
    /// what the line above it says (the message is often the source's own text) is left out.
    pub fn causes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut next = self.source.as_deref().map(|e| e as &dyn std::error::Error);
        while let Some(e) = next {
            let text = e.to_string();
            if text != *out.last().unwrap_or(&self.message) {
                out.push(text);
            }
            next = e.source();
        }
        out
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::ClosedPipe => 0,
            ErrorKind::User | ErrorKind::Service => 1,
            ErrorKind::PartialApply => 3,
            ErrorKind::Internal => 255,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What a command returns: an exit code on success (0, or 2 for `--detailed-exitcode`).
pub type CommandResult = Result<u8, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_cause_chain_is_kept_outermost_first() {
        let io = std::io::Error::other("inner");
        let err = CommandError::user("message").with_source(Outer(io));
        assert_eq!(err.causes(), ["outer", "inner"]);
        assert!(CommandError::user("m").causes().is_empty());
        // The usual `user(e.to_string()).with_source(e)`: the first cause is not repeated.
        let io = std::io::Error::other("inner");
        let err = CommandError::user("outer").with_source(Outer(io));
        assert_eq!(err.causes(), ["inner"]);
    }

    #[test]
    fn a_closed_stdout_is_quiet_and_succeeds() {
        let err = CommandError::stdout(std::io::ErrorKind::BrokenPipe.into());
        assert!(err.already_reported);
        assert_eq!(err.exit_code(), 0);
        let err = CommandError::stdout(std::io::ErrorKind::StorageFull.into());
        assert_eq!(err.exit_code(), 255);
    }
}
