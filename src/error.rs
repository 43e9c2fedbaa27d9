//! The one error type at the CLI edge: what went wrong, hints on how to fix it, and the exit
//! code it maps to. Library modules have their own `thiserror` types and convert into this.

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
}

/// An error shown to the user, with optional hints.
#[derive(Debug)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub hints: Vec<String>,
    /// Set when the message was already printed in full (for example diagnostics).
    pub already_reported: bool,
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
        }
    }

    /// An error whose details were already printed (diagnostics): only the exit code matters.
    pub fn reported(kind: ErrorKind) -> Self {
        Self {
            kind,
            message: String::new(),
            hints: Vec::new(),
            already_reported: true,
        }
    }

    #[must_use]
    pub fn hinted(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
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

impl std::error::Error for CommandError {}

/// What a command returns: an exit code on success (0, or 2 for `--detailed-exitcode`).
pub type CommandResult = Result<u8, CommandError>;
