//! The Fabric items API client (`/v1`) for PBIP semantic models and reports: list items
//! (following continuation, bounded), create, update and read definitions, delete. It rides on
//! [`PowerBiClient`]'s HTTP stack (auth, retries, the adaptive limiter, error types), on the
//! same service root. Long-running operations never block a caller's step slot: every
//! mutating call returns [`Started`], either done or a pending [`OperationHandle`] that the
//! caller polls ([`FabricClient::poll`]) or waits on ([`FabricClient::wait`]) after giving its
//! slot back.

mod operations;
pub mod types;

pub use operations::{OperationHandle, Outcome, Polled, Started};
pub use types::{CreateItem, Definition, DefinitionPart, Item, ItemType, Workspace};

use std::time::Duration;

use reqwest::{Method, Response, Url};
use serde::de::DeserializeOwned;

use super::client::{Call, PowerBiClient, RequestBody, decode_response, json_body};
use super::error::ClientError;
use super::retry::Idempotency;
use types::{DefinitionEnvelope, ItemPage, WireCreate};

/// Limits of the Fabric client. `Default` gives production values.
#[derive(Debug, Clone)]
pub struct FabricConfig {
    /// Most pages an items list follows before giving up (a continuation loop is a bug).
    pub max_pages: usize,
    /// Wait before the first poll when the service sends no `Retry-After`.
    pub poll_default: Duration,
    /// Cap on a server-sent `Retry-After` between polls.
    pub poll_max: Duration,
    /// Total time one operation may take.
    pub operation_timeout: Duration,
    /// Retries of a create answered `ItemDisplayNameNotAvailableYet` (a deleted item's name
    /// held for some minutes).
    pub name_retries: usize,
    /// First delay between those retries (doubling, capped at `poll_max`).
    pub name_retry_delay: Duration,
}

impl Default for FabricConfig {
    fn default() -> Self {
        Self {
            max_pages: 1000,
            poll_default: Duration::from_secs(1),
            poll_max: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(30 * 60),
            name_retries: 8,
            name_retry_delay: Duration::from_secs(15),
        }
    }
}

/// The Fabric items client. Cheap to clone; shares the Power BI client's connections, token
/// and limiter.
#[derive(Debug, Clone)]
pub struct FabricClient {
    pb: PowerBiClient,
    base: Url,
    config: FabricConfig,
}

impl FabricClient {
    /// A Fabric client on the same service root as `pb`.
    pub fn new(pb: PowerBiClient, config: FabricConfig) -> Result<Self, ClientError> {
        let raw = pb.config().api_base_url.trim().to_string();
        let base = Url::parse(&raw).map_err(|e| ClientError::InvalidUrl {
            url: super::retry::redact_url(&raw),
            reason: e.to_string(),
        })?;
        Ok(Self { pb, base, config })
    }

    /// The limits in force.
    pub fn config(&self) -> &FabricConfig {
        &self.config
    }

