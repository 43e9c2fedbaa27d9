//! `pbideploy show FILE` end to end on plan files written by the test.

use crate::render_fixture;

use crate::support::{Run, assert_cli_snapshot};
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
        .stdout(pbideploy::plan::render::render_markdown(
            &render_fixture::rich(),
        ));
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
    let out = crate::support::pbideploy()
        .arg("show")
        .arg(&path)
        .output()
        .unwrap();
    assert_cli_snapshot!(Run::from(out));
}

#[test]
fn show_refuses_a_newer_format_and_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.json");
    std::fs::write(&path, b"{\"format_version\": \"7.1\"}").unwrap();
    let show = |path: &std::path::Path| {
        Run::from(
            crate::support::pbideploy()
                .arg("show")
                .arg(path)
                .output()
                .unwrap(),
        )
    };
    assert_cli_snapshot!("newer", show(&path));
    assert_cli_snapshot!("absent", show(&dir.path().join("absent.json")));
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    // `pbideploy show plan.json | head -0`: the reader is gone before pbideploy writes.
    let dir = tempfile::tempdir().unwrap();
    let path = saved_rich_plan(&dir);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pbideploy"))
        .arg("show")
        .arg(&path)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn verbose_errors_show_their_causes() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.json");
    let verbose = crate::support::pbideploy()
        .args(["-v", "show"])
        .arg(&absent)
        .output()
        .unwrap();
    assert_cli_snapshot!("verbose", Run::from(verbose));
    let quiet = crate::support::pbideploy()
        .arg("show")
        .arg(&absent)
        .output()
        .unwrap();
    assert_cli_snapshot!("quiet", Run::from(quiet));
}
