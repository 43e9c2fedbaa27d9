//! `validate` checks datasets against the model in their PBIX (#14): on the real files of
//! `../shared/fixtures/pbix` (modern XPress9 models, a DirectQuery model whose M lives in the
//! legacy mashup, a 2016 file the reader refuses), as a user runs it, through the binary.

use crate::support::{Run, assert_cli_snapshot};

/// Copies `files` from the shared fixtures into `pbix/` of a temp folder holding `manifest`,
/// runs `pbideploy <args> validate -f m.yaml` there.
fn validate(files: &[&str], manifest: &str, args: &[&str]) -> Option<Run> {
    let fixtures = crate::common::shared_data("fixtures/pbix")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    for f in files {
        std::fs::copy(fixtures.join(f), dir.path().join("pbix").join(f)).unwrap();
    }
    Some(validate_in(dir.path(), manifest, args))
}

/// Writes `manifest` as `m.yaml` in `dir` and runs `pbideploy <args> validate -f m.yaml`
/// there, with the model cache in `dir`.
fn validate_in(dir: &std::path::Path, manifest: &str, args: &[&str]) -> Run {
    std::fs::write(dir.join("m.yaml"), manifest).unwrap();
    let out = crate::support::pbideploy_process()
        .current_dir(dir)
        .env("PBIDEPLOY_CACHE_DIR", dir.join("cache"))
        .args(args)
        .args(["validate", "-f", "m.yaml", "--color", "never"])
        .output()
        .unwrap();
    Run::from(out)
}

fn dataset(file: &str, body: &str) -> String {
    format!(
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: W\n    datasets:\n      - name: D\n        pbix: pbix/{file}\n{body}"
    )
}

#[test]
fn a_credential_rule_matching_nothing_in_a_modern_pbix_fails_at_its_position() {
    let body = "        credentials:\n          - match: {type: Sql, connectionDetails: {server: sql01}}\n            type: Basic\n            username: u\n            password: {env: PW}\n";
    let file = "Regional Sales Sample.pbix";
    let Some(run) = validate(&[file], &dataset(file, body), &[]) else {
        return;
    };
    // Names the source the file has (Web url=https://microsoft-my.sharepoint.com/...).
    assert_cli_snapshot!(run);
    // The same rule written for the file's source passes.
    let ok = body.replace(
        "{type: Sql, connectionDetails: {server: sql01}}",
        "{type: Web}",
    );
    let ok = ok.replace("type: Basic", "type: Anonymous");
    let ok = ok.replace(
        "            username: u\n            password: {env: PW}\n",
        "",
    );
    let run = validate(&[file], &dataset(file, &ok), &[]).unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn parameters_and_schedules_are_checked_against_the_directquery_model() {
    let file = "directquery-parameters.pbix";
    let body = "        parameters:\n          ServerName: sql02\n          DatabaseName: AdventureWorksDW2012\n        refresh:\n          schedule: {frequency: 30}\n";
    let Some(run) = validate(&[file], &dataset(file, body), &[]) else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bad = "        parameters:\n          Servername: sql02\n          DatabaseName: Other\n        datasources:\n          - match: {type: Sql, connectionDetails: {server: localhost\\v2017}}\n            set: {connectionDetails: {server: sql03}}\n        refresh:\n          schedule: {days: [Monday], times: ['06:00']}\n";
    let run = validate(&[file], &dataset(file, bad), &[]).unwrap();
    // The file's source is on localhost\v2017; no parameter moved it: the datasource rule
    // matches, and its server is not one a parameter may set.
    assert!(
        !run.stderr.contains("unmatched-datasource"),
        "{}",
        run.stderr
    );
    assert_cli_snapshot!(run);
}

#[test]
fn a_parameter_moving_the_source_leaves_a_rule_for_the_old_server_unmatched() {
    let file = "directquery-parameters.pbix";
    let body = "        parameters: {ServerName: sql02}\n        datasources:\n          - match: {type: Sql, connectionDetails: {server: localhost\\v2017}}\n            set: {connectionDetails: {server: sql03}}\n";
    let Some(run) = validate(&[file], &dataset(file, body), &[]) else {
        return;
    };
    assert_cli_snapshot!(run);
}

#[test]
fn a_file_whose_model_the_reader_refuses_is_not_flagged_and_says_why_at_v() {
    let file = "old-schema17-DataTable.pbix";
    let body = "        parameters: {NotInTheFile: x}\n        credentials:\n          - match: {type: Sql}\n            type: Anonymous\n";
    let Some(run) = validate(&[file], &dataset(file, body), &["-v"]) else {
        return;
    };
    assert_cli_snapshot!(run);
    let run = validate(&[file], &dataset(file, body), &[]).unwrap();
    assert_eq!(run.code, 0);
    assert!(run.stderr.is_empty(), "quiet without -v: {}", run.stderr);
}

/// A model calling a connector the M analyser does not know (here Snowflake) may have a
/// source the analyser cannot list: a credential rule for it is not judged; a parameter
/// that is not declared still is.
#[test]
fn unknown_connectors_leave_source_rules_unjudged() {
    use std::io::Write;
    let schema = r#"{"name":"s","model":{"tables":[{"name":"T","partitions":[{"name":"T","mode":"import","source":{"type":"m","expression":"Snowflake.Databases(\"acct.snowflakecomputing.com\", \"WH\")"}}]}]}}"#;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(schema.as_bytes()).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    std::fs::write(dir.path().join("pbix/snow.pbix"), bytes).unwrap();
    let run = |body: &str| validate_in(dir.path(), &dataset("snow.pbix", body), &[]);
    let cred = "        credentials:\n          - match: {type: Extension}\n            type: Basic\n            username: u\n            password: {env: PW}\n";
    let out = run(cred);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(&format!("        parameters: {{Nope: x}}\n{cred}"));
    assert!(
        !out.stderr.contains("unmatched-credential"),
        "{}",
        out.stderr
    );
    assert_cli_snapshot!(out);
}
