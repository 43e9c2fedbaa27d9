//! A release archive as `dist build` makes it (#19), unpacked and run as a user would: the
//! layout the Action, the Azure DevOps example and `cargo binstall` rely on, its checksum, the
//! notices it must carry, `pbideploy --version`, and the README quickstart against
//! `--service local`.
//!
//! The archive is slow to build, so this test checks one it is handed: build it with
//! `dist build --artifacts=local --target=<host>`, then run this test with
//! PBIDEPLOY_RELEASE_ARCHIVE=<path of the .tar.xz>. Without the variable it prints
//! `SKIP release_archive: ...` and returns. In CI it runs twice, because the archive is built
//! after the tests: `cargo test --workspace` runs first, before any archive exists, and skips
//! it; then `.ci/run`'s release section builds the Linux archive with `dist build` and runs
//! this test again with the variable set, failing CI unless the test reports `ok` there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What every archive must carry beside the binary.
const DOCUMENTS: [&str; 3] = ["LICENSE", "README.md", "THIRD-PARTY-NOTICES.md"];

fn archive() -> Option<PathBuf> {
    match std::env::var_os("PBIDEPLOY_RELEASE_ARCHIVE") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            // Straight to stdout, which libtest does not capture (`println!` it does): the
            // skip shows in every run, as the ../shared rule's does.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stdout(),
                "SKIP release_archive: PBIDEPLOY_RELEASE_ARCHIVE is not set (build one with `dist build --artifacts=local`; in CI, .ci/run runs this test again with the archive it builds)"
            );
            None
        }
    }
}

/// `pbideploy-<target>` from `.../pbideploy-<target>.tar.xz`.
fn folder_name(archive: &Path) -> String {
    let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let folder = name
        .strip_suffix(".tar.xz")
        .unwrap_or_else(|| panic!("{} is not a .tar.xz release archive", archive.display()));
    assert!(
        folder.starts_with("pbideploy-"),
        "{name}: want pbideploy-<target>.tar.xz"
    );
    folder.to_owned()
}

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {} {args:?}: {e}", program.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The checksum file beside the archive is what install scripts check: `<sha256>  <name>`.
fn assert_checksum(archive: &Path, dir: &Path) {
    let sums = PathBuf::from(format!("{}.sha256", archive.display()));
    let expected =
        std::fs::read_to_string(&sums).unwrap_or_else(|e| panic!("read {}: {e}", sums.display()));
    let out = run(Path::new("sha256sum"), &[archive.to_str().unwrap()], dir);
    assert!(out.status.success(), "{out:?}");
    let actual = text(&out.stdout);
    assert_eq!(
        expected.split_whitespace().next(),
        actual.split_whitespace().next(),
        "{} does not match the archive",
        sums.display()
    );
}

/// A copy of the quickstart (manifest and PBIX files) in `dir`, so the local service's state,
/// kept beside the manifest, starts empty.
fn copy_quickstart(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    std::fs::copy(root.join("quickstart.yaml"), dir.join("quickstart.yaml")).unwrap();
    std::fs::create_dir(dir.join("pbix")).unwrap();
    for entry in std::fs::read_dir(root.join("pbix")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("pbix").join(entry.file_name())).unwrap();
    }
}

#[test]
fn release_archive_unpacks_names_its_build_and_runs_the_quickstart() {
    let Some(archive) = archive() else { return };
    assert!(archive.is_file(), "{} is absent", archive.display());
    let work = tempfile::tempdir().unwrap();
    assert_checksum(&archive, work.path());

    let out = run(
        Path::new("tar"),
        &["-xJf", archive.to_str().unwrap(), "-C", "."],
        work.path(),
    );
    assert!(out.status.success(), "unpack: {out:?}");
    let folder = folder_name(&archive);
    let unpacked = work.path().join(&folder);
    let bin = unpacked.join("pbideploy");
    assert!(bin.is_file(), "{folder}/pbideploy is missing");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in DOCUMENTS {
        let shipped = std::fs::read(unpacked.join(doc))
            .unwrap_or_else(|e| panic!("{folder}/{doc} is missing: {e}"));
        assert_eq!(
            shipped,
            std::fs::read(root.join(doc)).unwrap(),
            "{folder}/{doc} differs from the repository's"
        );
    }

    let out = run(&bin, &["--version"], work.path());
    assert!(out.status.success(), "{out:?}");
    let target = folder.strip_prefix("pbideploy-").unwrap();
    let version = text(&out.stdout);
    let want = format!("pbideploy {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&want), "{version:?}: want {want:?}…");
    assert!(
        version.trim_end().ends_with(&format!(", target {target})")),
        "{version:?} should name the archive's target {target}"
    );

    // The README quickstart: plan shows changes, apply makes them, plan again shows none.
    let project = work.path().join("project");
    std::fs::create_dir(&project).unwrap();
    copy_quickstart(&project);
    let plan = [
        "plan",
        "--service",
        "local",
        "--detailed-exitcode",
        "-f",
        "quickstart.yaml",
    ];
    let out = run(&bin, &plan, &project);
    assert_eq!(out.status.code(), Some(2), "first plan: {out:?}");
    let apply = [
        "apply",
        "--service",
        "local",
        "--auto-approve",
        "-f",
        "quickstart.yaml",
    ];
    let out = run(&bin, &apply, &project);
    assert!(out.status.success(), "apply: {out:?}");
    let out = run(&bin, &plan, &project);
    assert_eq!(out.status.code(), Some(0), "plan after apply: {out:?}");
    assert!(
        text(&out.stdout).contains("No changes. The service matches the manifest."),
        "{out:?}"
    );
}
