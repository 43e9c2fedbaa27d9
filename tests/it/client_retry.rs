//! Retry behaviour against a wiremock server: which statuses are retried and how often,
//! Retry-After (seconds, date, cap), no blind retry of POST imports, 307 replay of a
//! streamed upload, block-blob upload of large files, import polling.

use crate::common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::{TOKEN, api, client, client_with, config};
use pbideploy::powerbi::error::ClientError;
use pbideploy::powerbi::types::ImportOptions;
use pbideploy::powerbi::upload::Progress;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn fail_then_ok(server: &MockServer, p: &str, status: u16, failures: u64) {
    Mock::given(method("GET"))
        .and(path(api(p)))
        .respond_with(ResponseTemplate::new(status))
        .up_to_n_times(failures)
        .expect(failures)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(api(p)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn throttling_and_unavailable_are_retried() {
    for status in [429, 503, 504] {
        let server = MockServer::start().await;
        fail_then_ok(&server, "/groups/g/reports", status, 2).await;
        let reports = client(&server.uri()).list_reports("g").await.unwrap();
        assert!(reports.is_empty(), "{status}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_429_shrinks_the_shared_window_and_successes_grow_it_back() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(3)
        .mount(&server)
        .await;
    let client = client_with(pbideploy::powerbi::client::ClientConfig {
        max_in_flight: 4,
        ..config(&server.uri())
    });
    let clone = client.clone();
    assert_eq!(client.limiter().window(), 4);
    client.list_reports("g").await.unwrap();
    // The 429 came with one request in flight: the window dropped to 1, and the retry's
    // success (a whole window's worth) grew it to 2.
    assert_eq!(
        clone.limiter().window(),
        2,
        "the window is shared by clones"
    );
    clone.list_reports("g").await.unwrap();
    assert_eq!(
        client.limiter().window(),
        2,
        "a window of 2 grows after 2 successes"
    );
    client.list_reports("g").await.unwrap();
    assert_eq!(client.limiter().window(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_configured_maximum() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports")))
        .respond_with(ResponseTemplate::new(503))
        .expect(4) // 1 attempt + max_retries (3)
        .mount(&server)
        .await;
    let err = client(&server.uri()).list_reports("g").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test]
async fn a_500_on_a_read_is_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports")))
        .respond_with(
            ResponseTemplate::new(500).set_body_string(r#"{"Message":"An error has occurred."}"#),
        )
        .expect(2) // the attempt and one retry, not the whole budget
        .mount(&server)
        .await;
    let err = client(&server.uri()).list_reports("g").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn a_500_after_a_429_still_gets_its_one_retry() {
    let server = MockServer::start().await;
    let reports = || Mock::given(method("GET")).and(path(api("/groups/g/reports")));
    reports()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    reports()
        .respond_with(
            ResponseTemplate::new(500).set_body_string(r#"{"Message":"An error has occurred."}"#),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    reports()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    let listed = client(&server.uri()).list_reports("g").await;
    assert!(
        listed.is_ok(),
        "the 429 does not use up the 500's retry: {listed:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 404, 409] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(api("/groups/g/reports")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server.uri()).list_reports("g").await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        server.verify().await;
    }
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let start = Instant::now();
    client(&server.uri()).list_gateways().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured_and_capped() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", date.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.retry.max_retry_after = Duration::from_millis(1500);
    let start = Instant::now();
    client_with(cfg).list_gateways().await.unwrap();
    let took = start.elapsed();
    // date: 1-2 s (second precision), capped at 1.5 s; 3600 s: capped at 1.5 s.
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

fn pbix(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

async fn list_imports_sequence(server: &MockServer, lists: Vec<serde_json::Value>) {
    let n = lists.len();
    for (i, list) in lists.into_iter().enumerate() {
        let mut mock = Mock::given(method("GET"))
            .and(path(api("/groups/g/imports")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": list})));
        if i + 1 < n {
            mock = mock.up_to_n_times(1);
        }
        mock.mount(server).await;
    }
}

#[tokio::test]
async fn multipart_import_streams_with_content_length_and_headers() {
    let server = MockServer::start().await;
    list_imports_sequence(&server, vec![json!([])]).await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .and(query_param("datasetDisplayName", "Sales & Co.pbix"))
        .and(query_param("nameConflict", "CreateOrOverwrite"))
        .and(query_param("preferClientRouting", "true"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "imp-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let content = b"PK\x03\x04 pretend zip bytes";
    let file = pbix(content);
    let sent = Arc::new(Counter::default());
    let id = client(&server.uri())
        .import_pbix(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("Sales & Co.pbix"),
            Some(sent.clone()),
        )
        .await
        .unwrap();
    assert_eq!(id, "imp-1");
    assert_eq!(sent.0.load(Ordering::SeqCst), content.len() as u64);
    let reqs = server.received_requests().await.unwrap();
    let post = reqs.iter().find(|r| r.method.as_str() == "POST").unwrap();
    let len: usize = post.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, post.body.len());
    let ct = post.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = String::from_utf8_lossy(&post.body);
    assert!(body.contains("pretend zip bytes") && body.contains("filename=\"Sales & Co.pbix\""));
    assert!(!post.url.query().unwrap_or_default().contains("skipReport"));
}

#[derive(Default)]
struct Counter(AtomicU64);

impl Progress for Counter {
    fn advance(&self, bytes: u64) {
        self.0.fetch_add(bytes, Ordering::SeqCst);
    }
    fn restart(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_import_still_publishing_under_the_same_name_is_awaited_before_posting() {
    // An apply killed while polling leaves its import publishing; posting again before it
    // lands would create a second dataset of the same name.
    let server = MockServer::start().await;
    let pending = json!({"id": "old", "name": "Sales", "importState": "Publishing"});
    list_imports_sequence(&server, vec![json!([pending])]).await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/old")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "old", "name": "Sales", "importState": "Succeeded"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "new"})))
        .expect(1)
        .mount(&server)
        .await;
    let file = pbix(b"data");
    let id = client(&server.uri())
        .import_pbix(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("Sales.pbix"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(id, "new");
    let order: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let waited = order
        .iter()
        .position(|r| r.ends_with("/imports/old"))
        .unwrap();
    let posted = order.iter().position(|r| r.starts_with("POST")).unwrap();
    assert!(waited < posted, "{order:?}");
}

#[tokio::test]
async fn ambiguous_import_failure_finds_the_import_instead_of_posting_again() {
    let server = MockServer::start().await;
    let old = json!({"id": "old", "name": "Sales", "updatedDateTime": "2024-01-01T00:00:00Z"});
    let new = json!({"id": "new", "name": "Sales", "importState": "Publishing"});
    list_imports_sequence(&server, vec![json!([old.clone()]), json!([old, new])]).await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let file = pbix(b"data");
    let id = client(&server.uri())
        .import_pbix(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("Sales.pbix"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(id, "new");
    let gets = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(
        gets, 2,
        "imports listed before and after the ambiguous failure"
    );
}

#[tokio::test]
async fn ambiguous_import_absent_is_posted_again_once_checked() {
    let server = MockServer::start().await;
    list_imports_sequence(&server, vec![json!([])]).await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "second"})))
        .expect(1)
        .mount(&server)
        .await;
    let file = pbix(b"data");
    let id = client(&server.uri())
        .import_pbix(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("Sales.pbix"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(id, "second");
}

#[tokio::test]
async fn raw_import_post_is_not_retried_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(504))
        .expect(1)
        .mount(&server)
        .await;
    let file = pbix(b"data");
    let err = client(&server.uri())
        .post_import_file(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("S.pbix"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Ambiguous { .. }), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(504));
}

#[tokio::test]
async fn redirect_307_replays_the_streamed_body() {
    let server = MockServer::start().await;
    let target = format!("{}/cluster2/v1.0/myorg/groups/g/imports?x=1", server.uri());
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", target.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cluster2/v1.0/myorg/groups/g/imports"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "redirected"})))
        .expect(1)
        .mount(&server)
        .await;
    let file = pbix(b"replayed-bytes");
    let created = client(&server.uri())
        .post_import_file(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("S.pbix"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(created.id, "redirected");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert!(String::from_utf8_lossy(&r.body).contains("replayed-bytes"));
    }
}

#[tokio::test]
async fn large_file_goes_through_blocks_then_file_url() {
    let server = MockServer::start().await;
    let sas = format!("{}/blob/c/b?sv=2020&sig=SECRETSIG", server.uri());
    list_imports_sequence(&server, vec![json!([])]).await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports/createTemporaryUploadLocation")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Url": sas, "ExpirationTime": "t"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Block 2 fails once with 503 and is retried on its own.
    Mock::given(method("PUT"))
        .and(path("/blob/c/b"))
        .and(query_param("comp", "block"))
        .and(query_param("blockid", "YmxvY2stMDAwMDAy"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/blob/c/b"))
        .and(query_param("comp", "block"))
        .and(header("x-ms-blob-type", "BlockBlob"))
        .and(header("x-ms-version", "2015-04-05"))
        .respond_with(ResponseTemplate::new(201))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/blob/c/b"))
        .and(query_param("comp", "blocklist"))
        .and(header(
            "x-ms-blob-content-type",
            "application/x-zip-compressed",
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/imports")))
        .and(body_json(json!({"fileUrl": sas})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "big"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.large_file_threshold = 8;
    cfg.block_size = 4;
    let file = pbix(b"0123456789");
    let sent = Arc::new(Counter::default());
    let id = client_with(cfg)
        .import_pbix(
            "g",
            file.path(),
            &ImportOptions::create_or_overwrite("Big.pbix"),
            Some(sent.clone()),
        )
        .await
        .unwrap();
    assert_eq!(id, "big");
    assert_eq!(sent.0.load(Ordering::SeqCst), 10);
    let reqs = server.received_requests().await.unwrap();
    let blob: Vec<_> = reqs
        .iter()
        .filter(|r| r.url.path() == "/blob/c/b")
        .collect();
    assert!(
        blob.iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
    let list = blob.last().unwrap();
    let xml = String::from_utf8_lossy(&list.body);
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>YmxvY2stMDAwMDAx</Latest>\
         <Latest>YmxvY2stMDAwMDAy</Latest><Latest>YmxvY2stMDAwMDAz</Latest></BlockList>"
    );
    let sizes: Vec<usize> = blob[..blob.len() - 1]
        .iter()
        .map(|r| r.body.len())
        .collect();
    assert_eq!(sizes, vec![4, 4, 4, 2]);
}

#[tokio::test]
async fn wait_for_import_polls_until_terminal() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/i1")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "i1", "importState": "Publishing"})),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/i1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "i1", "importState": "Succeeded",
            "datasets": [{"id": "d1", "name": "Sales"}], "reports": [{"id": "r1", "name": "Sales"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/bad")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bad", "importState": "Failed", "error": {"code": "PackageNotValid", "details": "not a zip"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/slow")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "slow", "importState": "Publishing"})),
        )
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let done = c
        .wait_for_import("g", "i1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.datasets[0].id, "d1");
    let err = c
        .wait_for_import("g", "bad", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "import bad failed: PackageNotValid: not a zip"
    );
    let err = c
        .wait_for_import("g", "slow", Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn the_first_import_poll_waits_poll_initial_after_the_upload() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/imports/i1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "i1", "importState": "Succeeded",
            "datasets": [{"id": "d1", "name": "Sales"}]})))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.poll_initial = Duration::from_millis(150);
    let start = Instant::now();
    let done = client_with(cfg)
        .wait_for_import("g", "i1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.datasets[0].id, "d1");
    // A poll right after the upload would find the import still publishing: wait first.
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
