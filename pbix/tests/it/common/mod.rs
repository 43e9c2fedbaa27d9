//! Locating the shared PBIX fixtures and their expected models (made by pbixray with
//! Microsoft's C decoder). Absent fixtures skip with a notice, but fail under CI.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/pbix");

#[path = "../../../../tests/it/common/shared_data.rs"]
mod shared_rule;

/// `../shared/<rel>` beside the repository, or `None` after a visible SKIP notice; fails under
/// CI (the one rule: `tests/it/common/shared_data.rs`).
pub fn shared_data(rel: &str) -> Option<std::path::PathBuf> {
    shared_rule::beside(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        rel,
    )
}

/// The expected models, or `None` (see [`shared_data`]) when `../shared` is absent.
pub fn expected_models() -> Option<Vec<Value>> {
    let path = shared_data("fixtures/pbix/expected-models.json")?;
    let text = std::fs::read_to_string(&path).expect("expected-models.json is readable");
    let parsed: Value = serde_json::from_str(&text).expect("expected-models.json is JSON");
    Some(parsed.as_array().expect("a JSON array").clone())
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The fixtures that carry a `DataModel` part, with their expected entry.
pub fn data_model_fixtures() -> Option<Vec<(String, Value)>> {
    let models = expected_models()?;
    let list: Vec<(String, Value)> = models
        .into_iter()
        .filter(|m| m["dataModel"].is_object())
        .map(|m| (m["file"].as_str().expect("file name").to_owned(), m))
        .collect();
    assert!(list.len() >= 9, "expected at least nine DataModel fixtures");
    Some(list)
}

/// The raw bytes of a fixture's `DataModel` zip entry.
pub fn data_model_bytes(file: &str) -> Vec<u8> {
    let f = std::fs::File::open(fixture_path(file)).expect("fixture opens");
    let mut zip = zip::ZipArchive::new(f).expect("fixture is a zip");
    let mut entry = zip.by_name("DataModel").expect("DataModel entry");
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("DataModel reads");
    bytes
}
