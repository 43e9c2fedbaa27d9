//! `validate` opens every PBIX with bounded reads and checks its kind fits its role (#20.10):
//! hostile archives generated at test time are refused at the `pbix` line, and the small
//! PBIX files the invalid corpus uses are generated here (regenerate with
//! PBIDEPLOY_UPDATE_PBIX=1 cargo test --test it validate_pbix::).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

fn zip_of(parts: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, method) in parts {
        let options = SimpleFileOptions::default()
            .compression_method(*method)
            .last_modified_time(DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).unwrap());
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const SSAS: &[u8] = br#"{"Version":1,"Connections":[{"Name":"EntityDataSource","ConnectionString":"Data Source=ssas01;Initial Catalog=Sales;Cube=Model","ConnectionType":"analysisServicesDatabaseLive"}]}"#;
const THIN: &[u8] = br#"{"Version":2,"Connections":[{"Name":"EntityDataSource","ConnectionString":"Data Source=pbiazure://api.powerbi.com;Initial Catalog=00000000-0000-0000-0000-000000000000","ConnectionType":"pbiServiceLive"}]}"#;
const SCHEMA: &[u8] = br#"{"name":"t","compatibilityLevel":1550,"model":{"tables":[]}}"#;

/// A DirectQuery model with typed parameters (Number, Any, a Text with a list of allowed
/// values) and one Sql source built from two of them: what the model-based rules check.
const TYPED: &[u8] = br#"{"name":"t","compatibilityLevel":1550,"model":{
  "defaultMode":"directQuery",
  "expressions":[
    {"name":"Region","kind":"m","expression":"\"West\" meta [IsParameterQuery=true, List={\"West\", \"East\"}, Type=\"Text\", IsParameterQueryRequired=true]"},
    {"name":"MaxRows","kind":"m","expression":"100 meta [IsParameterQuery=true, Type=\"Number\", IsParameterQueryRequired=true]"},
    {"name":"Anything","kind":"m","expression":"\"x\" meta [IsParameterQuery=true, Type=\"Any\", IsParameterQueryRequired=false]"}],
  "tables":[{"name":"Orders","partitions":[{"name":"Orders","mode":"directQuery",
    "source":{"type":"m","expression":"let s = Sql.Database(\"sql-\" & Region, \"Sales\") in s"}}]}]}}"#;

/// The corpus's PBIX files (tests/manifests/invalid/pbix/).
fn corpus_files() -> Vec<(&'static str, Vec<u8>)> {
    let deflated = CompressionMethod::Deflated;
    vec![
        (
            "typed.pbix",
            zip_of(&[("DataModelSchema", TYPED, deflated)]),
        ),
        ("ssas-live.pbix", zip_of(&[("Connections", SSAS, deflated)])),
        (
            "template.pbit",
            zip_of(&[("DataModelSchema", SCHEMA, deflated)]),
        ),
        (
            "unsafe-name.pbix",
            zip_of(&[
                ("Connections", THIN, deflated),
                ("../../outside", b"x", deflated),
            ]),
        ),
    ]
}

#[test]
fn committed_corpus_pbix_files_match_the_generator() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/manifests/invalid/pbix");
    let update = std::env::var_os("PBIDEPLOY_UPDATE_PBIX").is_some();
    for (name, bytes) in corpus_files() {
        let path = format!("{dir}/{name}");
        if update {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{path} differs from the generator; run PBIDEPLOY_UPDATE_PBIX=1 cargo test --test it validate_pbix::"
        );
    }
}

/// Validates a one-dataset, one-report manifest whose `role` entry uses `bytes` as its PBIX
/// (named `file`); returns the diagnostics as `line:col code message`.
fn validate_with(file: &str, bytes: &[u8], role: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    std::fs::write(dir.path().join("pbix").join(file), bytes).unwrap();
    let model = zip_of(&[("DataModelSchema", SCHEMA, CompressionMethod::Deflated)]);
    let thin = zip_of(&[("Connections", THIN, CompressionMethod::Deflated)]);
    std::fs::write(dir.path().join("pbix/model.pbix"), model).unwrap();
    std::fs::write(dir.path().join("pbix/thin.pbix"), thin).unwrap();
    let (dataset, report) = match role {
        "dataset" => (file, "thin.pbix"),
        _ => ("model.pbix", file),
    };
    let manifest = format!(
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: W\n    datasets:\n      - name: D\n        pbix: pbix/{dataset}\n    reports:\n      - name: R\n        pbix: pbix/{report}\n        dataset: D\n"
    );
    let path = dir.path().join("pbideploy.yaml");
    std::fs::write(&path, manifest).unwrap();
    match pbideploy::manifest::load(&path, None, &[]) {
        Ok(_) => Vec::new(),
        Err(diags) => diags
            .items
            .iter()
            .map(|d| format!("{}:{} {} {}", d.line, d.column, d.code, d.message))
            .collect(),
    }
}

