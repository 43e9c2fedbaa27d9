//! The environment variables pbideploy reads, and the one way it reads them ([`VarSource`]),
//! so that tests inject variables instead of touching the process environment.

use std::collections::HashMap;

/// Reads environment variables; injectable so tests never touch the process environment.
pub trait VarSource: Send + Sync {
    /// The variable's value; empty values count as unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl VarSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// A closure looking names up (tests, and callers that already hold the variables).
impl<F> VarSource for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.is_empty())
    }
}

/// `true` under GitHub Actions: apply then masks each resolved secret (`::add-mask::`).
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
