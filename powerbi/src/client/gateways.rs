//! Gateways and their data sources, including setting data source credentials.

use reqwest::Method;

use super::{PowerBiClient, RequestBody, json_body};
use crate::error::ClientError;
use crate::retry::Idempotency;
use crate::types::{
    CreateGatewayDatasourceRequest, CredentialDetails, Gateway, GatewayDatasource,
    UpdateDatasourceRequest,
};

impl PowerBiClient {
    /// `GET gateways`: the gateways the caller administers.
    pub async fn list_gateways(&self) -> Result<Vec<Gateway>, ClientError> {
        self.get_list(&["gateways"]).await
    }

    /// `GET gateways/{g}`, with the public key credentials are encrypted for.
    pub async fn get_gateway(&self, gateway_id: &str) -> Result<Gateway, ClientError> {
        self.get_json(&["gateways", gateway_id], &[]).await
    }

    /// `GET gateways/{g}/datasources`.
    pub async fn list_gateway_datasources(
        &self,
        gateway_id: &str,
    ) -> Result<Vec<GatewayDatasource>, ClientError> {
        self.get_list(&["gateways", gateway_id, "datasources"])
            .await
    }

    /// `GET gateways/{g}/datasources/{d}`.
    pub async fn get_gateway_datasource(
        &self,
        gateway_id: &str,
        datasource_id: &str,
    ) -> Result<GatewayDatasource, ClientError> {
        self.get_json(&["gateways", gateway_id, "datasources", datasource_id], &[])
            .await
    }

    /// `POST gateways/{g}/datasources` (201). Not retried after an ambiguous failure: list the
    /// gateway's sources before creating again.
    pub async fn create_gateway_datasource(
        &self,
        gateway_id: &str,
        request: &CreateGatewayDatasourceRequest,
    ) -> Result<GatewayDatasource, ClientError> {
        let call = self.call(
            Method::POST,
            &["gateways", gateway_id, "datasources"],
            &[],
            json_body(request),
            Idempotency::NonIdempotent,
        );
        self.execute_json(call).await
    }

    /// `GET gateways/{g}/datasources/{d}/status`: `Ok` when the source is reachable with its
    /// stored credentials; otherwise the service's error (e.g. gateway unreachable).
    pub async fn gateway_datasource_status(
        &self,
        gateway_id: &str,
        datasource_id: &str,
    ) -> Result<(), ClientError> {
        self.send_unit(
            Method::GET,
            &[
                "gateways",
                gateway_id,
                "datasources",
                datasource_id,
                "status",
            ],
            RequestBody::Empty,
            Idempotency::Idempotent,
        )
        .await
    }

    /// `PATCH gateways/{g}/datasources/{d}`: sets the credentials. `details.credentials` is
    /// the finished string (plain or encrypted); it is never logged.
    pub async fn update_datasource_credentials(
        &self,
        gateway_id: &str,
        datasource_id: &str,
        details: &CredentialDetails,
    ) -> Result<(), ClientError> {
        let body = UpdateDatasourceRequest {
            credential_details: details.clone(),
        };
        self.send_unit(
            Method::PATCH,
            &["gateways", gateway_id, "datasources", datasource_id],
            json_body(&body),
            Idempotency::Idempotent,
        )
        .await
    }
}
