//! Shared by the benchmarks: the emulator in a child process (this bench binary re-executed
//! with `serve`, so it is built with the bench profile and its CPU is not counted as the
//! client's), its control API, the `pbideploy` binary run as users run it, generated
//! manifests, and the PASS/MISS table.
//!
//! A bench never panics on a missed target: it prints a MISS row. It panics only when it
//! cannot run at all (no emulator, a failed setup), with a message saying which step failed.

#![allow(dead_code)]

pub mod fabric_sequential;
pub mod sequential;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Reads a numeric setting from the environment (documented in each bench's header).
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// When the bench binary was started as `<bench> serve`, runs the emulator until killed and
/// returns true; `main` returns at once then.
pub fn serve_if_asked() -> bool {
    if std::env::args().nth(1).as_deref() != Some("serve") {
        return false;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime for the emulator");
    rt.block_on(async {
        let emu = pbideploy_emulator::start(pbideploy_emulator::config::EmulatorConfig::default())
            .await
            .expect("start emulator");
        println!("{}", emu.url());
        std::future::pending::<()>().await;
    });
    true
}

/// The emulator child process; killed on drop.
pub struct Emulator {
    pub url: String,
    child: Child,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// One entry of the emulator's request log.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub request_id: String,
}

impl Emulator {
    /// Starts the emulator (this binary, `serve`) and waits for its URL.
    pub fn spawn() -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn emulator");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("emulator stdout"))
            .read_line(&mut first)
            .expect("emulator url");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .expect("http client");
        Self {
            url: first.trim().to_string(),
            child,
            http,
            rt: tokio::runtime::Runtime::new().expect("runtime"),
        }
    }

    /// Runs `f` on the bench's runtime (the control calls are async reqwest).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The HTTP client the control calls use.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn post_json(&self, path: &str, body: Option<&Value>) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.and_then(|r| r.error_for_status());
        let resp = resp.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        resp.json()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Sets run-time knobs (`latencyMs`, `importDelayMs`, `throttleRps`, …).
    pub fn knobs(&self, knobs: Value) {
        self.block_on(self.post_json("/_emulator/faults", Some(&knobs)));
    }

    /// Back to an empty tenant with no knobs and an empty log.
    pub fn reset(&self) {
        self.block_on(self.post_json("/_emulator/reset", None));
    }

    /// The whole request log, oldest first.
    pub fn log(&self) -> Vec<Logged> {
        let v: Result<Value, reqwest::Error> = self.block_on(async {
            let resp = self.http.get(format!("{}/_emulator/requests", self.url));
            resp.send().await?.json().await
        });
        let v = v.expect("request log");
        let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_string();
        v["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| Logged {
                        method: s(r, "method"),
                        path: s(r, "path"),
                        query: s(r, "query"),
                        status: r["status"].as_u64().unwrap_or_default() as u16,
                        request_id: s(r, "requestId"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The id of the newest logged request: a mark for [`Emulator::log_since`].
    pub fn mark(&self) -> Option<String> {
        self.log().last().map(|r| r.request_id.clone())
    }

    /// The requests logged after `mark` (the log keeps its last 10,000 entries).
    pub fn log_since(&self, mark: &Option<String>) -> Vec<Logged> {
        let log = self.log();
        let start = mark
            .as_ref()
            .and_then(|m| log.iter().position(|r| &r.request_id == m))
            .map_or(0, |i| i + 1);
        log[start..].to_vec()
    }

    /// A bearer token for direct calls (the baseline replays).
    pub fn token(&self) -> String {
        let v: Result<Value, reqwest::Error> = self.block_on(async {
            let resp = self
                .http
                .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.url))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("client_secret", "bench"),
                    ("scope", "https://analysis.windows.net/powerbi/api/.default"),
                ]);
            resp.send().await?.json().await
        });
        let v = v.expect("token");
        v["access_token"]
            .as_str()
            .expect("access_token in the token answer")
            .to_string()
    }
}

