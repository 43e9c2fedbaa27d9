//! Power BI Project items: upload the definition through the Fabric items API.

use super::StepResult;
use crate::apply::StepError;
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::plan::content::DefinitionSpec;
use crate::plan::model::Change;

/// Creates the item with its definition, or updates its definition.
pub async fn deploy(
    _ctx: &StepContext,
    _change: &Change,
    spec: &DefinitionSpec,
    _slot: &Slot,
) -> StepResult {
    Err(StepError::new(format!(
        "{}: deploying Power BI Project items is not available in this build yet",
        spec.project_path
    )))
}
