//! The Azure Blob ledger store against Azurite: round trip, the lease as the lock (holder
//! named, unlock, break), ETag conflicts, a lost lease, snapshots as history, and the cost of
//! taking and releasing the lock in requests.

use crate::common::azurite;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use pbideploy::domain::address::Address;
use pbideploy::domain::secret_ref::SecretRef;
use pbideploy::ledger::azblob::rest::Call;
use pbideploy::ledger::azblob::{AzBlobStore, BlobLocation, Credential};
use pbideploy::ledger::backend::{self, StateSpec};
use pbideploy::ledger::store::{LedgerLock, LedgerStore};
use pbideploy::ledger::{Ledger, LedgerEntry, LedgerError, WorkspaceEntry};
use reqwest::Method;

use azurite::Azurite;

/// A fresh container for one test: `http://127.0.0.1:PORT/devstoreaccount1/<name>`.
fn container(az: &Azurite) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    az.create_container(&format!(
        "t{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

fn store(az: &Azurite, url: &str, lease_secs: u32) -> AzBlobStore {
    az.store(url, lease_secs)
}

/// A store holding the lock on `url` with one ledger written, and the lock id another
/// store sees.
fn holding(az: &Azurite, url: &str, lease_secs: u32) -> (AzBlobStore, LedgerLock, String) {
    let s = store(az, url, lease_secs);
    let lock = s.lock().unwrap();
    s.load().unwrap();
    s.save(&ledger(1), &lock).unwrap();
    let id = match store(az, url, lease_secs).lock().unwrap_err() {
        LedgerError::HeldBy { id, .. } => id,
        e => panic!("{e}"),
    };
    (s, lock, id)
}

fn ledger(n: usize) -> Ledger {
    let mut l = Ledger::with_salt("00ff");
    for i in 0..n {
        l.set(
            Address::workspace(&format!("W{i}")),
            LedgerEntry::Workspace(WorkspaceEntry {
                id: format!("id-{i}"),
                created: true,
            }),
        );
    }
    l
}

#[test]
fn round_trip_through_the_backend_selection_with_a_connection_string_file() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/", container(az));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("conn.txt");
    std::fs::write(&secret, format!("{}\n", az.connection_string())).unwrap();
    let spec = StateSpec {
        url: Some(url),
        credential: Some(SecretRef::File(secret.to_string_lossy().into_owned())),
        lease_secs: Some(15),
    };
    let store = backend::open(&spec, std::path::Path::new("m.yaml"), Some("prod")).unwrap();
    assert!(
        store.describe().contains("/m.prod.pbideploy-state.json"),
        "the blob name defaults to the file name: {}",
        store.describe()
    );
    assert_eq!(store.load().unwrap(), None);
    let lock = store.lock().unwrap();
    assert_eq!(
        store.load().unwrap(),
        None,
        "the placeholder reads as no ledger"
    );
    store.save(&ledger(2), &lock).unwrap();
    store.save(&ledger(3), &lock).unwrap();
    drop(lock);
    assert_eq!(store.load().unwrap(), Some(ledger(3)));
}

#[test]
fn lock_and_release_cost_at_most_two_requests_each() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let s = store(az, &url, 60);
    drop(s.lock().unwrap()); // creates the blob
    let before = s.requests_sent();
    let lock = s.lock().unwrap();
    let acquire = s.requests_sent() - before;
    let before = s.requests_sent();
    drop(lock);
    let release = s.requests_sent() - before;
    assert!(acquire <= 2, "acquire took {acquire} requests");
    assert!(release <= 2, "release took {release} requests");
    // Released: another store takes it at once.
    let other = store(az, &url, 60);
    assert!(other.lock().is_ok());
}

#[test]
fn a_second_holder_is_refused_with_the_holder_named_until_unlocked() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let first = store(az, &url, 60);
    let held = first.lock().unwrap();
    first.load().unwrap();
    let second = store(az, &url, 60);
    let err = second.lock().unwrap_err();
    let LedgerError::HeldBy { id, holder, .. } = &err else {
        panic!("expected HeldBy, got {err}");
    };
    assert!(holder.contains("running `pbideploy"), "{holder}");
    assert!(err.to_string().contains("pbideploy state unlock"), "{err}");
    // A wrong id unlocks nothing.
    let wrong = second
        .unlock("00000000-0000-4000-8000-000000000000", true)
        .unwrap_err();
    assert!(
        wrong.to_string().contains("nothing was unlocked"),
        "{wrong}"
    );
    assert!(second.lock().is_err());
    // The right id releases it; the first holder may write no more.
    let done = second.unlock(id, false).unwrap();
    assert!(done.starts_with("Released"), "{done}");
    let _mine = second.lock().unwrap();
    let err = first.save(&ledger(1), &held).unwrap_err();
    assert!(
        matches!(err, LedgerError::LockLost { .. }),
        "a write after losing the lease is refused: {err}"
    );
    assert_eq!(second.load().unwrap(), None, "nothing was written");
}