/// What a logged request read, by path shape.
pub fn kind(r: &Logged) -> &'static str {
    let path = r.path.strip_prefix("/v1.0/myorg").unwrap_or(&r.path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let lower = |i: usize| parts.get(i).map(|s| s.to_ascii_lowercase());
    if r.method != "GET" && !r.path.ends_with("/oauth2/v2.0/token") {
        return write_kind(&r.method, &parts);
    }
    match (parts.len(), parts.first().copied()) {
        _ if r.path.ends_with("/oauth2/v2.0/token") => "token",
        (1, Some("groups")) => "workspace by name",
        (3, Some("groups")) => match lower(2).as_deref() {
            Some("users") => "workspace users",
            Some("datasets") => "dataset list",
            Some("reports") => "report list",
            Some("imports") => "import list",
            _ => "other",
        },
        (5, Some("groups")) => match lower(4).as_deref() {
            Some("parameters") => "dataset: parameters",
            Some("datasources") => "dataset: data sources",
            Some("default.getboundgatewaydatasources") => "dataset: bound gateway sources",
            Some("refreshschedule" | "directqueryrefreshschedule") => "dataset: refresh schedule",
            _ => "other",
        },
        (1, Some("gateways")) => "gateways",
        (3, Some("gateways")) => "gateway data sources",
        (4, Some("groups")) if lower(2).as_deref() == Some("imports") => "import status",
        (5, Some("gateways")) => "dataset: data source status",
        _ => "other",
    }
}

pub fn by_kind(log: &[Logged]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in log {
        *m.entry(kind(r)).or_default() += 1;
    }
    m
}

/// What a logged write did.
fn write_kind(method: &str, parts: &[&str]) -> &'static str {
    let last = parts
        .last()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    match (method, last.as_str()) {
        ("POST", "groups") => "write: create workspace",
        ("POST", "imports") => "write: import",
        ("POST", "users") => "write: add user",
        ("POST", "default.takeover") => "write: take over",
        ("POST", "default.updateparameters") => "write: parameters",
        ("POST", "default.updatedatasources") => "write: data sources",
        ("POST", "default.bindtogateway") => "write: bind to gateway",
        ("POST", "rebind") => "write: rebind report",
        ("POST", "refreshes") => "write: refresh",
        ("PATCH", _) if parts.first() == Some(&"gateways") => "write: credentials",
        ("PATCH", "refreshschedule" | "directqueryrefreshschedule") => "write: refresh schedule",
        _ => {
            if std::env::var_os("PBIDEPLOY_BENCH_DEBUG").is_some() {
                eprintln!("other write: {method} /{}", parts.join("/"));
            }
            "write: other"
        }
    }
}

/// Tenant and client id the benches authenticate as (the emulator's open authentication).
pub const TENANT: &str = "bench";
pub const CLIENT_ID: &str = "pbideploy-bench";
/// The secret the generated manifests' credentials reference.
pub const PASSWORD_VAR: &str = "PBIDEPLOY_BENCH_SQL_PASSWORD";

/// What one `pbideploy` run did.
pub struct Run {
    pub code: i32,
    pub wall: Duration,
    pub stdout: String,
    pub stderr: String,
}

/// The `pbideploy` binary pointed at the emulator, authenticating with a client secret
/// through the azure-identity variables, as a pipeline would.
pub fn pbideploy_command(emu: &Emulator, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pbideploy"));
    cmd.current_dir(dir)
        .args(args)
        .args(["--service-url", &emu.url, "--color", "never"])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", "bench")
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .env(PASSWORD_VAR, "bench-password")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("RUST_LOG");
    cmd
}

/// Waits for `child` and returns its exit code and its peak resident set in KiB, as the
/// kernel kept it for that process alone (`ru_maxrss` from `wait4`; Linux counts in KiB).
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which std's wait cannot do with rusage (an `expect` \
              would be unfulfilled in the benches that do not call this)"
)]
pub fn wait_with_peak_rss(child: Child) -> (i32, u64) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let mut status = 0;
    // SAFETY: `rusage` is plain integers, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is this process's own child, not yet reaped (`child` is never waited
        // on through std); both pointers are to live locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

