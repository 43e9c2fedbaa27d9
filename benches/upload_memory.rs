//! Peak memory of PBIX uploads: a large file through the large-file path (temporary upload
//! location + 4 MiB block blob + `fileUrl` import) and a smaller one through streamed
//! multipart. The emulator runs in a child process (this binary re-executed with `serve`), so
//! the peak RSS printed is the client's alone.
//!
//! Run: `cargo bench --bench upload_memory` (sizes in MiB: `PBIDEPLOY_BENCH_LARGE_MIB`,
//! default 2048; `PBIDEPLOY_BENCH_MULTIPART_MIB`, default 900).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pbideploy::powerbi::auth::{AccessToken, TokenFuture, TokenProvider};
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::types::ImportOptions;

struct Static(String);

impl TokenProvider for Static {
    fn token(&self) -> TokenFuture<'_> {
        let token = AccessToken {
            token: self.0.clone().into(),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
        };
        Box::pin(async move { Ok(token) })
    }
    fn method(&self) -> &'static str {
        "static token"
    }
}

fn env_mib(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A valid PBIX (zip) of about `mib` MiB: a DataModelSchema part and a large stored part.
fn make_pbix(path: &Path, mib: u64) {
    let file = std::fs::File::create(path).expect("create bench file");
    let mut zip = zip::ZipWriter::new(file);
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let schema = r#"{"name":"bench","compatibilityLevel":1550,"model":{"tables":[]}}"#;
    let utf16: Vec<u8> = schema.encode_utf16().flat_map(u16::to_le_bytes).collect();
    zip.start_file("DataModelSchema", stored)
        .expect("zip entry");
    zip.write_all(&utf16).expect("zip write");
    zip.start_file("Report/StaticResources/padding.bin", stored)
        .expect("zip entry");
    let chunk = vec![0x5Au8; 1 << 20];
    for _ in 0..mib {
        zip.write_all(&chunk).expect("zip write");
    }
    zip.finish().expect("zip finish");
}

fn serve() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let emu = pbideploy_emulator::start(pbideploy_emulator::config::EmulatorConfig::default())
            .await
            .expect("start emulator");
        println!("{}", emu.url());
        std::future::pending::<()>().await;
    });
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return serve();
    }
    let large = env_mib("PBIDEPLOY_BENCH_LARGE_MIB", 2048);
    let multipart = env_mib("PBIDEPLOY_BENCH_MULTIPART_MIB", 900);
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("emulator url");
    let url = first.trim().to_string();
    let dir = tempfile::tempdir().expect("tempdir");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let rows = rt.block_on(async {
        let http = reqwest::Client::new();
        let token: serde_json::Value = http
            .post(format!("{url}/bench/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "bench"),
                ("client_secret", "bench"),
                ("scope", "https://analysis.windows.net/powerbi/api/.default"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        let token = token["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let config = ClientConfig {
            api_base_url: url.clone(),
            ..ClientConfig::default()
        };
        let client = PowerBiClient::new(config, Arc::new(Static(token))).expect("client");
        let group = client.create_group("bench").await.expect("group");
        let mut rows = Vec::new();
        for (label, mib) in [("large-file path", large), ("multipart", multipart)] {
            let path = dir.path().join(format!("{mib}.pbix"));
            make_pbix(&path, mib);
            let bytes = std::fs::metadata(&path).expect("size").len();
            let start = Instant::now();
            let opts = ImportOptions::create_or_overwrite(format!("bench-{mib}.pbix"));
            let id = client
                .import_pbix(&group.id, &path, &opts, None)
                .await
                .expect("import");
            let import = client
                .wait_for_import(&group.id, &id, Duration::from_secs(600))
                .await;
            let secs = start.elapsed().as_secs_f64();
            let state = match import {
                Ok(_) => "Succeeded".to_string(),
                Err(e) => format!("failed: {e}"),
            };
            std::fs::remove_file(&path).ok();
            rows.push((label, bytes, secs, state, peak_rss_kib()));
        }
        rows
    });
    child.kill().ok();
    child.wait().ok();
    println!(
        "{:<16} {:>12} {:>9} {:>10} {:>14}  import",
        "path", "bytes", "seconds", "MiB/s", "peak RSS MiB"
    );
    for (label, bytes, secs, state, rss) in rows {
        let rss = rss.map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{label:<16} {bytes:>12} {secs:>9.2} {:>10.1} {rss:>14}  {state}",
            bytes as f64 / (1 << 20) as f64 / secs
        );
    }
}
