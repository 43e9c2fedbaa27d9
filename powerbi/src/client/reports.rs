//! Reports: list, get, rebind to another dataset, delete.

use reqwest::Method;

use super::{PowerBiClient, RequestBody, json_body};
use crate::error::ClientError;
use crate::retry::Idempotency;
use crate::types::{RebindRequest, Report};

impl PowerBiClient {
    /// `GET groups/{g}/reports` (not paged).
    pub async fn list_reports(&self, group_id: &str) -> Result<Vec<Report>, ClientError> {
        self.get_list(&["groups", group_id, "reports"]).await
    }

    /// `GET groups/{g}/reports/{r}`.
    pub async fn get_report(&self, group_id: &str, report_id: &str) -> Result<Report, ClientError> {
        self.get_json(&["groups", group_id, "reports", report_id], &[])
            .await
    }

    /// `POST groups/{g}/reports/{r}/Rebind`: binds a (thin) report to `dataset_id`, which may
    /// live in another workspace.
    pub async fn rebind_report(
        &self,
        group_id: &str,
        report_id: &str,
        dataset_id: &str,
    ) -> Result<(), ClientError> {
        let body = RebindRequest {
            dataset_id: dataset_id.to_owned(),
        };
        self.send_unit(
            Method::POST,
            &["groups", group_id, "reports", report_id, "Rebind"],
            json_body(&body),
            Idempotency::Idempotent,
        )
        .await
    }

    /// `DELETE groups/{g}/reports/{r}`. A retry after a lost answer may see 404
    /// ([`ClientError::is_not_found`]), which means it is gone.
    pub async fn delete_report(&self, group_id: &str, report_id: &str) -> Result<(), ClientError> {
        self.send_unit(
            Method::DELETE,
            &["groups", group_id, "reports", report_id],
            RequestBody::Empty,
            Idempotency::Idempotent,
        )
        .await
    }
}