#[test]
fn a_write_after_another_writer_changed_the_blob_is_an_etag_conflict() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let (s, lock, id) = holding(az, &url, 60);
    // Someone who knows the lease id (the metadata says it) writes behind our back.
    let raw = az.client(&url);
    let reply = raw
        .send(Call {
            method: Method::PUT,
            headers: vec![
                ("x-ms-blob-type", "BlockBlob".into()),
                ("x-ms-lease-id", id),
            ],
            body: format!("{}\n", ledger(5).to_json()).into_bytes(),
            ..Call::default()
        })
        .unwrap();
    assert!(reply.status.is_success(), "{}", reply.error("put"));
    let err = s.save(&ledger(2), &lock).unwrap_err();
    assert!(matches!(err, LedgerError::Conflict { .. }), "{err}");
    drop(lock);
    assert_eq!(s.load().unwrap(), Some(ledger(5)), "the other write stands");
}

#[test]
fn a_broken_lease_is_noticed_by_the_renewal_and_stops_writes() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let (s, lock, id) = holding(az, &url, 15);
    store(az, &url, 15).unlock(&id, true).unwrap();
    // The renewal runs every 5 s (a third of 15 s) and finds the lease broken.
    let started = Instant::now();
    while lock.check().is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the lost lease went unnoticed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = lock.check().unwrap_err().to_string();
    assert!(
        err.contains("lost the lock") && err.contains("wrote nothing more"),
        "{err}"
    );
    assert!(matches!(
        s.save(&ledger(9), &lock),
        Err(LedgerError::LockLost { .. })
    ));
    drop(lock);
    assert_eq!(s.load().unwrap(), Some(ledger(1)));
}

#[test]
fn a_write_right_after_the_lease_was_broken_is_refused_by_the_service() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let (s, lock, id) = holding(az, &url, 60);
    store(az, &url, 60).unlock(&id, true).unwrap();
    // Before the renewal notices: the service itself refuses the write.
    let err = s.save(&ledger(2), &lock).unwrap_err();
    assert!(matches!(err, LedgerError::LockLost { .. }), "{err}");
    assert!(lock.check().is_err(), "the lock is marked lost");
    drop(lock);
    assert_eq!(s.load().unwrap(), Some(ledger(1)));
}

#[test]
fn each_locked_run_keeps_the_previous_ledger_as_a_snapshot() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let s = store(az, &url, 60);
    for n in 1..=3 {
        let lock = s.lock().unwrap();
        s.load().unwrap();
        s.save(&ledger(n), &lock).unwrap();
        s.save(&ledger(n + 10), &lock).unwrap();
    }
    let versions = s.history().unwrap();
    let ids: Vec<&str> = versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        3,
        "two snapshots (runs 2 and 3) and the current: {ids:?}"
    );
    assert_eq!(ids[2], "current");
    assert_eq!(s.load_version(ids[0]).unwrap(), ledger(11));
    assert_eq!(s.load_version(ids[1]).unwrap(), ledger(12));
    assert_eq!(s.load_version("current").unwrap(), ledger(13));
}

#[test]
fn only_the_newest_snapshots_are_kept() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let s = store(az, &url, 60).keeping(2);
    for n in 1..=5 {
        let lock = s.lock().unwrap();
        s.load().unwrap();
        s.save(&ledger(n), &lock).unwrap();
    }
    let versions = s.history().unwrap();
    let ids: Vec<&str> = versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "two snapshots and the current: {ids:?}");
    assert_eq!(s.load_version(ids[0]).unwrap(), ledger(3));
    assert_eq!(s.load_version(ids[1]).unwrap(), ledger(4));
}

