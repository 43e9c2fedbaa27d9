//! XPress9 decode throughput (MB/s of decoded ABF) on the largest fixture, Adventure Works
//! (6.8 MB ABF), beside Microsoft's C decoder (the `ripbi-xpress9` crate) in the same run,
//! and peak RSS of each, measured in child processes (this binary re-executed) so that one
//! decoder's memory does not hide the other's. Targets: throughput at least 2/3 of C's; the
//! whole model read (`read_data_model`, streaming from the zip) within 48 MiB peak RSS.
//!
//! Run: `cargo bench -p pbix --bench xpress9` (runs: `PBIX_BENCH_RUNS`, default 15).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pbix::datamodel::{Limits, decode_xpress9_stream, read_data_model};

const FIXTURE: &str = "Adventure Works, Internet Sales.pbix";
const EXPECTED_ABF: u64 = 6_770_688;
const RSS_TARGET_MIB: f64 = 48.0;

fn fixture() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/pbix")
        .join(FIXTURE);
    path.exists().then_some(path)
}

fn data_model(path: &Path) -> Vec<u8> {
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(path).expect("fixture opens")).expect("a zip");
    let mut entry = zip.by_name("DataModel").expect("DataModel entry");
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("DataModel reads");
    bytes
}

/// Counts decoded bytes and touches them, as a real consumer (hashing, scanning) would.
#[derive(Default)]
struct Count(u64, u8);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        self.1 ^= buf.iter().fold(0, |a, b| a ^ b);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn decode_rust(part: &[u8]) -> u64 {
    let mut sink = Count::default();
    decode_xpress9_stream(part, &mut sink, &Limits::default()).expect("Rust decoder")
}

/// Microsoft's decoder through `ripbi-xpress9`: one decoder (one session) for all frames.
fn decode_c(part: &[u8]) -> u64 {
    let mut decoder = ripbi_xpress9::Decoder::new().expect("C decoder");
    let mut sink = Count::default();
    let mut out = Vec::new();
    let mut at = 102;
    while at + 8 <= part.len() {
        let decoded =
            u32::from_le_bytes([part[at], part[at + 1], part[at + 2], part[at + 3]]) as usize;
        let encoded =
            u32::from_le_bytes([part[at + 4], part[at + 5], part[at + 6], part[at + 7]]) as usize;
        out.resize(decoded, 0);
        decoder
            .decode_chunk(&part[at + 8..at + 8 + encoded], &mut out)
            .expect("C decoder decodes the fixture");
        sink.write_all(&out).expect("count");
        at += 8 + encoded;
    }
    sink.0
}

fn median_time(runs: usize, mut f: impl FnMut() -> u64) -> Duration {
    for _ in 0..2 {
        assert_eq!(f(), EXPECTED_ABF);
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(f(), EXPECTED_ABF);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Child mode: do one job, print the peak RSS in KiB.
fn child(job: &str, path: &Path) {
    match job {
        "read_data_model" => {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
            let entry = zip.by_name("DataModel").unwrap();
            let model = read_data_model(entry, &Limits::default()).expect("model reads");
            assert_eq!(model.abf_size, EXPECTED_ABF);
        }
        "rust" => assert_eq!(decode_rust(&data_model(path)), EXPECTED_ABF),
        "c" => assert_eq!(decode_c(&data_model(path)), EXPECTED_ABF),
        _ => {}
    }
    println!("{}", peak_rss_kib().unwrap_or(0));
}

fn child_rss_mib(job: &str) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe).args(["--child", job]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: u64 = text.lines().last()?.trim().parse().ok()?;
    Some(kib as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = fixture() else {
        eprintln!("NOTICE: ../shared/fixtures/pbix/{FIXTURE} is absent; benchmark not run");
        return;
    };
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args.get(i + 1).map_or("", String::as_str), &path);
        return;
    }
    let runs: usize = std::env::var("PBIX_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let part = data_model(&path);
    let mb = EXPECTED_ABF as f64 / 1e6;
    let rust = median_time(runs, || decode_rust(&part));
    let c = median_time(runs, || decode_c(&part));
    let (rust_mbs, c_mbs) = (mb / rust.as_secs_f64(), mb / c.as_secs_f64());
    let ratio = rust_mbs / c_mbs;
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("XPress9 decode of {FIXTURE} ({mb:.1} MB ABF), median of {runs} runs");
    println!("{:<44} {:>12} {:>10}", "measure", "value", "target");
    println!(
        "{:<44} {:>9.1} MB/s {:>10}",
        "Rust decoder throughput", rust_mbs, ""
    );
    println!(
        "{:<44} {:>9.1} MB/s {:>10}",
        "C decoder throughput (ripbi-xpress9)", c_mbs, ""
    );
    println!(
        "{:<44} {:>12.2} {:>10}  {}",
        "Rust / C",
        ratio,
        ">= 0.67",
        verdict(ratio >= 2.0 / 3.0)
    );
    for (job, label) in [
        ("rust", "peak RSS, Rust decode (part in memory)"),
        ("c", "peak RSS, C decode (part in memory)"),
    ] {
        match child_rss_mib(job) {
            Some(mib) => println!("{label:<44} {mib:>8.1} MiB {:>10}", ""),
            None => println!("{label:<44} {:>12}", "n/a"),
        }
    }
    match child_rss_mib("read_data_model") {
        Some(mib) => println!(
            "{:<44} {mib:>8.1} MiB {:>10}  {}",
            "peak RSS, read_data_model (streamed)",
            "<= 48 MiB",
            verdict(mib <= RSS_TARGET_MIB)
        ),
        None => println!(
            "{:<44} {:>12}  MISS",
            "peak RSS, read_data_model (streamed)", "n/a"
        ),
    }
}
