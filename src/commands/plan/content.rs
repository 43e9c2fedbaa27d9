//! What changes inside Power BI Project items: after the planner, read the live definitions
//! of the project items whose update is planned (or, for `--refresh-only`, of every project
//! item the ledger tracks) and add their diffs, data loss and drift to the plan.

use crate::domain::desired::DesiredState;
use crate::error::CommandError;
use crate::ledger::Ledger;
use crate::live::definitions::{DefinitionReadError, read_definitions};
use crate::live::model::LiveState;
use crate::plan::compare::{Wanted, compare, wanted};
use crate::plan::content::annotate;
use crate::plan::definitions::Definitions;
use crate::plan::model::Plan;
use crate::powerbi::fabric::{FabricClient, FabricConfig};
use crate::session::Session;

use crate::commands::errors::client_error;

/// Adds the content findings to `plan`; reads nothing when no project item needs it.
pub async fn add_content(
    plan: &mut Plan,
    session: &Session,
    desired: &DesiredState,
    definitions: &Definitions,
    live: &LiveState,
    ledger: &Ledger,
) -> Result<(), CommandError> {
    let wanted: Vec<Wanted> = wanted(plan, desired, ledger);
    if wanted.is_empty() {
        return Ok(());
    }
    let fabric = FabricClient::new(session.client.clone(), FabricConfig::default())
        .map_err(|e| client_error("cannot use the Fabric API", &e))?;
    let found = read_definitions(&fabric, live, &wanted)
        .await
        .map_err(definition_error)?;
    annotate(
        plan,
        compare(definitions, &found, ledger, plan.refresh_only),
    );
    Ok(())
}

fn definition_error(e: DefinitionReadError) -> CommandError {
    match e.client_error() {
        Some(c) => client_error(&format!("cannot read the live state ({e})"), c),
        None => CommandError::service(e.to_string()),
    }
}
