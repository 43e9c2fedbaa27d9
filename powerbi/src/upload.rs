//! Moving PBIX bytes with constant memory whatever the file size: a streamed multipart body
//! with a known length (reopened from the file for every retry or 307 replay), and the Azure
//! block-blob protocol for files above the large-file threshold (4 MiB blocks, each retried
//! on its own, then the block list).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use futures_util::TryStreamExt as _;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, Url};
use tokio::io::AsyncReadExt as _;
use tokio_util::io::ReaderStream;

use super::client::{Call, PowerBiClient, RequestBody, check_transport};
use super::error::ClientError;
use super::retry::{Idempotency, redact_url};

/// Read buffer of the streamed multipart body: memory stays at a few of these.
const STREAM_CHUNK: usize = 256 * 1024;
/// Azure's limit on blocks per blob.
const MAX_BLOCKS: u64 = 50_000;
/// Blob service version whose block protocol the Power BI SDK uses.
const BLOB_VERSION: &str = "2015-04-05";

/// Receives upload progress so the caller can drive a progress bar or log lines.
pub trait Progress: Send + Sync {
    /// `bytes` more were handed to the network.
    fn advance(&self, bytes: u64);
    /// The upload starts over from zero (a retry or redirect replays the file).
    fn restart(&self) {}
}

/// A file to stream as the single part of an import POST. Reopened for every attempt, so a
/// retry or a 307 replay sends the whole file again.
#[derive(Clone)]
pub(crate) struct UploadSource {
    path: PathBuf,
    len: u64,
    file_name: String,
    progress: Option<Arc<dyn Progress>>,
}

impl UploadSource {
    /// Describes `path` (its length is taken now and checked again at every send).
    pub(crate) async fn open(
        path: &Path,
        file_name: &str,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<Self, ClientError> {
        let len = file_len(path).await?;
        Ok(Self {
            path: path.to_owned(),
            len,
            file_name: file_name.to_owned(),
            progress,
        })
    }

    /// The multipart form of one attempt: `file` part, `application/octet-stream`, with a
    /// known length so reqwest sends `Content-Length`.
    pub(crate) async fn form(&self) -> Result<Form, ClientError> {
        let file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|source| self.file_error(source))?;
        let now = file
            .metadata()
            .await
            .map_err(|source| self.file_error(source))?
            .len();
        if now != self.len {
            return Err(self.file_error(std::io::Error::other(format!(
                "the file changed size during the upload ({} then {now} bytes)",
                self.len
            ))));
        }
        let progress = self.progress.clone();
        let stream = ReaderStream::with_capacity(file, STREAM_CHUNK).inspect_ok(move |chunk| {
            if let Some(p) = &progress {
                p.advance(chunk.len() as u64);
            }
        });
        let part = Part::stream_with_length(Body::wrap_stream(stream), self.len)
            .file_name(self.file_name.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Form::new().part("file", part))
    }

    /// Tells the progress sink the upload starts over.
    pub(crate) fn restart(&self) {
        if let Some(p) = &self.progress {
            p.restart();
        }
    }

    fn file_error(&self, source: std::io::Error) -> ClientError {
        ClientError::File {
            path: self.path.clone(),
            source,
        }
    }
}

/// The length of a file, as a client error naming the file.
pub(crate) async fn file_len(path: &Path) -> Result<u64, ClientError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|source| ClientError::File {
            path: path.to_owned(),
            source,
        })?;
    if !meta.is_file() {
        return Err(ClientError::File {
            path: path.to_owned(),
            source: std::io::Error::other("not a regular file"),
        });
    }
    Ok(meta.len())
}

/// The block id of block `index` (1-based): base64 of `block-000001`, as the .NET SDK does;
/// every id of a blob has the same length, as Azure requires.
pub fn block_id(index: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("block-{index:06}"))
}

/// The Put Block List body.
pub fn block_list_xml(ids: &[String]) -> String {
    let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
    for id in ids {
        xml.push_str("<Latest>");
        xml.push_str(id);
        xml.push_str("</Latest>");
    }
    xml.push_str("</BlockList>");
    xml
}

impl PowerBiClient {
    /// Uploads `path` to a blob SAS URL (from createTemporaryUploadLocation) in blocks of
    /// `block_size`, each retried on its own, then commits the block list. Memory stays at
    /// about two blocks whatever the file size. The SAS URL is never logged unredacted.
    pub async fn upload_blob(
        &self,
        sas_url: &str,
        path: &Path,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<(), ClientError> {
        let url = Url::parse(sas_url).map_err(|e| ClientError::InvalidUrl {
            url: redact_url(sas_url),
            reason: e.to_string(),
        })?;
        check_transport(&url)?;
        let len = file_len(path).await?;
        let block_size = self.config().block_size;
        let count = len.div_ceil(block_size as u64);
        if count > MAX_BLOCKS {
            return Err(ClientError::Config(format!(
                "{} needs {count} blocks of {block_size} bytes; Azure allows {MAX_BLOCKS}",
                path.display()
            )));
        }
        let file_error = |source| ClientError::File {
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(file_error)?;
        let mut buf = vec![0u8; block_size];
        let mut ids = Vec::with_capacity(count as usize);
        for index in 1..=count {
            let n = read_block(&mut file, &mut buf).await.map_err(file_error)?;
            let id = block_id(index);
            let mut block_url = url.clone();
            block_url
                .query_pairs_mut()
                .append_pair("comp", "block")
                .append_pair("blockid", &id);
            let body = RequestBody::Bytes(buf[..n].to_vec(), "application/octet-stream");
            self.execute(blob_call(block_url, body, None)).await?;
            if let Some(p) = &progress {
                p.advance(n as u64);
            }
            ids.push(id);
        }
        let mut list_url = url;
        list_url.query_pairs_mut().append_pair("comp", "blocklist");
        let body = RequestBody::Bytes(block_list_xml(&ids).into_bytes(), "application/xml");
        let content_type = HeaderValue::from_static("application/x-zip-compressed");
        self.execute(blob_call(list_url, body, Some(content_type)))
            .await?;
        Ok(())
    }
}

/// A PUT to blob storage: no bearer token (the SAS signs it), blob headers, no deadline.
fn blob_call(url: Url, body: RequestBody, blob_content_type: Option<HeaderValue>) -> Call {
    let mut headers = vec![
        (
            HeaderName::from_static("x-ms-version"),
            HeaderValue::from_static(BLOB_VERSION),
        ),
        (
            HeaderName::from_static("x-ms-blob-type"),
            HeaderValue::from_static("BlockBlob"),
        ),
    ];
    if let Some(ct) = blob_content_type {
        headers.push((HeaderName::from_static("x-ms-blob-content-type"), ct));
    }
    Call {
        method: Method::PUT,
        display: redact_url(url.as_str()),
        url,
        body,
        idempotency: Idempotency::Idempotent,
        auth: false,
        headers,
        timeout: None,
    }
}

/// Fills `buf` as far as the file allows; returns the bytes read.
async fn read_block(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_match_the_sdk() {
        assert_eq!(block_id(1), "YmxvY2stMDAwMDAx");
        assert_eq!(block_id(1).len(), block_id(50_000).len());
        assert_eq!(
            block_list_xml(&[block_id(1)]),
            r#"<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>YmxvY2stMDAwMDAx</Latest></BlockList>"#
        );
    }
}
