//! The one hermetic way a test runs the CLI: the `pbideploy` binary with an empty
//! environment except `PATH`, so what a developer or CI exported (`PBIDEPLOY_ENV`,
//! `GITHUB_ACTIONS`, `AZURE_*`, `NO_COLOR`, ...) never changes a result; a test sets exactly
//! the variables it means. Plus the small file helpers several suites share.

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
