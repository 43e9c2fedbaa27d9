//! A plan for a new import shows what the PBIX gives the dataset (#14): its parameters with
//! the manifest's values set, its data sources once parameters and `datasources` rules
//! apply, the gateway data sources to create and which sources each credential rule sets,
//! in text, Markdown and JSON, with secrets only as `(sensitive value)`.

use std::path::Path;

use serde_json::Value;

use crate::support::{Run, assert_cli_snapshot};

const SECRET: &str = "Plan-Import-View-Secret-51c2";

const MANIFEST: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: Import View
    create: true
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
        parameters: {Server: sql02}
        credentials:
          - match: {type: Sql, connectionDetails: {server: sql02}}
            type: Basic
            username: reader
            password: {env: IMPORT_VIEW_PASSWORD}
        refresh: {onApply: never}
      - name: Inventory
        pbix: pbix/inventory-dq.pbix
        datasources:
          - match: {type: Sql, connectionDetails: {server: sql01}}
            set: {connectionDetails: {server: sql01.corp.contoso.com, database: Inventory}}
        gateway: {name: Local Gateway, createDatasources: true}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: svc
            password: {env: IMPORT_VIEW_PASSWORD}
        refresh: {onApply: never}
"#;

/// `plan --format FORMAT` on the local service; fails unless it succeeds without printing the
/// secret.
fn plan(dir: &Path, format: &str) -> Run {
    let out = crate::support::pbideploy_process()
        .current_dir(dir)
        .env("IMPORT_VIEW_PASSWORD", SECRET)
        .env("PBIDEPLOY_CACHE_DIR", dir.join("cache"))
        .args([
            "plan",
            "--service",
            "local",
            "-f",
            "m.yaml",
            "--color",
            "never",
        ])
        .args(["--format", format])
        .output()
        .unwrap();
    let out = Run::from(out);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    out
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["sales.pbix", "inventory-dq.pbix"] {
        let from = repo.join("manifests/pbix").join(f);
        std::fs::copy(from, dir.path().join("pbix").join(f)).unwrap();
    }
    std::fs::write(dir.path().join("m.yaml"), MANIFEST).unwrap();
    dir
}

#[test]
fn a_new_import_lists_its_parameters_sources_gateway_sources_and_credentials() {
    let dir = workdir();
    // The parameter moved the Sales source (sql02); the file's Database value stays. The rule
    // re-points Inventory's source, which the gateway then gets.
    let text = plan(dir.path(), "text");
    assert!(!text.stdout.contains("created_sources"), "{}", text.stdout);
    assert_cli_snapshot!("text", text);
    assert_cli_snapshot!("markdown", plan(dir.path(), "markdown"));

    let json: Value = serde_json::from_str(&plan(dir.path(), "json").stdout).unwrap();
    let import = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "workspace[\"Import View\"].dataset[\"Sales\"]")
        .unwrap();
    let attr = |name: &str| {
        import["attrs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["after"]["value"].clone())
    };
    assert_eq!(
        attr("datasources"),
        Some(serde_json::json!(["Sql database=Sales;server=sql02"])),
        "{import:#}"
    );
    assert_eq!(attr("parameters").unwrap()["Server"], "sql02");
}

#[test]
fn a_file_without_a_readable_model_keeps_known_after_apply() {
    let dir = workdir();
    // A ZIP the kind check accepts as a model, whose model part is not JSON: read fails.
    let broken = {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"not json").unwrap();
        zip.finish().unwrap().into_inner()
    };
    std::fs::write(dir.path().join("pbix/sales.pbix"), broken).unwrap();
    let manifest = "apiVersion: pbideploy/v1\nworkspaces:\n  - name: W\n    create: true\n    datasets:\n      - name: Sales\n        pbix: pbix/sales.pbix\n        refresh: {onApply: never}\n";
    std::fs::write(dir.path().join("m.yaml"), manifest).unwrap();
    assert_cli_snapshot!(plan(dir.path(), "text"));
}
