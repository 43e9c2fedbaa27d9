//! The manifest loader on arbitrary bytes: `load` must return a manifest or diagnostics
//! (never panic, never hang), and the diagnostics must render as text and JSON.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One folder for the whole run (the manifest's root; it holds no PBIX, so references to
/// files are diagnosed as missing or outside, which is a path worth exercising too).
fn manifest_path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder for the fuzz run");
        let path = dir.path().join("pbideploy.yaml");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    let path = manifest_path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    for env in [None, Some("prod")] {
        if let Err(diags) = pbideploy::manifest::load(path, env, &[]) {
            let _ = diags.render(false);
            let _ = diags.render(true);
            let _ = diags.to_json();
        }
    }
});