fn assert_refused(diags: &[String], at: &str, code: &str, words: &str) {
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(d.starts_with(&format!("{at} {code} ")), "{d}");
    assert!(d.contains(words), "{d}");
}

const DATASET_AT: &str = "6:15";
const REPORT_AT: &str = "9:15";

#[test]
fn well_formed_files_in_their_roles_validate() {
    let thin = zip_of(&[("Connections", THIN, CompressionMethod::Deflated)]);
    assert!(validate_with("ok.pbix", &thin, "report").is_empty());
    let ssas = zip_of(&[("Connections", SSAS, CompressionMethod::Deflated)]);
    assert!(
        validate_with("ssas.pbix", &ssas, "dataset").is_empty(),
        "an SSAS live file creates a live-connection dataset"
    );
}

#[test]
fn kinds_that_do_not_fit_their_role_are_refused() {
    let model = zip_of(&[("DataModelSchema", SCHEMA, CompressionMethod::Deflated)]);
    let diags = validate_with("m.pbix", &model, "report");
    assert_refused(
        &diags,
        REPORT_AT,
        "report-pbix-not-thin",
        "holds a data model",
    );
    let ssas = zip_of(&[("Connections", SSAS, CompressionMethod::Deflated)]);
    let diags = validate_with("s.pbix", &ssas, "report");
    assert_refused(
        &diags,
        REPORT_AT,
        "report-pbix-analysis-services",
        "`ssas01`",
    );
    let thin = zip_of(&[("Connections", THIN, CompressionMethod::Deflated)]);
    let diags = validate_with("t.pbix", &thin, "dataset");
    assert_refused(
        &diags,
        DATASET_AT,
        "dataset-pbix-thin-report",
        "thin report",
    );
    let diags = validate_with("t.pbit", &model, "dataset");
    assert_refused(&diags, DATASET_AT, "pbix-template", "template");
    let mashup_template = zip_of(&[
        ("DataModelSchema", SCHEMA, CompressionMethod::Deflated),
        ("DataMashup", &[0u8; 8], CompressionMethod::Deflated),
    ]);
    let diags = validate_with("renamed.pbix", &mashup_template, "dataset");
    assert_refused(&diags, DATASET_AT, "pbix-template", "template");
}

#[test]
fn hostile_archives_are_refused_at_their_line() {
    let mut garbage = b"PK\x03\x04".to_vec();
    garbage.extend([0x47; 512]);
    let diags = validate_with("g.pbix", &garbage, "dataset");
    assert_refused(&diags, DATASET_AT, "pbix-not-zip", "not a zip archive");

    let bomb = zip_of(&[
        ("DataModelSchema", SCHEMA, CompressionMethod::Deflated),
        (
            "Report/Layout",
            &vec![0u8; 8 << 20],
            CompressionMethod::Deflated,
        ),
    ]);
    let diags = validate_with("bomb.pbix", &bomb, "dataset");
    assert_refused(&diags, DATASET_AT, "pbix-unreadable", "zip bomb");

    for name in ["../../x", "/etc/x"] {
        let evil = zip_of(&[
            ("Connections", THIN, CompressionMethod::Deflated),
            (name, b"x", CompressionMethod::Stored),
        ]);
        let diags = validate_with("evil.pbix", &evil, "report");
        assert_refused(&diags, REPORT_AT, "pbix-unreadable", "unsafe name");
    }

    let not_json = zip_of(&[("Connections", b"<x/>", CompressionMethod::Deflated)]);
    let diags = validate_with("nj.pbix", &not_json, "report");
    assert_refused(
        &diags,
        REPORT_AT,
        "pbix-unreadable",
        "`Connections` is malformed: not JSON",
    );

    let mut huge = THIN.to_vec();
    huge.extend(std::iter::repeat_n(b' ', 24 << 20));
    let huge = zip_of(&[("Connections", &huge, CompressionMethod::Stored)]);
    let diags = validate_with("huge.pbix", &huge, "report");
    assert_refused(
        &diags,
        REPORT_AT,
        "pbix-unreadable",
        "part `Connections` is 25",
    );
}

#[test]
fn a_file_shared_by_many_datasets_is_read_once_and_reported_at_each_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    let thin = zip_of(&[("Connections", THIN, CompressionMethod::Deflated)]);
    std::fs::write(dir.path().join("pbix/thin.pbix"), thin).unwrap();
    let path = dir.path().join("pbideploy.yaml");
    std::fs::write(
        &path,
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: W\n    datasets:\n      - name: A\n        pbix: pbix/thin.pbix\n      - name: B\n        pbix: pbix/thin.pbix\n",
    )
    .unwrap();
    let diags = pbideploy::manifest::load(&path, None, &[]).unwrap_err();
    let at: Vec<_> = diags.items.iter().map(|d| (d.line, d.code)).collect();
    assert_eq!(
        at,
        [
            (6, "dataset-pbix-thin-report"),
            (8, "dataset-pbix-thin-report")
        ]
    );
}
