//! The temporary upload location: an Azure Blob lookalike (Put Block, Put Block List, Put
//! Blob), streamed to disk. // documented: 2.3 (protocol as the .NET SDK uses it)

use crate::app::App;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Streams a request body to `path`; returns (size, lower-case hex SHA-256).
pub async fn stream_to_file(body: Body, path: &FsPath) -> std::io::Result<(u64, String)> {
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok((size, hex::encode(hasher.finalize())))
}

fn azure_error(status: StatusCode, code: &str, msg: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{msg}</Message></Error>"
    );
    (status, [("content-type", "application/xml")], xml).into_response()
}

/// `PUT /_blob/{id}[?comp=block&blockid=..|?comp=blocklist]`.
pub async fn put(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let exists = app.with(|w| w.model.blobs.contains_key(&id));
    if !exists {
        return azure_error(
            StatusCode::NOT_FOUND,
            "ContainerNotFound",
            "The upload location does not exist; call createTemporaryUploadLocation",
        );
    }
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match q.get("comp").map(String::as_str) {
        Some("block") => {
            let Some(block_id) = q.get("blockid").filter(|b| !b.is_empty()) else {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidQueryParameterValue",
                    "blockid is required",
                );
            };
            let path = app.data_dir.join(format!(
                "blob-{safe}-{}",
                hex::encode(Sha256::digest(block_id.as_bytes()))
            ));
            if let Err(e) = stream_to_file(body, &path).await {
                return azure_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    &e.to_string(),
                );
            }
            app.with(|w| {
                if let Some(b) = w.model.blobs.get_mut(&id) {
                    b.blocks
                        .insert(block_id.clone(), path.display().to_string());
                }
            });
            StatusCode::CREATED.into_response()
        }
        Some("blocklist") => {
            let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidXmlDocument",
                    "block list too large",
                );
            };
            commit_block_list(&app, &id, &safe, &bytes).await
        }
        Some(other) => azure_error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            &format!("unsupported comp={other}"),
        ),
        None => {
            let blob_type = headers
                .get("x-ms-blob-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !blob_type.eq_ignore_ascii_case("BlockBlob") {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredHeader",
                    "x-ms-blob-type: BlockBlob is required",
                );
            }
            let path = app.data_dir.join(format!("blob-{safe}-committed"));
            if let Err(e) = stream_to_file(body, &path).await {
                return azure_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    &e.to_string(),
                );
            }
            app.with(|w| {
                if let Some(b) = w.model.blobs.get_mut(&id) {
                    b.committed = Some(path.display().to_string());
                }
            });
            StatusCode::CREATED.into_response()
        }
    }
}

async fn commit_block_list(app: &App, id: &str, safe: &str, xml: &Bytes) -> Response {
    let text = String::from_utf8_lossy(xml);
    let mut ids = Vec::new();
    for tag in ["Latest", "Committed", "Uncommitted"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut rest: &str = &text;
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            ids.push((start, after[..end].trim().to_string()));
            rest = &after[end..];
        }
    }
    let blocks = app.with(|w| {
        w.model
            .blobs
            .get(id)
            .map(|b| b.blocks.clone())
            .unwrap_or_default()
    });
    let mut paths: Vec<PathBuf> = Vec::new();
    // Keep document order of the block ids (tags can be mixed).
    let mut ordered: Vec<(usize, String)> = Vec::new();
    for tag_id in ids {
        ordered.push(tag_id);
    }
    let doc_order: Vec<String> = {
        let mut v = Vec::new();
        let mut rest: &str = &text;
        while let Some(s) = rest.find('>') {
            rest = &rest[s + 1..];
            if let Some(e) = rest.find('<') {
                let inner = rest[..e].trim();
                if ordered.iter().any(|(_, b)| b == inner) && !inner.is_empty() {
                    v.push(inner.to_string());
                }
                rest = &rest[e..];
            }
        }
        v
    };
    if doc_order.is_empty() {
        return azure_error(
            StatusCode::BAD_REQUEST,
            "InvalidXmlDocument",
            "the block list names no blocks",
        );
    }
    let len = doc_order[0].len();
    for b in &doc_order {
        if b.len() != len {
            return azure_error(
                StatusCode::BAD_REQUEST,
                "InvalidBlobOrBlock",
                "all block ids of a blob must have the same length",
            );
        }
        match blocks.get(b) {
            Some(p) => paths.push(PathBuf::from(p)),
            None => {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidBlockList",
                    &format!("block '{b}' was not uploaded"),
                );
            }
        }
    }
    let target = app.data_dir.join(format!("blob-{safe}-committed"));
    let result: std::io::Result<()> = async {
        let mut out = tokio::fs::File::create(&target).await?;
        for p in &paths {
            let mut f = tokio::fs::File::open(p).await?;
            tokio::io::copy(&mut f, &mut out).await?;
        }
        out.flush().await
    }
    .await;
    if let Err(e) = result {
        return azure_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            &e.to_string(),
        );
    }
    app.with(|w| {
        if let Some(b) = w.model.blobs.get_mut(id) {
            b.committed = Some(target.display().to_string());
        }
    });
    StatusCode::CREATED.into_response()
}
