//! The PBIX readers on arbitrary bytes: the `pbix` crate's `Pbix::open` (whole file and
//! kind only, as `validate` reads), pbideploy's thin-report retargeting (it opens the ZIP,
//! parses `Connections` and copies every other part) and the emulator's service view built
//! on the crate. Each must return a value or an error, never panic or hang.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pbideploy::pbix::{DatasetTarget, retarget_to_temp};

fn pbix_path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder for the fuzz run");
        let path = dir.path().join("input.pbix");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    let path = pbix_path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let target = DatasetTarget {
        dataset_id: "00000000-0000-0000-0000-000000000001".into(),
        dataset_name: "Sales".into(),
        workspace_name: "Fuzz".into(),
    };
    for kind_only in [false, true] {
        let options = pbix::Options {
            kind_only,
            ..pbix::Options::default()
        };
        let _ = pbix::Pbix::from_reader(std::io::Cursor::new(data), false, &options);
    }
    let _ = pbix::Pbix::open(path);
    let _ = retarget_to_temp(path, &target);
    let _ = pbideploy_emulator::pbix::inspect_pbix(path);
    let _ = pbideploy::pbix::rewrite_connections(data, &target);
});
