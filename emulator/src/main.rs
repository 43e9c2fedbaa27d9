//! `pbideploy-emulator`: serves a local Power BI service until interrupted. The first stdout
//! line is the base URL.

use clap::Parser;
use pbideploy_emulator::{EmulatorConfig, start};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A local model of the Power BI REST service for tests, demos and dry runs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tenant file (JSON) seeding the state; see emulator/README.md.
    #[arg(long)]
    tenant: Option<PathBuf>,
    /// State file: loaded at start, saved after every change.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Latency added to every API request, ms.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Random extra latency up to this many ms.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// How long imports and refreshes stay in progress, ms.
    #[arg(long, default_value_t = 0)]
    import_delay_ms: u64,
    /// Requests per second per principal before 429 (0 = unlimited).
    #[arg(long, default_value_t = 0.0)]
    throttle_rps: f64,
    /// Probability (0..1) of an injected fault per request/import.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Random seed (ids, tokens, faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How long Fabric long-running operations run, ms.
    #[arg(long, default_value_t = 0)]
    lro_delay_ms: u64,
    /// Fabric calls answer at once (201/200) instead of with an operation (202).
    #[arg(long)]
    lro_sync: bool,
    /// Items per page of the Fabric items list (0 = 100).
    #[arg(long, default_value_t = 0)]
    items_page_size: usize,
    /// How long a deleted Fabric item's name stays unavailable, ms.
    #[arg(long, default_value_t = 0)]
    name_hold_ms: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let config = EmulatorConfig {
        listen: a.listen,
        tenant: a.tenant,
        state_file: a.state_file,
        latency_ms: a.latency_ms,
        jitter_ms: a.jitter_ms,
        import_delay_ms: a.import_delay_ms,
        throttle_rps: a.throttle_rps,
        fault_rate: a.fault_rate,
        seed: a.seed,
        lro_delay_ms: a.lro_delay_ms,
        lro_sync: a.lro_sync,
        items_page_size: a.items_page_size,
        name_hold_ms: a.name_hold_ms,
    };
    let emu = match start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    println!("{}", emu.url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    std::process::ExitCode::SUCCESS
}
