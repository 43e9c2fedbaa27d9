//! Manifest rules found by independent checks (issue #20): values that reach the service as
//! written, references checked wherever they appear, placeholders, names the service would
//! confuse. Each test loads a manifest written at test time, beside a real PBIX.

use std::path::{Path, PathBuf};

use pbideploy::manifest::{LoadedManifest, load};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp folder with `m.yaml` (`yaml`) and `pbix/sales.pbix`.
fn manifest_dir(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    std::fs::copy(
        root().join("manifests/pbix/sales.pbix"),
        dir.path().join("pbix/sales.pbix"),
    )
    .unwrap();
    // A thin report, for `reports:` entries (a model PBIX there is report-pbix-not-thin).
    std::fs::copy(
        root().join("manifests/pbix/sales-summary.pbix"),
        dir.path().join("pbix/summary.pbix"),
    )
    .unwrap();
    std::fs::write(dir.path().join("m.yaml"), yaml).unwrap();
    dir
}

fn load_in(dir: &Path) -> Result<LoadedManifest, pbideploy::diagnostics::Diagnostics> {
    load(&dir.join("m.yaml"), None, &[])
}

/// The first diagnostic as `line:column code`, and all messages.
fn refused(yaml: &str) -> (String, String) {
    let dir = manifest_dir(yaml);
    let diags = load_in(dir.path()).expect_err("the manifest should be refused");
    let first = &diags.items[0];
    let all = diags
        .items
        .iter()
        .map(|d| {
            format!(
                "{}:{} [{}] {} / {:?}",
                d.line, d.column, d.code, d.message, d.hint
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    (
        format!("{}:{} {}", first.line, first.column, first.code),
        all,
    )
}

const HEAD: &str = "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n    datasets:\n      - name: Sales\n        pbix: pbix/sales.pbix\n";

/// A model PBIX (TMSL) declaring a Text parameter for each of `names`.
fn text_parameters(names: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let expressions: Vec<String> = names
        .iter()
        .map(|n| {
            format!(r#"{{"name":"{n}","kind":"m","expression":"\"x\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"}}"#)
        })
        .collect();
    let schema = format!(
        r#"{{"name":"s","model":{{"expressions":[{}],"tables":[]}}}}"#,
        expressions.join(",")
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(schema.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn numeric_parameters_are_sent_as_written() {
    let yaml = format!(
        "{HEAD}        parameters:\n          Database: &db 01234\n          Version: 1.10\n          Hex: 0x1F\n          Big: 12345678901234567890123456789012345678901\n          Tiny: 1e-400\n          Plain: 42\n          Alias: *db\n          Tagged: !!int 0x1F\n          Flag: true\n"
    );
    let dir = manifest_dir(&yaml);
    // `validate` checks parameters against the file: one declaring these, all Text.
    let names = [
        "Database", "Version", "Hex", "Big", "Tiny", "Plain", "Alias", "Tagged", "Flag",
    ];
    std::fs::write(dir.path().join("pbix/sales.pbix"), text_parameters(&names)).unwrap();
    let m = load_in(dir.path()).unwrap_or_else(|d| panic!("{}", d.render(false)));
    let params = &m.workspaces[0].datasets[0].parameters;
    let wire = |name: &str| params[name].to_wire();
    assert_eq!(wire("Database"), "01234");
    assert_eq!(wire("Version"), "1.10");
    assert_eq!(wire("Hex"), "0x1F");
    assert_eq!(wire("Big"), "12345678901234567890123456789012345678901");
    assert_eq!(wire("Tiny"), "1e-400");
    assert_eq!(wire("Plain"), "42");
    assert_eq!(wire("Alias"), "01234", "an alias sends its anchor's text");
    assert_eq!(wire("Tagged"), "0x1F");
    assert_eq!(wire("Flag"), "TRUE");
}

#[test]
fn references_inside_variables_are_checked_where_they_are_written() {
    let (first, all) = refused(
        "apiVersion: pbideploy/v1\nvariables:\n  a: \"${nope}\"\nworkspaces:\n  - name: Sales\n",
    );
    assert_eq!(first, "3:6 unknown-variable", "{all}");
    // In an environment's variables, at the environment's value.
    let yaml = "apiVersion: pbideploy/v1\nenvironments:\n  prod:\n    variables:\n      b: x-${missing}\nworkspaces:\n  - name: Sales\n";
    let dir = manifest_dir(yaml);
    let diags = load(&dir.path().join("m.yaml"), Some("prod"), &[]).unwrap_err();
    let d = &diags.items[0];
    assert_eq!(
        (d.line, d.column, d.code),
        (5, 10, "unknown-variable"),
        "{d:?}"
    );
    // In a --var value: named in the message.
    let dir = manifest_dir("apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n");
    let vars = [("c".to_owned(), "${gone}".to_owned())];
    let diags = load(&dir.path().join("m.yaml"), None, &vars).unwrap_err();
    assert!(
        diags.items[0].message.contains("--var c"),
        "{:?}",
        diags.items
    );
}

#[test]
fn placeholders_are_refused_by_validate_and_plan_with_their_position() {
    let yaml = format!(
        "{HEAD}        credentials:\n          - type: Basic\n            username: <TODO-username>\n            password: {{env: PW}}\n"
    );
    let dir = manifest_dir(&yaml);
    for args in [&["validate"][..], &["plan", "--service", "local"][..]] {
        let out = crate::support::pbideploy()
            .current_dir(dir.path())
            .args(args)
            .args(["-f", "m.yaml", "--color", "never"])
            .output()
            .unwrap();
        crate::support::assert_cli_snapshot!(args[0], crate::support::Run::from(out));
    }
}

#[test]
fn names_the_service_would_take_as_one_are_duplicates() {
    let two = |a: &str, b: &str| {
        format!(
            "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n    datasets:\n      - name: \"{a}\"\n        pbix: pbix/sales.pbix\n      - name: \"{b}\"\n        pbix: pbix/sales.pbix\n    reports:\n      - name: \"{a}\"\n        pbix: pbix/sales.pbix\n        dataset: Sales\n      - name: \"{b}\"\n        pbix: pbix/sales.pbix\n        dataset: Sales\n"
        )
    };
    for (a, b) in [
        ("Sales", "SALES"),
        ("Sales", " Sales "),
        ("Caf\u{e9}", "Cafe\u{301}"),
        ("Stra\u{df}e", "STRA\u{df}E"),
    ] {
        let (first, all) = refused(&two(a, b));
        assert_eq!(first, "7:15 duplicate-dataset", "{a:?} {b:?}: {all}");
        assert!(all.contains("duplicate-report"), "{a:?} {b:?}: {all}");
        assert!(
            all.contains("the service matches names ignoring case"),
            "{all}"
        );
    }
    let (first, _) =
        refused("apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n  - name: \" sales\"\n");
    assert_eq!(first, "4:11 duplicate-workspace");
    let (first, _) = refused(&format!(
        "{HEAD}    reports:\n      - name: '  '\n        pbix: pbix/sales.pbix\n        dataset: Sales\n"
    ));
    assert_eq!(first, "8:15 blank-name");
}

#[test]
fn a_report_finds_its_dataset_the_way_the_service_does() {
    let yaml = format!(
        "{HEAD}  - name: Reports\n    reports:\n      - name: R\n        pbix: pbix/summary.pbix\n        dataset: SALES/sales\n"
    );
    let dir = manifest_dir(&yaml);
    let m = load_in(dir.path()).unwrap();
    let target = &m.workspaces[1].reports[0].target;
    assert_eq!(
        (target.workspace.as_str(), target.dataset.as_str()),
        ("Sales", "Sales")
    );
}

#[test]
fn names_longer_than_the_service_takes_are_refused() {
    let long = |n: usize| "x".repeat(n);
    let dataset = |name: &str| {
        format!(
            "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n    datasets:\n      - name: {name}\n        pbix: pbix/sales.pbix\n"
        )
    };
    let (first, all) = refused(&dataset(&long(20_000)));
    assert_eq!(first, "5:15 name-too-long", "{all}");
    assert!(
        all.contains("20000 characters") && all.len() < 1000,
        "{all}"
    );
    let (first, _) = refused(&format!(
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: {}\n",
        long(1000)
    ));
    assert_eq!(first, "3:11 name-too-long");
    // 256 characters (not bytes) is still fine.
    let dir = manifest_dir(&dataset(&"é".repeat(256)));
    assert!(load_in(dir.path()).is_ok());
}

#[test]
fn a_number_where_text_is_sent_is_refused_with_a_hint_to_quote_it() {
    let yaml = "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Sales\n    datasets:\n      - name: Sales\n        pbix: pbix/sales.pbix\n        datasources:\n          - match: {type: Sql, connectionDetails: {database: 01234}}\n            set: {connectionDetails: {database: x}}\n";
    let (first, all) = refused(yaml);
    assert_eq!(first, "8:62 wrong-type", "{all}");
    assert!(all.contains("quote it to keep it as text"), "{all}");
}
