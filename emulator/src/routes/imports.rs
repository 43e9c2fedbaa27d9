//! Imports: streamed multipart upload or `fileUrl` from the temporary upload location, every
//! `nameConflict` mode, asynchronous processing, Get Import(s). // documented: 2.1-2.3, 8.2 #4

use super::{Role, collection, entity, require};
use crate::app::{App, World};
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::{Blob, DatasetMode, DatasourceSeed, Import, PendingImport};
use crate::pbix::{PbixKind, PbixServiceView};
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
    let delay = app.knobs().import_delay_ms;
    let fault = app.knobs().fault_rate;
    app.with(|w| {
        let gid = require(&w.model, &gid, &caller, Role::Contributor)?;
        let id = w.new_id();
        let now = now_ms();
        let mut import = Import {
            id: id.clone(),
            name: name.clone(),
            group_id: gid.clone(),
            created_ms: now,
            ready_ms: now + delay,
            state: "Publishing".into(),
            ..Import::default()
        };
        match view {
            Err(e) => {
                // guess: 8.2 #4 — an unreadable package is accepted, then fails asynchronously
                import.pending = Some(PendingImport {
                    fail: true,
                    ..PendingImport::default()
                });
                import.error = Some(json!({"code": "PackageNotValid", "details": e.to_string()}));
            }
            Ok(view) => {
                if let PbixKind::ThinReport { dataset_id, .. } = &view.kind {
                    thin_target_reachable(w, dataset_id, &caller)?;
                }
                let mut p = plan(w, &gid, &name, mode, &view, &upload.sha256, skip_report)?;
                p.owner = (caller.client_id.clone(), caller.object_id.clone());
                p.fail = fault > 0.0 && w.roll() < fault;
                import.pending = Some(p);
            }
        }
        w.model.imports.push(import);
        finish_due(w, now_ms());
        Ok((StatusCode::ACCEPTED, axum::Json(json!({"id": id}))).into_response())
    })
}

/// A thin report's dataset must exist and the caller must reach it (be a member of its
/// workspace). // guess: fixtures SOURCES.md #1 (public reports show this 400)
fn thin_target_reachable(w: &World, dataset_id: &str, caller: &Caller) -> Result<(), ApiError> {
    let m = &w.model;
    let reachable = m
        .datasets
        .iter()
        .any(|d| eq_ci(&d.id, dataset_id) && super::role_in(m, &d.group_id, caller).is_some());
    if reachable {
        Ok(())
    } else {
        Err(ApiError::pbi_with(
            StatusCode::BAD_REQUEST,
            "PowerBIModelNotFoundException",
            json!({"datasetId": dataset_id}),
        ))
    }
}

