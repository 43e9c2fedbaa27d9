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
            out.hint = hint_for(&api);
        } else if let crate::powerbi::error::ClientError::ImportFailed { code, .. } = &e {
            out.code = Some(code.clone());
        }
        out
    }
}

/// Known causes of service errors: (what the code or message contains, lower-cased; the hint).
/// Checked in order, so the specific ones come before the general ones.
const HINTS: &[(&str, &str)] = &[
    (
        "notifyoption",
        "service principals may only use `notifyOption: NoNotification`: remove `notifyOption` from the dataset's refresh schedule",
    ),
    (
        "invalidencryptionalgorithm",
        "gateway data sources need credentials encrypted with the gateway's public key (RSA-OAEP); cloud data sources need encryptionAlgorithm None: check the dataset's gateway binding",
    ),
    (
        "matches selector",
        "the datasource selector did not match: compare the manifest's `match` with the dataset's actual data sources (`pbideploy plan` lists them)",
    ),
    (
        "has no datasource matching",
        "the gateway has no data source with these connection details: set `gateway: {createDatasources: true}` on the dataset, or create the data source on the gateway",
    ),
    (
        "not accessible for application",
        "the tenant does not let this service principal use the Power BI APIs: an admin must enable 'Service principals can use Fabric APIs' for a security group that contains it",
    ),
    (
        "credentialsnotspecified",
        "a data source has no credentials: add a `credentials` rule that matches it",
    ),
    (
        "powerbinotauthorizedexception",
        "the deploying principal is probably not the dataset owner: set `takeover: true` on the dataset so pbideploy takes it over first",
    ),
    (
        "not the owner",
        "the deploying principal is not the dataset owner: set `takeover: true` on the dataset so pbideploy takes it over first",
    ),
    (
        "not bound to a gateway",
        "the dataset is not bound to a gateway: add a `gateway` section to the dataset in the manifest",
    ),
];

/// A hint for service errors whose cause is well known.
fn hint_for(api: &crate::powerbi::error::ApiError) -> Option<String> {
    let text = format!(
        "{} {}",
        api.code.as_deref().unwrap_or_default(),
        api.message.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    HINTS
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, hint)| (*hint).to_string())
}

#[cfg(test)]
mod hint_tests {
    use super::hint_for;
    use crate::powerbi::error::ApiError;

    fn api(code: &str, message: &str) -> ApiError {
        ApiError {
            status: reqwest::StatusCode::BAD_REQUEST,
            code: Some(code.into()),
            message: Some(message.into()),
            request_id: None,
            method: "PATCH".into(),
            path: "/x".into(),
        }
    }

    #[test]
    fn each_known_cause_gets_its_own_hint() {
        let cases = [
            (
                "InvalidRequest",
                "Invalid NotifyOption value 'MailOnFailure' for app only owner requests",
                "NoNotification",
            ),
            ("PowerBINotAuthorizedException", "", "takeover"),
            ("DMTS_InvalidEncryptionAlgorithmError", "", "RSA-OAEP"),
            (
                "InvalidRequest",
                "Dataset doesn't contain a datasource that matches selector #1",
                "`match`",
            ),
            (
                "InvalidRequest",
                "Gateway Local Gateway has no datasource matching Sql {}",
                "createDatasources",
            ),
        ];
        for (code, message, expect) in cases {
            let hint = hint_for(&api(code, message)).unwrap_or_default();
            assert!(hint.contains(expect), "{code} {message}: {hint}");
        }
    }

    #[test]
    fn an_owner_word_in_an_unrelated_message_gets_no_takeover_hint() {
        assert_eq!(
            hint_for(&api("InvalidRequest", "owner field is invalid")),
            None
        );
    }
}
