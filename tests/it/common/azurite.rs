//! Azurite, the Azure Storage emulator, for the tests (and the bench) of the Azure Blob
//! ledger: one blob service per test binary on a free loopback port with a temp data folder,
//! started on first use and stopped when the test process ends (a shell watchdog kills it
//! then, since statics are never dropped).
//!
//! Azurite comes from npm, pinned in `tools/azurite/package-lock.json` (`.ci/run` runs
//! `npm ci` there). The rule follows `shared_data.rs`: with `CI` set, a missing Azurite fails
//! the test, naming what to install; elsewhere a `SKIP` line goes to stdout and the caller
//! returns early. Count them with `cargo test 2>&1 | grep -c '^SKIP'`.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Azurite's documented development account (public; emulators only).
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's documented development account key (public; emulators only).
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service.
pub struct Azurite {
    pub port: u16,
}

impl Azurite {
    /// The account URL, path-style: `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn account_url(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// The development account's key as pbideploy's storage credential.
    pub fn credential(&self) -> pbideploy::ledger::azblob::Credential {
        pbideploy::ledger::azblob::Credential::from_secret(
            &self.connection_string(),
            ACCOUNT,
            "test",
        )
        .expect("the development connection string")
    }

    /// A raw client for the blob at `url` (requests the store does not make).
    pub fn client(&self, url: &str) -> std::sync::Arc<pbideploy::ledger::azblob::rest::BlobClient> {
        let location =
            pbideploy::ledger::azblob::BlobLocation::parse(url, "d").expect("a blob URL");
        let client = pbideploy::ledger::azblob::rest::BlobClient::new(location, self.credential())
            .expect("a blob client");
        std::sync::Arc::new(client)
    }

    /// A store for the ledger blob at `url`.
    pub fn store(&self, url: &str, lease_secs: u32) -> pbideploy::ledger::azblob::AzBlobStore {
        let location =
            pbideploy::ledger::azblob::BlobLocation::parse(url, "ledger.json").expect("a blob URL");
        pbideploy::ledger::azblob::AzBlobStore::new(location, self.credential(), lease_secs)
            .expect("a store")
    }

    /// Creates the container `name` (lowercase, 3-63 characters); returns its URL.
    pub fn create_container(&self, name: &str) -> String {
        let url = format!("{}/{name}", self.account_url());
        let reply = self
            .client(&format!("{url}/x"))
            .send(pbideploy::ledger::azblob::rest::Call {
                method: reqwest::Method::PUT,
                container: true,
                query: vec![("restype", "container".into())],
                ..Default::default()
            })
            .expect("create the container");
        assert!(
            reply.status.is_success(),
            "{}",
            reply.error("creating the container")
        );
        url
    }

    /// The development account's connection string for this instance.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={};",
            self.account_url()
        )
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn binary() -> Option<PathBuf> {
    let local = repo().join("tools/azurite/node_modules/.bin/azurite-blob");
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("azurite-blob"))
            .find(|p| p.exists())
    })
}

/// The shared Azurite, or `None` after the SKIP notice (see the module docs).
pub fn azurite() -> Option<&'static Azurite> {
    static ONE: OnceLock<Option<Azurite>> = OnceLock::new();
    let found = ONE.get_or_init(|| binary().map(|b| start(&b))).as_ref();
    if found.is_none() {
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
        assert!(
            !ci,
            "Azurite is not installed and CI is set: {test} tests the Azure Blob ledger against \
             it and must not be skipped (run `npm ci` in tools/azurite)"
        );
        let _ = writeln!(
            std::io::stdout(),
            "SKIP {test}: Azurite is not installed (run `npm ci` in tools/azurite)"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start(bin: &Path) -> Azurite {
    // Removed by the watchdog when Azurite stops (a static is never dropped).
    let data = tempfile::tempdir()
        .expect("a temp folder for Azurite")
        .keep();
    let port = free_port();
    let log = data.join("azurite.log");
    // The watchdog: Azurite runs while this test process lives, and no longer.
    let script = r#"
"$1" --blobHost 127.0.0.1 --blobPort "$2" --location "$3" --skipApiVersionCheck --loose --silent >"$4" 2>&1 &
child=$!
while kill -0 "$5" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill "$child" 2>/dev/null
sleep 1
kill -9 "$child" 2>/dev/null
rm -rf "$3"
"#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "azurite-watchdog"])
        .arg(bin)
        .arg(port.to_string())
        .arg(&data)
        .arg(&log)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Azurite");
    // Reaped should it end early (Azurite failed to start); normally it outlives this process.
    std::thread::spawn(move || watchdog.wait());
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "Azurite did not listen on port {port} within 90 s: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Azurite { port }
}
