//! Imports: streamed multipart upload or `fileUrl` from the temporary upload location, the
//! `nameConflict` modes, Get Import(s): request parsing and the wire views. What an import
//! does to the service (conflicts, processing, the items it creates) is the model's
//! ([`crate::model::imports`]). // documented: 2.1-2.3, 8.2 #4

use super::{Role, collection, entity, require};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::imports::{self, NewImport};
use crate::model::{Blob, Import, Model};
use crate::util::{canon, eq_ci, iso, now_ms};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The import routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/groups/{gid}/imports", get(list).post(post_import))
        .route(
            "/groups/{gid}/imports/createTemporaryUploadLocation",
            post(temp_location),
        )
        .route("/groups/{gid}/imports/{iid}", get(get_one))
}

/// The wire view of an import.
fn import_json(w: &World, base: &str, i: &Import) -> Value {
    let datasets: Vec<Value> = i.dataset_ids.iter().filter_map(|id| w.model.datasets.iter().find(|d| &d.id == id))
        .map(|d| json!({"id": d.id, "name": d.name, "webUrl": format!("{base}/groups/{}/datasets/{}", d.group_id, d.id), "targetStorageMode": "Abf"}))
        .collect();
    let reports: Vec<Value> = i
        .report_ids
        .iter()
        .filter_map(|id| w.model.reports.iter().find(|r| &r.id == id))
        .map(|r| {
            json!({"id": r.id, "name": r.name, "reportType": "PowerBIReport",
            "webUrl": format!("{base}/groups/{}/reports/{}", r.group_id, r.id),
            "embedUrl": format!("{base}/reportEmbed?reportId={}&groupId={}", r.id, r.group_id)})
        })
        .collect();
    let mut v = json!({"id": i.id, "name": i.name, "importState": i.state, "createdDateTime": iso(i.created_ms),
        "updatedDateTime": iso(if i.state == "Publishing" { i.created_ms } else { i.ready_ms }),
        "connectionType": "import", "source": "Upload", "datasets": datasets, "reports": reports});
    if let Some(e) = &i.error {
        v["error"] = e.clone();
    }
    v
}

/// `GET groups/{gid}/imports`.
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let items = w
            .model
            .imports
            .iter()
            .filter(|i| i.group_id == id)
            .map(|i| import_json(w, &app.base_url, i))
            .collect();
        Ok(collection(&app.base_url, "imports", items))
    })
}

/// `GET groups/{gid}/imports/{iid}`.
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, iid)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Viewer)?;
        let i = w
            .model
            .imports
            .iter()
            .find(|i| i.group_id == id && eq_ci(&i.id, &iid))
            .ok_or_else(ApiError::not_found)?;
        Ok(entity(
            &app.base_url,
            "imports",
            import_json(w, &app.base_url, i),
        ))
    })
}

/// `POST groups/{gid}/imports/createTemporaryUploadLocation`. // documented: 2.3
pub async fn temp_location(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
) -> ApiResult {
    app.with(|w| {
        let id = require(&w.model, &gid, &caller, Role::Contributor)?;
        let blob = w.new_id();
        let expires = now_ms() + 3_600_000;
        w.model.blobs.insert(blob.clone(), Blob { group_id: id, expires_ms: expires, ..Blob::default() });
        let url = format!("{}/_blob/{blob}?sv=2015-04-05&sr=b&sig=emulator&se={}", app.base_url, iso(expires));
        Ok(super::ok(json!({"@odata.context": format!("{}/v1.0/myorg/$metadata#Microsoft.PowerBI.ServiceContracts.Api.TemporaryUploadLocation", app.base_url),
            "url": url, "expirationTime": iso(expires)})))
    })
}

/// The uploaded file: a temp path (removed after inspection) and its SHA-256.
struct Upload {
    path: PathBuf,
    sha256: String,
    remove: bool,
}

