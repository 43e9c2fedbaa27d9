//! One function per operation family: each maps an [`Operation`] to client calls, then
//! records its result in the ledger at once.

pub mod credentials;
pub mod dataset;
pub mod gateways;
pub mod import;
pub mod project;
pub mod resolve;
pub mod workspace;

use crate::apply::StepError;
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::domain::address::Address;
use crate::ledger::Ledger;
use crate::plan::model::{Change, ItemRef, Operation};

/// What a step reports on success (shown beside the completion line).
pub type StepResult = Result<Option<String>, StepError>;

/// Run one change in `slot` (given away while the step waits on the service).
pub async fn run(ctx: &StepContext, change: &Change, slot: &Slot) -> StepResult {
    match &change.operation {
        Operation::CreateWorkspace { workspace } => workspace::create(ctx, workspace).await,
        Operation::AssignCapacity {
            workspace,
            capacity_id,
        } => workspace::assign_capacity(ctx, workspace, capacity_id.as_deref(), slot).await,
        Operation::SetAccess {
            workspace,
            principal,
            role,
            existing,
        } => workspace::set_access(ctx, workspace, principal, *role, *existing).await,
        Operation::RemoveAccess {
            workspace,
            principal,
        } => workspace::remove_access(ctx, workspace, principal).await,
        Operation::Import(spec) => import::import(ctx, change, spec, slot).await,
        Operation::Definition(spec) => project::deploy(ctx, change, spec, slot).await,
        Operation::DeleteDataset { dataset } => dataset::delete(ctx, dataset).await,
        Operation::DeleteReport { report } => import::delete_report(ctx, report).await,
        Operation::TakeOver { dataset } => dataset::take_over(ctx, dataset).await,
        Operation::UpdateParameters { dataset, values } => {
            dataset::update_parameters(ctx, dataset, values).await
        }
        Operation::UpdateDatasources { dataset, updates } => {
            dataset::update_datasources(ctx, dataset, updates).await
        }
        Operation::SetAllConnections {
            dataset,
            connection_string,
        } => dataset::set_all_connections(ctx, dataset, connection_string).await,
        Operation::CreateGatewayDatasource {
            gateway,
            datasource,
            datasource_name,
            credentials,
        } => {
            credentials::create_gateway_datasource(
                ctx,
                gateway,
                datasource,
                datasource_name,
                credentials,
            )
            .await
        }
        Operation::BindToGateway {
            dataset,
            gateway,
            create_missing,
        } => dataset::bind_to_gateway(ctx, dataset, gateway, create_missing).await,
        Operation::SetCredentials {
            dataset,
            datasource,
            credentials,
        } => credentials::set_credentials(ctx, dataset, datasource, credentials).await,
        Operation::Refresh { dataset } => dataset::refresh(ctx, change, dataset, slot).await,
        Operation::SetRefreshSchedule { dataset, schedule } => {
            dataset::set_schedule(ctx, dataset, schedule).await
        }
        Operation::Rebind { report, dataset } => import::rebind(ctx, report, dataset).await,
    }
}

/// The ledger address of a dataset.
pub fn dataset_address(item: &ItemRef) -> Address {
    Address::workspace(&item.workspace).dataset(&item.name)
}

/// The ledger address of a report.
pub fn report_address(item: &ItemRef) -> Address {
    Address::workspace(&item.workspace).report(&item.name)
}

/// Record in the ledger; a failed write fails the step (the service change is done, but a
/// re-run must know it, so the user has to see this).
pub fn record(ctx: &StepContext, f: impl FnOnce(&mut Ledger)) -> Result<(), StepError> {
    ctx.checkpoint.record(f).map_err(|e| {
        StepError::new(format!(
            "the change was made but could not be recorded: {e}"
        ))
    })
}
