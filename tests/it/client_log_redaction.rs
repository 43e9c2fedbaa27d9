//! Retry logs never show tokens or blob SAS signatures. In a test binary of its own: tracing
//! caches per-callsite interest process-wide, so with other tests logging on other threads a
//! thread-local subscriber could miss the retry event (seen as a flaky failure under load).

use crate::common;

use std::io::Write;
use std::sync::Arc;

use common::{TOKEN, client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn pbix(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

#[derive(Clone, Default)]
struct LogBuf(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn retry_logs_never_show_tokens_or_sas_signatures() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = MockServer::start().await;
    let sas = format!("{}/blob/c/b?sv=2020&sig=SECRETSIG", server.uri());
    Mock::given(method("PUT"))
        .and(path("/blob/c/b"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/blob/c/b"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let file = pbix(b"abc");
    client(&server.uri())
        .upload_blob(&sas, file.path(), None)
        .await
        .unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("retrying Power BI request"), "{text}");
    assert!(text.contains("sig=REDACTED"), "{text}");
    assert!(
        !text.contains("SECRETSIG") && !text.contains(TOKEN),
        "{text}"
    );
}
