//! Imports: the raw endpoints, the non-blind-retry import of a PBIX file
//! ([`PowerBiClient::import_pbix`]) and import polling.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use tracing::{info, warn};

use super::{PowerBiClient, RequestBody, decode_response, json_body};
use crate::error::ClientError;
use crate::retry::{Idempotency, retry_after};
use crate::types::{
    FileUrlImport, Import, ImportCreated, ImportOptions, ImportState, TemporaryUploadLocation,
};
use crate::upload::{Progress, UploadSource, file_len};

/// How many times an import whose outcome was unknown (and found absent) is tried again.
const AMBIGUOUS_IMPORT_ROUNDS: usize = 2;

/// How long an import waits for an earlier import of the same name that is still publishing.
const PENDING_IMPORT_WAIT: Duration = Duration::from_secs(10 * 60);

impl PowerBiClient {
    /// `GET groups/{g}/imports`: the workspace's whole import history (not paged).
    pub async fn list_imports(&self, group_id: &str) -> Result<Vec<Import>, ClientError> {
        self.get_list(&["groups", group_id, "imports"]).await
    }

    /// `GET groups/{g}/imports/{id}`.
    pub async fn get_import(&self, group_id: &str, import_id: &str) -> Result<Import, ClientError> {
        self.get_json(&["groups", group_id, "imports", import_id], &[])
            .await
    }

    /// `POST groups/{g}/imports/createTemporaryUploadLocation`: a blob SAS URL for files over
    /// 1 GiB (Premium workspaces only).
    pub async fn create_temporary_upload_location(
        &self,
        group_id: &str,
    ) -> Result<TemporaryUploadLocation, ClientError> {
        let call = self.call(
            Method::POST,
            &[
                "groups",
                group_id,
                "imports",
                "createTemporaryUploadLocation",
            ],
            &[],
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        self.execute_json(call).await
    }

    /// One multipart `POST groups/{g}/imports` streaming `path`. Not retried blindly: an
    /// ambiguous failure comes back as [`ClientError::Ambiguous`]; prefer
    /// [`PowerBiClient::import_pbix`], which checks the service before trying again.
    pub async fn post_import_file(
        &self,
        group_id: &str,
        path: &Path,
        options: &ImportOptions,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<ImportCreated, ClientError> {
        let source = UploadSource::open(path, &options.dataset_display_name, progress).await?;
        let mut call = self.call(
            Method::POST,
            &["groups", group_id, "imports"],
            &self.import_query(options),
            RequestBody::Multipart(source),
            Idempotency::NonIdempotent,
        );
        call.timeout = None;
        self.execute_json(call).await
    }

    /// `POST groups/{g}/imports` with `{"fileUrl": …}` (the large-file flow's last step).
    /// Not retried blindly, like [`PowerBiClient::post_import_file`].
    pub async fn post_import_file_url(
        &self,
        group_id: &str,
        file_url: &str,
        options: &ImportOptions,
    ) -> Result<ImportCreated, ClientError> {
        let body = FileUrlImport {
            file_url: file_url.to_owned(),
        };
        let mut call = self.call(
            Method::POST,
            &["groups", group_id, "imports"],
            &self.import_query(options),
            json_body(&body),
            Idempotency::NonIdempotent,
        );
        call.timeout = Some(Duration::from_secs(15 * 60));
        self.execute_json(call).await
    }

    /// Imports a PBIX file and returns the import id, never creating a duplicate by a blind
    /// retry: it snapshots the imports first; after an ambiguous failure (connection dropped
    /// or 5xx once the body was sent) it lists the imports again and returns the new or
    /// updated import of this name if the service has one, and only otherwise tries again.
    /// Files above `large_file_threshold` go through createTemporaryUploadLocation and a
    /// block-blob upload (done once), then the `fileUrl` import.
    pub async fn import_pbix(
        &self,
        group_id: &str,
        path: &Path,
        options: &ImportOptions,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<String, ClientError> {
        let existing = self.list_imports(group_id).await?;
        self.import_pbix_after(group_id, &existing, path, options, progress)
            .await
    }

    /// [`PowerBiClient::import_pbix`] with the workspace's import history already read
    /// (`existing`, from before any import of this name in this run), so that a run importing
    /// many files into one workspace reads it once.
    pub async fn import_pbix_after(
        &self,
        group_id: &str,
        existing: &[Import],
        path: &Path,
        options: &ImportOptions,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<String, ClientError> {
        let len = file_len(path).await?;
        self.wait_for_pending(group_id, existing, options).await;
        let before = snapshot(existing);
        let file_url = if len > self.config().large_file_threshold {
            let location = self.create_temporary_upload_location(group_id).await?;
            self.upload_blob(&location.url, path, progress.clone())
                .await?;
            Some(location.url)
        } else {
            None
        };
        let mut round = 0;
        loop {
            let result = match &file_url {
                Some(url) => self.post_import_file_url(group_id, url, options).await,
                None => {
                    self.post_import_file(group_id, path, options, progress.clone())
                        .await
                }
            };
            let err = match result {
                Ok(created) => return Ok(created.id),
                Err(err @ ClientError::Ambiguous { .. }) => err,
                Err(err) => return Err(err),
            };
            warn!(group = group_id, name = %options.dataset_display_name, error = %err,
                  "import outcome unknown; checking the service before trying again");
            tokio::time::sleep(self.config().retry.min_delay).await;
            let after = self.list_imports(group_id).await?;
            if let Some(found) = find_new_import(&before, &after, options) {
                info!(group = group_id, import = %found.id, "the import had reached the service");
                return Ok(found.id.clone());
            }
            round += 1;
            if round > AMBIGUOUS_IMPORT_ROUNDS {
                return Err(err);
            }
            if let Some(p) = &progress
                && file_url.is_none()
            {
                p.restart();
            }
        }
    }

    /// Waits for imports of this name that are still publishing (an apply killed while
    /// polling leaves one behind). Posting another meanwhile would create a second dataset or
    /// report: overwrite finds nothing to overwrite until the first one lands. Their outcome
    /// does not matter (this import replaces them), so failures and time-outs only log.
    async fn wait_for_pending(&self, group_id: &str, imports: &[Import], options: &ImportOptions) {
        let wanted = [options.item_name(), options.dataset_display_name.as_str()];
        let pending = imports.iter().filter(|i| {
            matches!(i.import_state, Some(ImportState::Publishing))
                && wanted.iter().any(|w| i.name.eq_ignore_ascii_case(w))
        });
        for import in pending {
            info!(group = group_id, import = %import.id, name = %import.name,
                  "an earlier import of this name is still publishing; waiting for it first");
            if let Err(e) = self
                .wait_for_import(group_id, &import.id, PENDING_IMPORT_WAIT)
                .await
            {
                warn!(group = group_id, import = %import.id, error = %e,
                      "the earlier import did not succeed; importing anyway");
            }
        }
    }

    /// Polls an import until it succeeds (returned with its datasets and reports) or fails:
    /// the first poll `poll_initial` after the upload (one right after it always finds the
    /// import still publishing), then backing off to `poll_max`; gives up after `timeout`.
    pub async fn wait_for_import(
        &self,
        group_id: &str,
        import_id: &str,
        timeout: Duration,
    ) -> Result<Import, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut delay = self.config().poll_initial;
        loop {
            tokio::time::sleep(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
            let (import, asked) = self.poll_import(group_id, import_id).await?;
            match &import.import_state {
                Some(ImportState::Succeeded) => return Ok(import),
                Some(ImportState::Publishing) | None => {}
                Some(other) => return Err(import_failure(import_id, other, &import)),
            }
            // The service's Retry-After (capped like any other) wins over our backoff.
            delay = match asked {
                Some(d) => d.min(self.config().retry.max_retry_after),
                None => (delay * 2).min(self.config().poll_max),
            };
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    what: format!("import {import_id}"),
                    after: timeout,
                });
            }
        }
    }

    /// `GET groups/{g}/imports/{id}` and the answer's `Retry-After`, if any.
    async fn poll_import(
        &self,
        group_id: &str,
        import_id: &str,
    ) -> Result<(Import, Option<Duration>), ClientError> {
        let call = self.call(
            Method::GET,
            &["groups", group_id, "imports", import_id],
            &[],
            RequestBody::Empty,
            Idempotency::Idempotent,
        );
        let display = call.display.clone();
        let response = self.execute(call).await?;
        let asked = retry_after(response.headers(), SystemTime::now());
        let import = decode_response(response, "GET", &display).await?;
        Ok((import, asked))
    }

    fn import_query(&self, options: &ImportOptions) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("datasetDisplayName", options.dataset_display_name.clone()),
            ("nameConflict", options.name_conflict.to_string()),
        ];
        if options.skip_report {
            q.push(("skipReport", "true".into()));
        }
        if let Some(v) = options.override_report_label {
            q.push(("overrideReportLabel", v.to_string()));
        }
        if let Some(v) = options.override_model_label {
            q.push(("overrideModelLabel", v.to_string()));
        }
        if let Some(v) = &options.subfolder_object_id {
            q.push(("subfolderObjectId", v.clone()));
        }
        if self.config().prefer_client_routing {
            q.push(("preferClientRouting", "true".into()));
        }
        q
    }
}

