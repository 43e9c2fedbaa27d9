//! Apply: executes a [`crate::plan::model::Plan`] against the service.
//!
//! The executor walks the plan's dependency graph with a bounded number of steps in flight;
//! each step maps one [`crate::plan::model::Operation`] to client calls, and every success is
//! written to the ledger at once so that a re-run after a failure or a kill converges.

pub mod checkpoint;
pub mod executor;
pub mod output;
pub mod progress;
pub mod secrets;
pub mod slots;
pub mod steps;

pub use executor::{ApplyOptions, ApplySummary, StepOutcome, execute};

/// Why one step failed: the service's code, message and request id, plus a hint for known
/// causes, so that a failed pipeline run says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub message: String,
    pub code: Option<String>,
    pub request_id: Option<String>,
    pub hint: Option<String>,
}

impl StepError {
    /// An error that did not come from the service.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            request_id: None,
            hint: None,
        }
    }

    /// Attach a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<crate::powerbi::error::ClientError> for StepError {
    fn from(e: crate::powerbi::error::ClientError) -> Self {
        let api = e.api().cloned();
        let mut out = StepError::new(e.to_string());
        if let Some(api) = api {
            out.code = api.code.clone();
            out.request_id = api.request_id.clone();
            out.hint = crate::powerbi::hints::known_cause(&api).map(str::to_owned);
        } else if let crate::powerbi::error::ClientError::ImportFailed { code, .. } = &e {
            out.code = Some(code.clone());
        }
        out
    }
}
