//! Workspace steps: create (idempotent: an existing workspace of that name is adopted),
//! delete, capacity assignment (polled until done) and access.

use std::time::{Duration, Instant};

use super::{StepResult, record};
use crate::apply::StepError;
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::domain::address::Address;
use crate::ledger::{LedgerEntry, WorkspaceEntry};
use crate::plan::model::{Principal, WorkspaceRole};
use crate::powerbi::types::{
    CapacityAssignmentState, GroupUser, GroupUserAccessRight, PrincipalType,
};

const SHARED_CAPACITY: &str = "00000000-0000-0000-0000-000000000000";

/// `POST groups?workspaceV2=True`, unless a run killed earlier already created it.
pub async fn create(ctx: &StepContext, name: &str) -> StepResult {
    let (id, detail) = match ctx.resolver.find_workspace(name).await? {
        Some(id) => (id, "already existed, adopted"),
        None => {
            let id = ctx.client.create_group(name).await?.id;
            ctx.resolver.created_workspace(name, &id);
            (id, "created")
        }
    };
    ctx.resolver.remember(name, &id);
    record(ctx, |l| {
        l.set(
            Address::workspace(name),
            LedgerEntry::Workspace(WorkspaceEntry {
                id: id.clone(),
                created: true,
            }),
        );
    })?;
    Ok(Some(format!("id={id}, {detail}")))
}

/// `POST AssignToCapacity`, then poll the assignment status until it completes.
pub async fn assign_capacity(
    ctx: &StepContext,
    name: &str,
    capacity: Option<&str>,
    slot: &Slot,
) -> StepResult {
    let id = ctx.resolver.workspace_id(name).await?;
    let capacity = capacity.unwrap_or(SHARED_CAPACITY);
    ctx.client.assign_to_capacity(&id, capacity).await?;
    slot.idle(wait_assignment(ctx, name, &id, capacity)).await
}

/// Polls the capacity assignment until it completes (waiting is not work: no slot held).
async fn wait_assignment(ctx: &StepContext, name: &str, id: &str, capacity: &str) -> StepResult {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut delay = Duration::from_millis(250);
    loop {
        let status = ctx.client.capacity_assignment_status(id).await?;
        match status.status {
            Some(CapacityAssignmentState::CompletedSuccessfully) | None => {
                return Ok(Some(format!("capacity {capacity}")));
            }
            Some(CapacityAssignmentState::AssignmentFailed) => {
                return Err(StepError::new(format!(
                    "assigning the workspace {name:?} to capacity {capacity} failed"
                ))
                .with_hint("check that the deploying principal has assign permissions on the capacity and that it is active"));
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(StepError::new(format!(
                "assigning the workspace {name:?} to capacity {capacity} did not finish within 10 minutes"
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

fn group_user(principal: &Principal, role: Option<WorkspaceRole>) -> GroupUser {
    let kind = PrincipalType::parse(&format!("{:?}", principal.principal_type));
    let is_user = kind == PrincipalType::User;
    GroupUser {
        identifier: Some(principal.identifier.clone()),
        email_address: is_user.then(|| principal.identifier.clone()),
        principal_type: Some(kind),
        display_name: None,
        group_user_access_right: role.map(|r| GroupUserAccessRight::parse(&format!("{r:?}"))),
    }
}

/// `POST` (new) or `PUT` (existing) `groups/{id}/users`.
pub async fn set_access(
    ctx: &StepContext,
    name: &str,
    principal: &Principal,
    role: WorkspaceRole,
    existing: bool,
) -> StepResult {
    let id = ctx.resolver.workspace_id(name).await?;
    let user = group_user(principal, Some(role));
    if existing {
        ctx.client.update_group_user(&id, &user).await?;
    } else {
        ctx.client.add_group_user(&id, &user).await?;
    }
    Ok(Some(format!("{} is {role:?}", principal.identifier)))
}

/// `DELETE groups/{id}/users/{identifier}`.
pub async fn remove_access(ctx: &StepContext, name: &str, principal: &Principal) -> StepResult {
    let id = ctx.resolver.workspace_id(name).await?;
    ctx.client
        .delete_group_user(&id, &principal.identifier)
        .await?;
    Ok(None)
}