async fn receive(app: &App, req: Request) -> Result<Upload, ApiError> {
    let is_json = crate::util::is_json(req.headers());
    if is_json {
        // documented: 2.3 step 3: {"fileUrl": "<SAS url>"}
        let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .map_err(|_| ApiError::invalid("The request body is too large for ImportInfo"))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid(format!(
                "The request body is not valid ImportInfo JSON: {e}"
            ))
        })?;
        let url = v.get("fileUrl").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid("ImportInfo needs 'fileUrl' (from createTemporaryUploadLocation)")
        })?;
        let id = url
            .split("/_blob/")
            .nth(1)
            .and_then(|r| r.split('?').next())
            .unwrap_or("");
        let path = app
            .with(|w| w.model.blobs.get(id).and_then(|b| b.committed.clone()))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "fileUrl '{url}' is not a committed emulator upload location"
                ))
            })?;
        let path = PathBuf::from(path);
        let p2 = path.clone();
        let sha = tokio::task::spawn_blocking(move || hash_file(&p2))
            .await
            .map_err(|_| ApiError::internal(StatusCode::INTERNAL_SERVER_ERROR))?
            .map_err(|e| ApiError::invalid(format!("The uploaded file cannot be read: {e}")))?;
        return Ok(Upload {
            path,
            sha256: sha,
            remove: false,
        });
    }
    let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
        ApiError::invalid(format!(
            "The body must be multipart/form-data with the file as one part: {e}"
        ))
    })?;
    let field = mp
        .next_field()
        .await
        .map_err(|e| ApiError::invalid(format!("Malformed multipart body: {e}")))?
        .ok_or_else(|| {
            ApiError::invalid("The multipart body has no part; send the PBIX file as one part")
        })?;
    let mut field = field;
    let path = app
        .data_dir
        .join(format!("import-{}", uuid::Uuid::new_v4().simple()));
    let sha = stream_field(&mut field, &path)
        .await
        .map_err(|e| ApiError::invalid(format!("The upload was interrupted: {e}")))?;
    Ok(Upload {
        path,
        sha256: sha,
        remove: true,
    })
}

/// `POST groups/{gid}/imports?datasetDisplayName=&nameConflict=`.
pub async fn post_import(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(gid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> ApiResult {
    let display = q
        .get("datasetDisplayName")
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid("datasetDisplayName is required, e.g. datasetDisplayName=Sales.pbix")
        })?; // documented: 2.1 (observed 400)
    let mode = match q.get("nameConflict") {
        None => "Ignore",
        Some(m) => canon(
            m,
            &[
                "Ignore",
                "Abort",
                "Overwrite",
                "CreateOrOverwrite",
                "GenerateUniqueName",
            ],
        )
        .ok_or_else(|| ApiError::invalid(format!("Unknown nameConflict '{m}'")))?,
    };
    let lower = display.to_lowercase();
    if lower.ends_with(".pbit") {
        // guess: .pbit is not an importable type (fixtures SOURCES.md #6)
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            "UnsupportedFileType",
            "A .pbit template cannot be imported; save it as .pbix in Power BI Desktop",
        ));
    }
    if mode == "GenerateUniqueName" {
        return Err(ApiError::invalid(
            "nameConflict=GenerateUniqueName is only supported for dataflows (model.json); use Ignore, Abort, Overwrite or CreateOrOverwrite for .pbix",
        )); // documented: 2.1; guess: code
    }
    if let Some(s) = q.get("skipReport")
        && !s.eq_ignore_ascii_case("true")
        && !s.eq_ignore_ascii_case("false")
    {
        return Err(ApiError::invalid("skipReport must be true"));
    }
    let skip_report = q
        .get("skipReport")
        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let name = display
        .strip_suffix(".pbix")
        .or_else(|| display.strip_suffix(".PBIX"))
        .unwrap_or(&display)
        .to_string();
    app.with(|w| require(&w.model, &gid, &caller, Role::Contributor))?;
    let upload = receive(&app, req).await?;
    let path = upload.path.clone();
    let view = tokio::task::spawn_blocking(move || crate::pbix::inspect_pbix(&path))
        .await
        .map_err(|_| ApiError::internal(StatusCode::INTERNAL_SERVER_ERROR))?;
    if upload.remove {
        let _ = tokio::fs::remove_file(&upload.path).await;
    }
    let new = NewImport {
        name,
        mode,
        sha256: upload.sha256,
        skip_report,
        owner: (caller.client_id.clone(), caller.object_id.clone()),
        member_of: &|m: &Model, group: &str| super::role_in(m, group, &caller).is_some(),
    };
    app.with(|w| {
        let gid = require(&w.model, &gid, &caller, Role::Contributor)?;
        let id = imports::start(w, &gid, new, view.map_err(|e| e.to_string()))?;
        Ok((StatusCode::ACCEPTED, axum::Json(json!({"id": id}))).into_response())
    })
}

/// SHA-256 of a file, streamed.
fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Streams one multipart field to `path`, hashing as it goes; returns the hex SHA-256.
async fn stream_field(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &std::path::Path,
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(path).await?;
    let mut h = Sha256::new();
    while let Some(chunk) = field.chunk().await.map_err(std::io::Error::other)? {
        h.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(hex::encode(h.finalize()))
}
