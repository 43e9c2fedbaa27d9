//! The GitHub Action's install step (`action/install.sh`, #19) run as the runner would, with a
//! local release archive served over `file://` and a fake GITHUB_* environment.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TARGET: &str = "x86_64-unknown-linux-musl";

/// A release layout `<root>/v0.1.0/pbideploy-<target>.tar.xz` (+ `.sha256`) whose binary is a
/// script printing a marker, so the test needs no release build.
fn release(root: &Path, corrupt_checksum: bool) {
    let stage = root.join("stage").join(format!("pbideploy-{TARGET}"));
    fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("pbideploy");
    fs::write(&bin, "#!/bin/sh\necho fake-pbideploy \"$@\"\n").unwrap();
    run("chmod", &["+x", bin.to_str().unwrap()], root);
    let dir = root.join("v0.1.0");
    fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(format!("pbideploy-{TARGET}.tar.xz"));
    let stage_parent = root.join("stage");
    let name = format!("pbideploy-{TARGET}");
    run(
        "tar",
        &[
            "-cJf",
            archive.to_str().unwrap(),
            "-C",
            stage_parent.to_str().unwrap(),
            &name,
        ],
        root,
    );
    let sum = run("sha256sum", &[archive.to_str().unwrap()], root);
    let mut hash = String::from_utf8(sum.stdout).unwrap()[..64].to_owned();
    if corrupt_checksum {
        hash.replace_range(0..1, if hash.starts_with('0') { "1" } else { "0" });
    }
    fs::write(
        dir.join(format!("pbideploy-{TARGET}.tar.xz.sha256")),
        format!("{hash}  pbideploy-{TARGET}.tar.xz\n"),
    )
    .unwrap();
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    out
}

struct Runner {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Runner {
    fn new(corrupt_checksum: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        release(&root.join("releases"), corrupt_checksum);
        fs::create_dir_all(root.join("toolcache")).unwrap();
        Runner { _dir: dir, root }
    }

    fn install(&self, version: &str) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh");
        Command::new("bash")
            .arg(script)
            .env("PBIDEPLOY_VERSION", version)
            .env("PBIDEPLOY_TARGET", TARGET)
            .env(
                "PBIDEPLOY_RELEASES_URL",
                format!("file://{}", self.root.join("releases").display()),
            )
            .env("RUNNER_TOOL_CACHE", self.root.join("toolcache"))
            .env("GITHUB_PATH", self.root.join("github_path"))
            .env("GITHUB_OUTPUT", self.root.join("github_output"))
            .output()
            .unwrap()
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.root.join(name)).unwrap_or_default()
    }
}

#[test]
fn install_verifies_unpacks_caches_and_exports_the_path() {
    let runner = Runner::new(false);
    let out = runner.install("v0.1.0");
    assert!(out.status.success(), "{out:?}");
    let bin_dir = runner.root.join(format!(
        "toolcache/pbideploy/0.1.0/{TARGET}/pbideploy-{TARGET}"
    ));
    assert_eq!(
        runner.read("github_path"),
        format!("{}\n", bin_dir.display())
    );
    assert_eq!(
        runner.read("github_output"),
        format!("path={}/pbideploy\n", bin_dir.display())
    );
    let ran = Command::new(bin_dir.join("pbideploy"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "fake-pbideploy --version\n"
    );

    // Cached: a second install succeeds without the download (the release is gone).
    fs::remove_dir_all(runner.root.join("releases")).unwrap();
    let again = runner.install("0.1.0");
    assert!(again.status.success(), "{again:?}");
}

#[test]
fn install_refuses_an_archive_whose_checksum_does_not_match() {
    let runner = Runner::new(true);
    let out = runner.install("0.1.0");
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(
        !runner.root.join("toolcache/pbideploy").exists(),
        "nothing is cached"
    );
    assert_eq!(runner.read("github_path"), "");
}

#[test]
fn install_refuses_an_unpinned_version() {
    let runner = Runner::new(false);
    let out = runner.install("latest");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a pinned release"));
}