/// Runs [`pbideploy_command`] to its end.
pub fn pbideploy(emu: &Emulator, dir: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let out = pbideploy_command(emu, dir, args)
        .output()
        .expect("run pbideploy");
    Run {
        code: out.status.code().unwrap_or(-1),
        wall: start.elapsed(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Panics with the run's output unless it exited with one of `codes`.
pub fn expect_exit(run: &Run, what: &str, codes: &[i32]) {
    if !codes.contains(&run.code) {
        let tail = |s: &str| s.lines().rev().take(30).collect::<Vec<_>>().join("\n");
        panic!(
            "{what}: pbideploy exited {}\n--- stdout (last lines, reversed)\n{}\n--- stderr\n{}",
            run.code,
            tail(&run.stdout),
            tail(&run.stderr)
        );
    }
}

/// A temporary directory with the repository's example PBIX files under `pbix/`.
pub fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/pbix");
    std::fs::create_dir_all(dir.path().join("pbix")).expect("pbix dir");
    for f in ["inventory-dq.pbix", "sales-summary.pbix"] {
        std::fs::copy(src.join(f), dir.path().join("pbix").join(f)).expect("copy pbix");
    }
    dir
}

/// Which features each generated dataset manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Features {
    /// Parameters, data-source re-pointing, gateway, credentials, schedule, access.
    All,
    /// A parameter (the server) and Basic credentials on the cloud data source it names.
    CloudParams,
    /// Only the PBIX.
    None,
}

/// The server [`Features::CloudParams`] sets, and the credentials it gives it.
pub const CLOUD_SERVER: &str = "sql02.database.windows.net";
pub const CLOUD_USER: &str = "svc_powerbi";

/// A manifest of `workspaces` × `datasets` datasets (the example DirectQuery PBIX) and
/// `reports` thin reports per workspace, report i bound to dataset i % datasets.
pub fn manifest(workspaces: usize, datasets: usize, reports: usize, features: Features) -> String {
    let mut m = String::from("apiVersion: pbideploy/v1\nworkspaces:\n");
    for w in 0..workspaces {
        m += &format!("  - name: Bench {w:03}\n    create: true\n");
        if features == Features::All {
            m += "    access:\n      - {principal: bench-readers@contoso.com, principalType: Group, role: Viewer}\n";
        }
        m += "    datasets:\n";
        for d in 0..datasets {
            m += &format!("      - name: Model {d:03}\n        pbix: pbix/inventory-dq.pbix\n");
            match features {
                Features::All => m += &full_dataset(),
                Features::CloudParams => m += &cloud_dataset(),
                Features::None => {}
            }
        }
        if reports > 0 {
            m += "    reports:\n";
        }
        for r in 0..reports {
            let d = r % datasets.max(1);
            m += &format!(
                "      - name: Report {r:03}\n        pbix: pbix/sales-summary.pbix\n        dataset: Model {d:03}\n"
            );
        }
    }
    m
}

fn full_dataset() -> String {
    format!(
        r#"        parameters: {{Server: sql01, Database: Inventory}}
        datasources:
          - match: {{type: Sql, connectionDetails: {{server: sql01, database: Inventory}}}}
            set: {{connectionDetails: {{server: sql01.corp.contoso.com, database: Inventory}}}}
        gateway: {{name: Local Gateway, createDatasources: true}}
        credentials:
          - match: {{type: Sql, connectionDetails: {{server: sql01.corp.contoso.com}}}}
            type: Basic
            username: svc_powerbi
            password: {{env: {PASSWORD_VAR}}}
        refresh:
          onApply: never
          schedule: {{frequency: 60, timeZone: UTC}}
"#
    )
}

fn cloud_dataset() -> String {
    format!(
        r#"        parameters: {{Server: {CLOUD_SERVER}}}
        credentials:
          - match: {{type: Sql, connectionDetails: {{server: {CLOUD_SERVER}}}}}
            type: Basic
            username: {CLOUD_USER}
            password: {{env: {PASSWORD_VAR}}}
        refresh: {{onApply: never}}
"#
    )
}

/// Writes `text` as `m.yaml` in `dir`; returns its path.
pub fn write_manifest(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write manifest");
    path
}

/// The results table: one row per figure, PASS/MISS where a target applies.
#[derive(Default)]
pub struct Table {
    rows: Vec<(String, String, String)>,
}

impl Table {
    /// A figure without a target.
    pub fn info(&mut self, what: &str, value: String) {
        self.rows.push((what.into(), value, String::new()));
    }

    /// A figure with its target; `ok` says whether it is met.
    pub fn check(&mut self, what: &str, value: String, target: String, ok: bool) {
        let verdict = if ok { "PASS" } else { "MISS" };
        self.rows
            .push((what.into(), value, format!("{verdict} (target {target})")));
    }

    /// Prints the table.
    pub fn print(&self, title: &str) {
        let w0 = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w1 = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        println!("\n{title}");
        for (a, b, c) in &self.rows {
            println!("  {a:<w0$}  {b:<w1$}  {c}");
        }
    }
}

/// Seconds with three decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}