#[test]
fn secrets_never_reach_the_blob_its_metadata_or_errors() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let s = store(az, &url, 60);
    let lock = s.lock().unwrap();
    s.load().unwrap();
    s.save(&ledger(1), &lock).unwrap();
    let raw = az.client(&url);
    let reply = raw
        .send(Call {
            method: Method::GET,
            max_body: 1 << 20,
            ..Call::default()
        })
        .unwrap();
    let mut seen = String::from_utf8_lossy(&reply.body).into_owned();
    for (k, v) in &reply.headers {
        seen.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or_default()));
    }
    let held = store(az, &url, 60).lock().unwrap_err().to_string();
    seen.push_str(&held);
    for secret in [azurite::KEY, &azurite::KEY[..20]] {
        assert!(!seen.contains(secret), "the account key leaked: {seen}");
    }
    assert!(seen.contains("x-ms-meta-pbideploylock"), "{seen}");
}

#[test]
fn load_version_of_an_unknown_snapshot_says_where_to_look() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let s = store(az, &url, 60);
    let lock = s.lock().unwrap();
    s.save(&ledger(1), &lock).unwrap();
    let err = s.load_version("2001-01-01T00:00:00.0000000Z").unwrap_err();
    assert!(err.to_string().contains("state history"), "{err}");
}

/// An account SAS for Azurite's development account (read, write, delete, list, add, create
/// on blobs, containers and the service), signed as documented for version 2020-12-06 on.
fn account_sas() -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let (sv, expiry) = ("2021-08-06", "2099-01-01T00:00:00Z");
    let to_sign = format!(
        "{}\nrwdlac\nb\nsco\n\n{expiry}\n\nhttps,http\n{sv}\n\n",
        azurite::ACCOUNT
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(azurite::KEY)
        .unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let sig = sig
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("sv={sv}&ss=b&srt=sco&sp=rwdlac&se={expiry}&spr=https,http&sig={sig}")
}

#[test]
fn a_sas_token_from_a_secret_file_locks_writes_and_reads() {
    let Some(az) = azurite::azurite() else { return };
    let url = format!("{}/l.json", container(az));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sas.txt");
    std::fs::write(&secret, format!("?{}\n", account_sas())).unwrap();
    let spec = StateSpec {
        url: Some(url),
        credential: Some(SecretRef::File(secret.to_string_lossy().into_owned())),
        lease_secs: None,
    };
    let store = backend::open(&spec, std::path::Path::new("m.yaml"), None).unwrap();
    let lock = store.lock().unwrap();
    store.save(&ledger(2), &lock).unwrap();
    drop(lock);
    assert_eq!(store.load().unwrap(), Some(ledger(2)));
    let shown = format!("{}{:?}", store.describe(), store);
    assert!(!shown.contains("sig="), "{shown}");
    // A SAS with a wrong signature is refused, with the hint, and not echoed.
    let forged = account_sas().replace("sig=", "sig=AAAA");
    std::fs::write(dir.path().join("sas.txt"), &forged).unwrap();
    let store = backend::open(&spec, std::path::Path::new("m.yaml"), None).unwrap();
    let err = store.lock().unwrap_err().to_string();
    assert!(err.contains("HTTP 403") && err.contains("SAS"), "{err}");
    assert!(!err.contains("sig=AAAA"), "{err}");
}

/// A fixed bearer token.
struct Token;

impl pbideploy::powerbi::auth::TokenProvider for Token {
    fn token(&self) -> pbideploy::powerbi::auth::TokenFuture<'_> {
        Box::pin(async {
            Ok(pbideploy::powerbi::auth::AccessToken {
                token: secrecy::SecretString::from("storage-token"),
                expires_at: std::time::SystemTime::now() + Duration::from_secs(3600),
            })
        })
    }
    fn method(&self) -> &'static str {
        "test"
    }
}

#[tokio::test]
async fn entra_tokens_go_as_bearer_with_a_version_that_accepts_them() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/acct1/c01/l.json"))
        .and(header("authorization", "Bearer storage-token"))
        .and(header("x-ms-version", "2023-11-03"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"0x1\"")
                .set_body_string(ledger(1).to_json()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let location = BlobLocation::parse(&format!("{}/acct1/c01/l.json", server.uri()), "d").unwrap();
    let store =
        AzBlobStore::new(location, Credential::Bearer(std::sync::Arc::new(Token)), 60).unwrap();
    let loaded = tokio::task::spawn_blocking(move || store.load())
        .await
        .unwrap();
    assert_eq!(loaded.unwrap(), Some(ledger(1)));
}