/// Import id → last update time, to recognise an import that appeared or changed.
fn snapshot(imports: &[Import]) -> HashMap<String, Option<String>> {
    imports
        .iter()
        .map(|i| (i.id.to_ascii_lowercase(), i.updated_date_time.clone()))
        .collect()
}

/// An import of this name that is new since the snapshot, or was updated since.
fn find_new_import<'a>(
    before: &HashMap<String, Option<String>>,
    after: &'a [Import],
    options: &ImportOptions,
) -> Option<&'a Import> {
    let wanted = [options.item_name(), options.dataset_display_name.as_str()];
    after.iter().find(|i| {
        let name_matches = wanted.iter().any(|w| i.name.eq_ignore_ascii_case(w));
        let changed = match before.get(&i.id.to_ascii_lowercase()) {
            None => true,
            Some(updated) => *updated != i.updated_date_time,
        };
        name_matches && changed
    })
}

fn import_failure(import_id: &str, state: &ImportState, import: &Import) -> ClientError {
    let error = import.error.as_ref();
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(|c| c.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("state {state}"));
    let details = error
        .and_then(|e| e.get("details"))
        .map(|d| match d.as_str() {
            Some(s) => s.to_owned(),
            None => d.to_string(),
        });
    ClientError::ImportFailed {
        import_id: import_id.to_owned(),
        code,
        details,
    }
}
