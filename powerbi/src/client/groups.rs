//! Workspaces (groups): lookup by name, creation, members and capacity assignment.

use reqwest::Method;

use super::{PowerBiClient, RequestBody, json_body};
use crate::error::ClientError;
use crate::retry::Idempotency;
use crate::types::{
    AssignToCapacityRequest, CapacityAssignmentStatus, CreateGroupRequest, Group, GroupUser,
};

impl PowerBiClient {
    /// `GET groups`, every page (`$top`/`$skip`), optionally with an OData `$filter` such as
    /// `tolower(name) eq 'sales'`.
    pub async fn list_groups(&self, filter: Option<&str>) -> Result<Vec<Group>, ClientError> {
        let query: Vec<(&str, String)> = filter
            .map(|f| ("$filter", f.to_owned()))
            .into_iter()
            .collect();
        self.get_paged(&["groups"], &query).await
    }

    /// The workspaces named `name`, compared case-insensitively on the server
    /// (`tolower(name) eq '…'`, quotes escaped) and again here. Usually zero or one; legacy
    /// tenants can hold duplicates, which the caller must treat as an error.
    pub async fn find_groups_by_name(&self, name: &str) -> Result<Vec<Group>, ClientError> {
        let literal = name.to_lowercase().replace('\'', "''");
        let filter = format!("tolower(name) eq '{literal}'");
        let groups = self.list_groups(Some(&filter)).await?;
        Ok(groups
            .into_iter()
            .filter(|g| g.name.to_lowercase() == name.to_lowercase())
            .collect())
    }

    /// `GET groups/{id}`.
    pub async fn get_group(&self, group_id: &str) -> Result<Group, ClientError> {
        self.get_json(&["groups", group_id], &[]).await
    }

    /// `POST groups?workspaceV2=True`. Not retried after an ambiguous failure: look the name
    /// up before creating again.
    pub async fn create_group(&self, name: &str) -> Result<Group, ClientError> {
        let body = CreateGroupRequest {
            name: name.to_owned(),
        };
        let call = self.call(
            Method::POST,
            &["groups"],
            &[("workspaceV2", "True".into())],
            json_body(&body),
            Idempotency::NonIdempotent,
        );
        self.execute_json(call).await
    }

    /// `GET groups/{id}/users`, every page.
    pub async fn list_group_users(&self, group_id: &str) -> Result<Vec<GroupUser>, ClientError> {
        self.get_paged(&["groups", group_id, "users"], &[]).await
    }

    /// `POST groups/{id}/users`: grants a role to a principal that has none (for one that
    /// has a role, use [`PowerBiClient::update_group_user`]).
    pub async fn add_group_user(
        &self,
        group_id: &str,
        user: &GroupUser,
    ) -> Result<(), ClientError> {
        self.send_unit(
            Method::POST,
            &["groups", group_id, "users"],
            json_body(user),
            Idempotency::NonIdempotent,
        )
        .await
    }

    /// `PUT groups/{id}/users`: changes the role of an existing member.
    pub async fn update_group_user(
        &self,
        group_id: &str,
        user: &GroupUser,
    ) -> Result<(), ClientError> {
        self.send_unit(
            Method::PUT,
            &["groups", group_id, "users"],
            json_body(user),
            Idempotency::Idempotent,
        )
        .await
    }

    /// `DELETE groups/{id}/users/{user}` (`user` = email/UPN, or object id of an app or group).
    pub async fn delete_group_user(&self, group_id: &str, user: &str) -> Result<(), ClientError> {
        self.send_unit(
            Method::DELETE,
            &["groups", group_id, "users", user],
            RequestBody::Empty,
            Idempotency::Idempotent,
        )
        .await
    }

    /// `POST groups/{id}/AssignToCapacity`; the all-zero id moves the workspace back to
    /// shared capacity. Asynchronous: poll [`PowerBiClient::capacity_assignment_status`].
    pub async fn assign_to_capacity(
        &self,
        group_id: &str,
        capacity_id: &str,
    ) -> Result<(), ClientError> {
        let body = AssignToCapacityRequest {
            capacity_id: capacity_id.to_owned(),
        };
        self.send_unit(
            Method::POST,
            &["groups", group_id, "AssignToCapacity"],
            json_body(&body),
            Idempotency::Idempotent,
        )
        .await
    }

    /// `GET groups/{id}/CapacityAssignmentStatus`.
    pub async fn capacity_assignment_status(
        &self,
        group_id: &str,
    ) -> Result<CapacityAssignmentStatus, ClientError> {
        self.get_json(&["groups", group_id, "CapacityAssignmentStatus"], &[])
            .await
    }
}
