//! The one hermetic way a test runs the CLI: the `pbideploy` binary with an empty
//! environment except `PATH`, so what a developer or CI exported (`PBIDEPLOY_ENV`,
//! `GITHUB_ACTIONS`, `AZURE_*`, `NO_COLOR`, ...) never changes a result; a test sets exactly
//! the variables it means. Plus the one way a test snapshots what a CLI run printed
//! ([`assert_cli_snapshot!`]) and the small file helpers several suites share.

#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

/// `pbideploy` with a cleared environment (only `PATH` kept).
pub fn pbideploy() -> assert_cmd::Command {
    assert_cmd::Command::from_std(pbideploy_process())
}

/// The same hermetic command as a `std::process::Command`, for suites that spawn and kill it.
pub fn pbideploy_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("pbideploy"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null());
    cmd
}

/// Exit code (-1 when killed by a signal) and stdout followed by stderr, as text.
pub fn code_and_text(out: &Output) -> (i32, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// What one CLI run showed its user: exit code (-1 when killed by a signal), stdout, stderr.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<&Output> for Run {
    fn from(out: &Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run::from(&out)
    }
}

/// Snapshots a [`Run`] (exit code, stdout, stderr, each labelled) with insta, after the
/// filters of [`cli_snapshot_settings`]. A macro so that the snapshot is named after the
/// calling test and module: `assert_cli_snapshot!(run)`, or `assert_cli_snapshot!(name, run)`
/// for a test that snapshots more than one run.
macro_rules! assert_cli_snapshot {
    ($name:expr, $run:expr) => {{
        let text = $crate::support::transcript(&$run);
        $crate::support::cli_snapshot_settings().bind(|| insta::assert_snapshot!($name, text));
    }};
    ($run:expr) => {{
        let text = $crate::support::transcript(&$run);
        $crate::support::cli_snapshot_settings().bind(|| insta::assert_snapshot!(text));
    }};
}
pub(crate) use assert_cli_snapshot;

/// The text a CLI snapshot freezes: every part labelled, an empty stream said so.
pub fn transcript(run: &Run) -> String {
    let stream = |text: &str| {
        if text.is_empty() {
            "(empty)\n".to_owned()
        } else if text.ends_with('\n') {
            text.to_owned()
        } else {
            format!("{text}\n(no newline at the end)\n")
        }
    };
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code,
        stream(&run.stdout),
        stream(&run.stderr)
    )
}

/// The insta settings of CLI snapshots: filters for exactly what differs between runs and
/// machines, each narrow enough not to hide what a test is about. Temp folders made by
/// `tempfile` (`[TMP]`), this checkout (`[REPO]`), the emulator's port, step timings, GUIDs
/// (the emulator makes ids at run time), RFC 3339 timestamps and the package version. Paths
/// keep their separators: the snapshots are checked on Unix (CI runs the tests on Linux).
pub fn cli_snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    let temp = std::env::temp_dir();
    let mut temps = vec![temp.clone()];
    if let Ok(canonical) = temp.canonicalize() {
        temps.push(canonical);
    }
    for dir in temps {
        let dir = dir.display().to_string();
        let dir = dir.trim_end_matches(['/', '\\']);
        settings.add_filter(
            &format!(r"{}[/\\]\.tmp[0-9A-Za-z]{{6}}", regex_escape(dir)),
            "[TMP]",
        );
    }
    settings.add_filter(&regex_escape(env!("CARGO_MANIFEST_DIR")), "[REPO]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    // apply's step lines: `... after 0.3s` and `... [2s elapsed]`.
    settings.add_filter(r"\bafter \d+\.\ds\b", "after [DURATION]");
    settings.add_filter(r"\[\d+s elapsed\]", "[[DURATION] elapsed]");
    // Ids the emulator makes at run time; its fixed local gateway id stays as it is (set
    // aside around the GUID filter, since the regex crate has no look-around).
    let gateway = pbideploy_emulator::config::LOCAL_GATEWAY_ID;
    settings.add_filter(&regex_escape(gateway), "[LOCAL-GATEWAY-ID]");
    settings.add_filter(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "[GUID]",
    );
    settings.add_filter(r"\[LOCAL-GATEWAY-ID\]", gateway);
    settings.add_filter(
        r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIMESTAMP]",
    );
    settings.add_filter(
        &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    settings
}

/// `text` as a regular expression matching itself.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Copies the tree `from` into `to`, leaving out what `skip` says (by file name).
pub fn copy_dir_filtered(from: &Path, to: &Path, skip: &dyn Fn(&std::fs::DirEntry) -> bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if skip(&entry) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir_filtered(&entry.path(), &target, skip);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Copies the tree `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    copy_dir_filtered(from, to, &|_| false);
}