    /// `{base}/v1/{segments…}?{query}` and the display path `/v1/…`.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> (Url, String) {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        (url, format!("/v1/{}", segments.join("/")))
    }

    fn call(
        &self,
        method: Method,
        url: Url,
        display: String,
        body: RequestBody,
        idem: Idempotency,
    ) -> Call {
        Call {
            method,
            url,
            display,
            body,
            idempotency: idem,
            auth: true,
            headers: Vec::new(),
            timeout: Some(self.pb.config().metadata_timeout),
        }
    }

    async fn send(&self, call: Call) -> Result<Response, ClientError> {
        self.pb.execute(call).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let (url, display) = self.url(segments, query);
        let call = self.call(
            Method::GET,
            url,
            display.clone(),
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        decode_response(self.send(call).await?, "GET", &display).await
    }

    /// `GET /v1/workspaces/{id}`.
    pub async fn get_workspace(&self, workspace_id: &str) -> Result<Workspace, ClientError> {
        self.get_json(&["workspaces", workspace_id], &[]).await
    }

    /// Every item of a workspace (of `kind` when given), following `continuationToken` for at
    /// most `max_pages` pages; a token that repeats is an error, not a loop.
    pub async fn list_items(
        &self,
        workspace_id: &str,
        kind: Option<ItemType>,
    ) -> Result<Vec<Item>, ClientError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(k) = kind {
                query.push(("type", k.as_str()));
            }
            if let Some(t) = &token {
                query.push(("continuationToken", t));
            }
            let page: ItemPage = self
                .get_json(&["workspaces", workspace_id, "items"], &query)
                .await?;
            all.extend(page.value);
            match page.continuation_token.filter(|t| !t.is_empty()) {
                None => return Ok(all),
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(ClientError::Config(format!(
                        "the items list of workspace {workspace_id} repeated its continuation token; stopping"
                    )));
                }
                Some(next) => token = Some(next),
            }
        }
        Err(ClientError::Config(format!(
            "the items list of workspace {workspace_id} has more than {} pages; stopping",
            self.config.max_pages
        )))
    }

    /// `POST /v1/workspaces/{id}/items` with a definition. A name still held after a delete
    /// (`ItemDisplayNameNotAvailableYet`) is retried with backoff; a create whose outcome is
    /// unknown (connection dropped, 5xx) is looked up by type and name before anything else.
    pub async fn start_create(
        &self,
        workspace_id: &str,
        item: &CreateItem,
    ) -> Result<Started<Item>, ClientError> {
        let body = WireCreate {
            display_name: &item.display_name,
            item_type: item.item_type.as_str(),
            description: item.description.as_deref(),
            folder_id: item.folder_id.as_deref(),
            definition: item.definition.to_wire(),
        };
        let body = json_body(&body);
        let RequestBody::Json(bytes) = body else {
            return Err(ClientError::Config("create body is not JSON".into()));
        };
        let mut delay = self.config.name_retry_delay;
        let mut tries = 0;
        loop {
            let (url, display) = self.url(&["workspaces", workspace_id, "items"], &[]);
            let call = self.call(
                Method::POST,
                url,
                display,
                RequestBody::Json(bytes.clone()),
                Idempotency::NonIdempotent,
            );
            match self.send(call).await {
                Ok(resp) => {
                    return self
                        .started(
                            resp,
                            "POST",
                            &format!("create {} {}", item.item_type, item.display_name),
                        )
                        .await;
                }
                Err(e) if name_not_available(&e) && tries < self.config.name_retries => {
                    tries += 1;
                    tracing::warn!(name = %item.display_name, delay_ms = delay.as_millis() as u64, error = %e,
                        "the item name is still held by the service; retrying the create");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.config.poll_max);
                }
                Err(e @ ClientError::Ambiguous { .. }) => {
                    let found = self.list_items(workspace_id, Some(item.item_type)).await?;
                    return match found
                        .into_iter()
                        .find(|i| i.display_name.eq_ignore_ascii_case(&item.display_name))
                    {
                        Some(i) => Ok(Started::Done(i)),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `POST …/items/{id}/updateDefinition[?updateMetadata=true]`. Replacing a definition is
    /// idempotent, so it is retried like any idempotent call.
    pub async fn start_update_definition(
        &self,
        workspace_id: &str,
        item_id: &str,
        definition: &Definition,
        update_metadata: bool,
    ) -> Result<Started<()>, ClientError> {
        let query: &[(&str, &str)] = if update_metadata {
            &[("updateMetadata", "true")]
        } else {
            &[]
        };
        let (url, display) = self.url(
            &[
                "workspaces",
                workspace_id,
                "items",
                item_id,
                "updateDefinition",
            ],
            query,
        );
        let body = json_body(&DefinitionEnvelope {
            definition: definition.to_wire(),
        });
        let call = self.call(Method::POST, url, display, body, Idempotency::Idempotent);
        let resp = self.send(call).await?;
        self.started(resp, "POST", &format!("update definition of {item_id}"))
            .await
    }

    /// `POST …/items/{id}/getDefinition` (a read, though a POST: plan may send it).
    pub async fn start_get_definition(
        &self,
        workspace_id: &str,
        item_id: &str,
    ) -> Result<Started<Definition>, ClientError> {
        let (url, display) = self.url(
            &[
                "workspaces",
                workspace_id,
                "items",
                item_id,
                "getDefinition",
            ],
            &[],
        );
        let call = self.call(
            Method::POST,
            url,
            display,
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        let resp = self.send(call).await?;
        self.started(resp, "POST", &format!("get definition of {item_id}"))
            .await
    }

    /// Creates an item and waits for it (for callers that hold no slot).
    pub async fn create_item(
        &self,
        workspace_id: &str,
        item: &CreateItem,
    ) -> Result<Item, ClientError> {
        self.finish(self.start_create(workspace_id, item).await?)
            .await
    }

    /// Replaces a definition and waits for it.
    pub async fn update_definition(
        &self,
        workspace_id: &str,
        item_id: &str,
        definition: &Definition,
        update_metadata: bool,
    ) -> Result<(), ClientError> {
        self.finish(
            self.start_update_definition(workspace_id, item_id, definition, update_metadata)
                .await?,
        )
        .await
    }

    /// Reads a definition, following the operation to its result.
    pub async fn get_definition(
        &self,
        workspace_id: &str,
        item_id: &str,
    ) -> Result<Definition, ClientError> {
        self.finish(self.start_get_definition(workspace_id, item_id).await?)
            .await
    }

    async fn finish<T: Outcome>(&self, started: Started<T>) -> Result<T, ClientError> {
        match started {
            Started::Done(v) => Ok(v),
            Started::Pending(h) => self.wait(h).await,
        }
    }

    /// `DELETE /v1/workspaces/{id}/items/{id}[?hardDelete=true]` (without it the service keeps
    /// the item in the workspace's recycle bin for a while).
    pub async fn delete_item(
        &self,
        workspace_id: &str,
        item_id: &str,
        hard: bool,
    ) -> Result<(), ClientError> {
        let query: &[(&str, &str)] = if hard { &[("hardDelete", "true")] } else { &[] };
        let (url, display) = self.url(&["workspaces", workspace_id, "items", item_id], query);
        let call = self.call(
            Method::DELETE,
            url,
            display,
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        self.send(call).await.map(drop)
    }
}

/// Whether the service refused a create because the name is still held after a delete.
fn name_not_available(e: &ClientError) -> bool {
    e.api()
        .is_some_and(|a| a.has_code("ItemDisplayNameNotAvailableYet"))
}