/// Resolves the name conflict and decides what the import will create or overwrite.
fn plan(
    w: &World,
    gid: &str,
    name: &str,
    mode: &str,
    view: &PbixServiceView,
    sha: &str,
    skip_report: bool,
) -> Result<PendingImport, ApiError> {
    let m = &w.model;
    let thin = matches!(view.kind, PbixKind::ThinReport { .. });
    // documented: 8.2 #4 — conflicts are resolved by dataset name (thin reports: report name); guess: case-insensitive
    let matches: Vec<(Option<String>, Option<String>)> = if thin {
        m.reports
            .iter()
            .filter(|r| r.group_id == gid && eq_ci(&r.name, name))
            .map(|r| (None, Some(r.id.clone())))
            .collect()
    } else {
        m.datasets
            .iter()
            .filter(|d| d.group_id == gid && eq_ci(&d.name, name))
            .map(|d| {
                let same_name =
                    |r: &&crate::model::Report| r.group_id == gid && eq_ci(&r.name, name);
                // documented: 4.4 — a rebound report is still the package's report
                let rep = m
                    .reports
                    .iter()
                    .filter(same_name)
                    .find(|r| r.dataset_id == d.id)
                    .or_else(|| m.reports.iter().find(same_name))
                    .map(|r| r.id.clone());
                (Some(d.id.clone()), rep)
            })
            .collect()
    };
    let dup_params = || json!({"DuplicatePackagesFullMatch": null});
    let overwrite = match (mode, matches.len()) {
        ("Ignore", _) | ("Abort", 0) | ("CreateOrOverwrite", 0) => None,
        ("Abort", _) => {
            return Err(ApiError::pbi_with(
                StatusCode::BAD_REQUEST,
                "DuplicatePackageFoundError",
                dup_params(),
            ));
        } // guess: code
        ("Overwrite", 0) => {
            return Err(ApiError::pbi_with(
                StatusCode::NOT_FOUND,
                "DuplicatePackageNotFoundError",
                dup_params(),
            ));
        } // documented: 2.1 (observed)
        (_, 1) => matches.first().cloned(),
        _ => {
            return Err(ApiError::pbi_with(
                StatusCode::CONFLICT,
                "MoreThanOneDuplicatePackageFoundError",
                json!({"DuplicatePackagesFullMatch": serde_json::to_string(&matches.iter().map(|(d, r)| json!({"dataset": d, "report": r, "name": format!("{name}.pbix")})).collect::<Vec<_>>()).unwrap_or_default()}),
            ));
        } // documented: 2.1 (observed)
    };
    let (ds_over, rep_over) = overwrite.unwrap_or((None, None));
    let mut p = PendingImport {
        overwrite_dataset_id: ds_over,
        overwrite_report_id: rep_over,
        sha256: sha.into(),
        create_report: !skip_report,
        ..PendingImport::default()
    };
    match &view.kind {
        PbixKind::ThinReport { dataset_id, .. } => {
            p.bind_dataset_id = Some(dataset_id.clone());
            p.create_report = true;
        }
        PbixKind::AnalysisServicesLive { server, database } => {
            p.create_dataset = true;
            p.mode = DatasetMode::LiveConnection;
            let mut cd = serde_json::Map::new();
            cd.insert("server".into(), json!(server));
            cd.insert("database".into(), json!(database));
            p.datasources = vec![DatasourceSeed {
                datasource_type: "AnalysisServices".into(),
                connection_details: cd,
                ..DatasourceSeed::default()
            }];
        }
        PbixKind::Model => {
            p.create_dataset = true;
            if view.direct_query {
                p.mode = DatasetMode::DirectQuery;
            }
            let seed = (!view.model_readable)
                .then(|| m.tenant.pbix_views.get(&sha.to_lowercase()).cloned())
                .flatten();
            match seed {
                Some(s) => {
                    p.datasources = s.datasources;
                    p.parameters = s.parameters;
                }
                None => {
                    p.datasources = view.datasource_seeds();
                    p.parameters = view.dataset_parameters();
                }
            }
        }
    }
    Ok(p)
}

/// Finishes every import whose processing delay has passed.
pub fn finish_due(w: &mut World, now: u64) {
    let due: Vec<usize> = w
        .model
        .imports
        .iter()
        .enumerate()
        .filter(|(_, i)| i.state == "Publishing" && i.ready_ms <= now)
        .map(|(n, _)| n)
        .collect();
    for n in due {
        let Some(p) = w.model.imports[n].pending.take() else {
            w.model.imports[n].state = "Succeeded".into();
            continue;
        };
        if p.fail {
            let imp = &mut w.model.imports[n];
            imp.state = "Failed".into();
            if imp.error.is_none() {
                imp.error = Some(
                    json!({"code": "ImportFailed", "details": "emulator fault injection: the import failed"}),
                ); // guess: shape per 2.2
            }
            continue;
        }
        let (gid, name) = (
            w.model.imports[n].group_id.clone(),
            w.model.imports[n].name.clone(),
        );
        let dataset_id = if p.create_dataset {
            Some(super::datasets::upsert_from_import(w, &gid, &name, &p))
        } else {
            None
        };
        let mut report_ids = Vec::new();
        if p.create_report {
            let target = dataset_id
                .clone()
                .or(p.bind_dataset_id.clone())
                .unwrap_or_default();
            report_ids.push(super::reports::upsert_from_import(
                w,
                &gid,
                &name,
                p.overwrite_report_id.as_deref(),
                &target,
            ));
        }
        let imp = &mut w.model.imports[n];
        imp.state = "Succeeded".into();
        imp.dataset_ids = dataset_id.into_iter().collect();
        imp.report_ids = report_ids;
    }
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
