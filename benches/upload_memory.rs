//! Peak memory of PBIX uploads: a large file through the large-file path (temporary upload
//! location + 4 MiB block blob + `fileUrl` import) and a smaller one through streamed
//! multipart. The emulator runs in a child process (this binary re-executed with `serve`), so
//! the peak RSS printed is the client's alone.
//!
//! Run: `cargo bench --bench upload_memory` (sizes in MiB: `PBIDEPLOY_BENCH_LARGE_MIB`,
//! default 2048; `PBIDEPLOY_BENCH_MULTIPART_MIB`, default 900).

mod common;

use std::io::Write;
use std::path::Path;
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

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let large: u64 = common::env_num("PBIDEPLOY_BENCH_LARGE_MIB", 2048);
    let multipart: u64 = common::env_num("PBIDEPLOY_BENCH_MULTIPART_MIB", 900);
    let emu = common::Emulator::spawn();
    let token = emu.token();
    let dir = tempfile::tempdir().expect("tempdir");

    let rows = emu.block_on(async {
        let config = ClientConfig {
            api_base_url: emu.url.clone(),
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
    drop(emu);
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
