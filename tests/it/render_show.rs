//! `pbideploy show FILE` end to end on plan files written by the test.

use crate::render_fixture;

use predicates::prelude::*;

fn saved_rich_plan(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("plan.json");
    pbideploy::plan::file::write_plan(&path, &render_fixture::rich()).unwrap();
    path
}

#[test]
fn show_renders_text_without_colour_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_rich_plan(&dir);
    let out = crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('\x1b'), "colour codes when not a TTY");
    assert_eq!(
        text,
        pbideploy::plan::render::render_text(&render_fixture::rich(), false)
    );
}

#[test]
fn show_colour_always_keeps_colour() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_rich_plan(&dir);
    crate::support::pbideploy()
        .args(["--color", "always", "show"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b[32m"));
}

#[test]
fn show_renders_markdown_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_rich_plan(&dir);
    crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .args(["--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("### pbideploy plan"));
    let out = crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let back: pbideploy::plan::model::Plan = serde_json::from_slice(&out).unwrap();
    assert_eq!(back, render_fixture::rich());
}

#[test]
fn show_refuses_a_corrupt_file_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt-plan.json");
    std::fs::write(&path, b"{\"format_version\": \"1.0\", \"changes\": [tru").unwrap();
    crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("corrupt-plan.json"))
        .stderr(predicate::str::contains("not a pbideploy plan file"));
}

#[test]
fn show_refuses_a_newer_format_and_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.json");
    std::fs::write(&path, b"{\"format_version\": \"7.1\"}").unwrap();
    crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("future.json"))
        .stderr(predicate::str::contains("newer"));
    crate::support::pbideploy()
        .arg("show")
        .arg(dir.path().join("absent.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("absent.json"));
}
