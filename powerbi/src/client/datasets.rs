//! Datasets: list/get/delete, take over, parameters, data sources and gateway binding,
//! refreshes and refresh schedules. Everything in the groups form.

use reqwest::Method;
use reqwest::header::LOCATION;

use super::{PowerBiClient, RequestBody, json_body, request_id_of};
use crate::error::ClientError;
use crate::retry::Idempotency;
use crate::types::{
    BindToGatewayRequest, Dataset, Datasource, DatasourceUpdate, DirectQueryRefreshSchedule,
    Gateway, GatewayDatasource, MashupParameter, Refresh, RefreshAccepted, RefreshRequest,
    RefreshSchedule, SchedulePatch, SetAllConnectionsRequest, UpdateDatasourcesRequest,
    UpdateParameter, UpdateParametersRequest,
};

impl PowerBiClient {
    /// `GET groups/{g}/datasets` (not paged).
    pub async fn list_datasets(&self, group_id: &str) -> Result<Vec<Dataset>, ClientError> {
        self.get_list(&["groups", group_id, "datasets"]).await
    }

    /// `GET groups/{g}/datasets/{d}`.
    pub async fn get_dataset(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<Dataset, ClientError> {
        self.get_json(&["groups", group_id, "datasets", dataset_id], &[])
            .await
    }

    /// `DELETE groups/{g}/datasets/{d}`. A retry after a lost answer may see 404.
    pub async fn delete_dataset(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<(), ClientError> {
        self.dataset_action(
            Method::DELETE,
            group_id,
            dataset_id,
            None,
            RequestBody::Empty,
        )
        .await
    }

    /// `POST …/Default.TakeOver` (no body): makes the caller the owner, which owner-only
    /// calls (parameters, data sources, schedules, cloud credentials) need.
    pub async fn take_over_dataset(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<(), ClientError> {
        self.dataset_action(
            Method::POST,
            group_id,
            dataset_id,
            Some("Default.TakeOver"),
            RequestBody::Empty,
        )
        .await
    }

    /// `GET …/parameters`.
    pub async fn get_parameters(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<MashupParameter>, ClientError> {
        self.get_list(&["groups", group_id, "datasets", dataset_id, "parameters"])
            .await
    }

    /// `POST …/Default.UpdateParameters` (the service takes at most 100 per call).
    pub async fn update_parameters(
        &self,
        group_id: &str,
        dataset_id: &str,
        updates: &[UpdateParameter],
    ) -> Result<(), ClientError> {
        let body = UpdateParametersRequest {
            update_details: updates.to_vec(),
        };
        self.dataset_action(
            Method::POST,
            group_id,
            dataset_id,
            Some("Default.UpdateParameters"),
            json_body(&body),
        )
        .await
    }

    /// `GET …/datasources`.
    pub async fn get_datasources(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<Datasource>, ClientError> {
        self.get_list(&["groups", group_id, "datasets", dataset_id, "datasources"])
            .await
    }

    /// `POST …/Default.UpdateDatasources`: re-points sources; each selector must equal a
    /// source as [`PowerBiClient::get_datasources`] reports it.
    pub async fn update_datasources(
        &self,
        group_id: &str,
        dataset_id: &str,
        updates: &[DatasourceUpdate],
    ) -> Result<(), ClientError> {
        let body = UpdateDatasourcesRequest {
            update_details: updates.to_vec(),
        };
        self.dataset_action(
            Method::POST,
            group_id,
            dataset_id,
            Some("Default.UpdateDatasources"),
            json_body(&body),
        )
        .await
    }

    /// `POST …/Default.SetAllConnections` (deprecated; legacy SQL DirectQuery datasets only).
    pub async fn set_all_connections(
        &self,
        group_id: &str,
        dataset_id: &str,
        connection_string: &str,
    ) -> Result<(), ClientError> {
        let body = SetAllConnectionsRequest {
            connection_string: connection_string.to_owned(),
        };
        self.dataset_action(
            Method::POST,
            group_id,
            dataset_id,
            Some("Default.SetAllConnections"),
            json_body(&body),
        )
        .await
    }

    /// `GET …/Default.GetBoundGatewayDatasources` (deprecated in favour of datasources).
    pub async fn get_bound_gateway_datasources(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<GatewayDatasource>, ClientError> {
        self.get_list(&[
            "groups",
            group_id,
            "datasets",
            dataset_id,
            "Default.GetBoundGatewayDatasources",
        ])
        .await
    }

    /// `GET …/Default.DiscoverGateways`: gateways (with public keys) that can serve the
    /// dataset's on-premises sources.
    pub async fn discover_gateways(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<Gateway>, ClientError> {
        self.get_list(&[
            "groups",
            group_id,
            "datasets",
            dataset_id,
            "Default.DiscoverGateways",
        ])
        .await
    }

    /// `POST …/Default.BindToGateway`.
    pub async fn bind_to_gateway(
        &self,
        group_id: &str,
        dataset_id: &str,
        request: &BindToGatewayRequest,
    ) -> Result<(), ClientError> {
        self.dataset_action(
            Method::POST,
            group_id,
            dataset_id,
            Some("Default.BindToGateway"),
            json_body(request),
        )
        .await
    }

    /// `POST …/refreshes` (202). Not retried after an ambiguous failure: check
    /// [`PowerBiClient::refresh_history`] first. Enhanced refreshes return their id.
    pub async fn refresh_dataset(
        &self,
        group_id: &str,
        dataset_id: &str,
        request: &RefreshRequest,
    ) -> Result<RefreshAccepted, ClientError> {
        let call = self.call(
            Method::POST,
            &["groups", group_id, "datasets", dataset_id, "refreshes"],
            &[],
            json_body(request),
            Idempotency::NonIdempotent,
        );
        let resp = self.execute(call).await?;
        Ok(RefreshAccepted {
            request_id: request_id_of(resp.headers()),
            location: resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }

    /// `GET …/refreshes?$top=n`, newest first (the service keeps at most 60).
    pub async fn refresh_history(
        &self,
        group_id: &str,
        dataset_id: &str,
        top: Option<u32>,
    ) -> Result<Vec<Refresh>, ClientError> {
        let query: Vec<(&str, String)> = top.map(|t| ("$top", t.to_string())).into_iter().collect();
        Ok(self
            .get_json::<crate::types::ODataList<Refresh>>(
                &["groups", group_id, "datasets", dataset_id, "refreshes"],
                &query,
            )
            .await?
            .value)
    }

    /// `GET …/refreshSchedule`.
    pub async fn get_refresh_schedule(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<RefreshSchedule, ClientError> {
        self.get_schedule(group_id, dataset_id, "refreshSchedule")
            .await
    }

    async fn get_schedule<T: serde::de::DeserializeOwned>(
        &self,
        group_id: &str,
        dataset_id: &str,
        kind: &str,
    ) -> Result<T, ClientError> {
        self.get_json(&["groups", group_id, "datasets", dataset_id, kind], &[])
            .await
    }

    async fn patch_schedule<T: serde::Serialize>(
        &self,
        group_id: &str,
        dataset_id: &str,
        kind: &str,
        changes: &T,
    ) -> Result<(), ClientError> {
        let body = SchedulePatch { value: changes };
        self.dataset_action(
            Method::PATCH,
            group_id,
            dataset_id,
            Some(kind),
            json_body(&body),
        )
        .await
    }

    /// `PATCH …/refreshSchedule` with only the fields set in `changes` (wrapped in `value`).
    pub async fn update_refresh_schedule(
        &self,
        group_id: &str,
        dataset_id: &str,
        changes: &RefreshSchedule,
    ) -> Result<(), ClientError> {
        self.patch_schedule(group_id, dataset_id, "refreshSchedule", changes)
            .await
    }

    /// `GET …/directQueryRefreshSchedule` (DirectQuery and LiveConnection datasets).
    pub async fn get_direct_query_refresh_schedule(
        &self,
        group_id: &str,
        dataset_id: &str,
    ) -> Result<DirectQueryRefreshSchedule, ClientError> {
        self.get_schedule(group_id, dataset_id, "directQueryRefreshSchedule")
            .await
    }

    /// `PATCH …/directQueryRefreshSchedule` with only the fields set in `changes`.
    pub async fn update_direct_query_refresh_schedule(
        &self,
        group_id: &str,
        dataset_id: &str,
        changes: &DirectQueryRefreshSchedule,
    ) -> Result<(), ClientError> {
        self.patch_schedule(group_id, dataset_id, "directQueryRefreshSchedule", changes)
            .await
    }

    /// A state-setting call on a dataset (idempotent: retried on 429/503/504).
    async fn dataset_action(
        &self,
        method: Method,
        group_id: &str,
        dataset_id: &str,
        action: Option<&str>,
        body: RequestBody,
    ) -> Result<(), ClientError> {
        let mut segments = vec!["groups", group_id, "datasets", dataset_id];
        segments.extend(action);
        self.send_unit(method, &segments, body, Idempotency::Idempotent)
            .await
    }
}
