//! Peak memory of PBIX uploads, each in its own `pbideploy apply` process: a file over 1 GiB
//! through the large-file path (temporary upload location + 4 MiB block blob + `fileUrl`
//! import) and a smaller one through streamed multipart. The peak resident set is the
//! kernel's figure for that child process alone (`wait4` rusage `ru_maxrss`), so the
//! emulator (a child process of its own: this binary re-executed with `serve`) and the bench
//! are not counted, and each path is measured apart from the other. Which path each run took
//! is checked in the emulator's request log.
//!
//! Run: `cargo bench --bench upload_memory` (sizes in MiB: `PBIDEPLOY_BENCH_LARGE_MIB`,
//! default 2048, at least 1024 as the CLI sends only files over 1 GiB the large-file way, or
//! 0 to leave that path out; `PBIDEPLOY_BENCH_MULTIPART_MIB`, default 900).

mod common;

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use common::{Run, Table, env_num};

/// The peak resident set each upload must stay under.
const TARGET_MIB: f64 = 64.0;

/// A valid PBIX (zip) of about `mib` MiB: a DataModelSchema part and a large stored part.
fn make_pbix(path: &Path, mib: u64) {
    let file = File::create(path).expect("create bench file");
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

/// Runs `pbideploy` to its end and returns the run with that process's peak resident set in
/// KiB ([`common::wait_with_peak_rss`]).
fn run_measured(emu: &common::Emulator, dir: &Path, args: &[&str]) -> (Run, u64) {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let start = Instant::now();
    let child = common::pbideploy_command(emu, dir, args)
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn pbideploy");
    let (code, peak) = common::wait_with_peak_rss(child);
    let wall = start.elapsed();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let run = Run {
        code,
        wall,
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    (run, peak)
}

/// One upload of a `mib` MiB PBIX by `pbideploy apply` on an empty tenant; adds its rows.
fn upload(t: &mut Table, emu: &common::Emulator, path_name: &str, large: bool, mib: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    make_pbix(&dir.path().join("big.pbix"), mib);
    let bytes = std::fs::metadata(dir.path().join("big.pbix"))
        .expect("size")
        .len();
    let manifest = "apiVersion: pbideploy/v1
workspaces:
  - name: Upload bench
    create: true
    datasets:
      - name: Big
        pbix: big.pbix
        refresh: {onApply: never}
";
    common::write_manifest(dir.path(), "m.yaml", manifest);
    emu.reset();
    let args = ["apply", "--auto-approve", "-f", "m.yaml"];
    let (run, peak_kib) = run_measured(emu, dir.path(), &args);
    common::expect_exit(&run, &format!("apply ({path_name})"), &[0]);
    let via_temp_location = emu
        .log()
        .iter()
        .any(|r| r.path.ends_with("/createTemporaryUploadLocation"));
    assert_eq!(
        via_temp_location, large,
        "{path_name}: a {bytes}-byte file took the other upload path"
    );
    let secs = run.wall.as_secs_f64();
    t.info(
        &format!("{path_name}: bytes, seconds, MiB/s"),
        format!(
            "{bytes}, {secs:.1} s, {:.1} MiB/s",
            bytes as f64 / f64::from(1 << 20) / secs
        ),
    );
    let peak = peak_kib as f64 / 1024.0;
    t.check(
        &format!("{path_name}: peak RSS of the pbideploy process"),
        format!("{peak:.1} MiB"),
        format!("≤ {TARGET_MIB} MiB"),
        peak <= TARGET_MIB,
    );
}

fn main() {
    if common::serve_if_asked() {
        return;
    }
    let large: u64 = env_num("PBIDEPLOY_BENCH_LARGE_MIB", 2048);
    let multipart: u64 = env_num("PBIDEPLOY_BENCH_MULTIPART_MIB", 900);
    assert!(
        large == 0 || large >= 1024,
        "PBIDEPLOY_BENCH_LARGE_MIB={large}: the CLI sends only files over 1 GiB the large-file \
         way; give at least 1024, or 0 to leave that path out"
    );
    let emu = common::Emulator::spawn();
    let mut t = Table::default();
    if large > 0 {
        let name = "large-file (temporary upload location, 4 MiB blocks, fileUrl import)";
        upload(&mut t, &emu, name, true, large);
    }
    upload(&mut t, &emu, "multipart (streamed)", false, multipart);
    t.print("upload memory");
}
