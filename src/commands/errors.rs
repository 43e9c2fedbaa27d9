//! Every conversion of a library error into [`CommandError`], in one place: the message, the
//! exit code, hints keyed on the error's kind, and the error itself kept as the cause (printed
//! with `-v`).

use crate::apply::StepError;
use crate::domain::address::AddressError;
use crate::error::CommandError;
use crate::ledger::LedgerError;
use crate::live::read::ReadError;
use crate::manifest::secret::SecretError;
use crate::plan::PlanError;
use crate::plan::build::BuildError;
use crate::plan::file::PlanFileError;
use crate::powerbi::error::ClientError;
use crate::session::SessionError;

/// A service error with code, message, request id and a hint for known causes.
pub fn client_error(context: &str, e: &ClientError) -> CommandError {
    let mut err = CommandError::service(format!("{context}: {e}"));
    if let Some(api) = e.api() {
        if let Some(code) = &api.code {
            err = err.hinted(format!("service error code: {code}"));
        }
        if let Some(id) = &api.request_id {
            err = err.hinted(format!("request id: {id} (quote it to Microsoft support)"));
        }
        let by_status = match api.status.as_u16() {
            401 => Some(
                "the token was refused: check the tenant, client id and secret (or the token's expiry)",
            ),
            403 => Some(
                "the principal lacks access: add it to the workspace (Member or Admin) and allow service principals in the tenant settings",
            ),
            404 => Some("the item was not found or the principal cannot see it"),
            429 => Some("the service is throttling requests; try again later"),
            _ => None,
        };
        if let Some(h) = crate::powerbi::hints::known_cause(api).or(by_status) {
            err = err.hinted(h);
        }
    }
    err
}

impl From<SessionError> for CommandError {
    fn from(e: SessionError) -> Self {
        let err = match &e {
            SessionError::Client(c) => client_error("cannot connect to the service", c),
            SessionError::Auth(_) => CommandError::service(e.to_string()).hinted(
                "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or use --service local to try the local emulator)",
            ),
            SessionError::Local(_) => CommandError::internal(e.to_string()),
        };
        err.with_source(e)
    }
}

/// Get Parameters is documented as unsupported for some models; plan reads parameters only
/// for datasets whose manifest entry has `parameters`.
const PARAMETERS_REFUSED: &str = "the service does not read parameters of DirectQuery models on SQL, Oracle, Teradata or SAP HANA, nor of models changed through XMLA: remove `parameters` from this dataset and re-point its sources with `datasources` rules";

impl From<ReadError> for CommandError {
    fn from(e: ReadError) -> Self {
        let err = match (e.client_error(), e.what()) {
            (Some(c), Some(what)) => {
                let err = client_error(&format!("cannot read the live state ({what})"), c);
                let refused = c.api().is_some_and(|api| api.status.as_u16() == 400);
                if refused && matches!(e, ReadError::Parameters { .. }) {
                    err.hinted(PARAMETERS_REFUSED)
                } else {
                    err
                }
            }
            _ => CommandError::user(e.to_string()),
        };
        err.with_source(e)
    }
}

impl From<BuildError> for CommandError {
    fn from(e: BuildError) -> Self {
        CommandError::user(e.to_string()).with_source(e)
    }
}

impl From<PlanError> for CommandError {
    fn from(e: PlanError) -> Self {
        let err = match &e {
            PlanError::Graph(g) => {
                CommandError::internal(format!("the plan's dependency graph is invalid: {g}"))
            }
            other => CommandError::user(other.to_string()),
        };
        err.with_source(e)
    }
}

impl From<LedgerError> for CommandError {
    fn from(e: LedgerError) -> Self {
        let err = match &e {
            LedgerError::Random(_) => CommandError::internal(e.to_string()),
            _ => CommandError::user(e.to_string()),
        };
        err.with_source(e)
    }
}

impl From<SecretError> for CommandError {
    fn from(e: SecretError) -> Self {
        CommandError::user(e.to_string())
            .hinted("nothing was changed")
            .with_source(e)
    }
}

impl From<PlanFileError> for CommandError {
    fn from(e: PlanFileError) -> Self {
        CommandError::user(e.to_string()).with_source(e)
    }
}

impl From<AddressError> for CommandError {
    fn from(e: AddressError) -> Self {
        CommandError::user(e.to_string()).with_source(e)
    }
}

/// An apply step failed outside any one change (the executor itself): a bug.
impl From<StepError> for CommandError {
    fn from(e: StepError) -> Self {
        CommandError::internal(e.to_string()).with_source(e)
    }
}
