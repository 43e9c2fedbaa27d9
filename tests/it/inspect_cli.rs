//! `pbideploy inspect`: what the service will see in a PBIX, as text and as JSON that
//! follows `schemas/inspect.schema.json` (kept equal to the schema generated from the types).

use assert_cmd::Command;

use crate::support::{Run, assert_cli_snapshot};

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/inspect.schema.json");

fn pbideploy() -> Command {
    crate::support::pbideploy()
}

fn manifest_pbix(name: &str) -> String {
    format!("{}/manifests/pbix/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn json_of(path: &str) -> serde_json::Value {
    let out = pbideploy()
        .args(["inspect", path, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = pbideploy::inspect::schema();
    if std::env::var_os("PBIDEPLOY_UPDATE_SCHEMA").is_some() {
        std::fs::write(SCHEMA, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA).unwrap();
    assert!(
        committed == generated,
        "schemas/inspect.schema.json is out of date with src/inspect.rs.\n\
         Update it with: PBIDEPLOY_UPDATE_SCHEMA=1 cargo test --test it inspect_cli::"
    );
}

fn assert_valid(value: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
    let validator = jsonschema::draft202012::options().build(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_directquery_model_lists_its_parameters_and_sources() {
    let path = manifest_pbix("inventory-dq.pbix");
    assert_cli_snapshot!(Run::from(
        pbideploy().args(["inspect", &path]).output().unwrap()
    ));
    let v = json_of(&path);
    assert_valid(&v);
    assert_eq!(v["kind"], "model");
    assert_eq!(v["model"]["storageMode"], "directQuery");
    assert_eq!(
        v["model"]["tables"][0]["partitions"][0]["mode"],
        "directQuery"
    );
    assert_eq!(v["model"]["parameters"][1]["name"], "Database");
    assert_eq!(v["model"]["parameters"][1]["currentValue"], "Inventory");
    assert_eq!(v["model"]["dataSources"][0]["datasourceType"], "Sql");
    assert_eq!(
        v["model"]["dataSources"][0]["fromParameters"]["server"][0],
        "Server"
    );
}

#[test]
fn a_thin_report_shows_its_dataset() {
    let path = manifest_pbix("sales-detail.pbix");
    let v = json_of(&path);
    assert_valid(&v);
    assert_eq!(v["kind"], "thinReport");
    assert_eq!(v["liveConnection"]["target"], "powerBiDataset");
    assert_eq!(
        v["liveConnection"]["dataset"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert!(v["model"].is_null());
}

#[test]
fn shared_fixtures_inspect_and_validate_against_the_schema() {
    // The one rule for ../shared: a visible SKIP locally, a failure in CI.
    let Some(dir) = crate::common::shared_data("fixtures/pbix") else {
        return;
    };
    let shared = dir.display();
    let ssas = json_of(&format!("{shared}/live-connection-ssas.pbix"));
    assert_valid(&ssas);
    assert_eq!(ssas["liveConnection"]["target"], "analysisServices");
    assert_eq!(ssas["liveConnection"]["server"], ".\\tab17");
    let pbit = json_of(&format!("{shared}/COVID-19 US Tracking Sample.pbit"));
    assert_valid(&pbit);
    assert_eq!(pbit["kind"], "template");
    assert_eq!(pbit["model"]["parameters"][0]["name"], "Start Date");
    assert_eq!(pbit["model"]["parameters"][0]["type"], "Date");
    let dq = json_of(&format!("{shared}/directquery-parameters.pbix"));
    assert_valid(&dq);
    assert_eq!(dq["model"]["storageMode"], "directQuery");
    assert_eq!(
        dq["model"]["dataSources"][0]["connectionDetails"]["server"],
        "localhost\\v2017"
    );
    let modern = json_of(&format!("{shared}/Regional Sales Sample.pbix"));
    assert_valid(&modern);
    assert_eq!(modern["kind"], "model");
}

#[test]
fn a_file_that_is_not_a_pbix_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pbix");
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend([0x41; 100]);
    std::fs::write(&junk, bytes).unwrap();
    assert_cli_snapshot!(Run::from(
        pbideploy()
            .args(["inspect", junk.to_str().unwrap()])
            .output()
            .unwrap()
    ));
}

/// Regional Sales: ten tables, one data source (the service lists each connection once:
/// `Web` with the workbook's URL) and, under it, the eight tables whose M is
/// `Excel.Workbook(Web.Contents(<the SharePoint workbook>))`.
#[test]
fn one_source_lists_the_tables_that_use_it() {
    let Some(path) = crate::common::shared_data("fixtures/pbix/Regional Sales Sample.pbix") else {
        return;
    };
    let path = path.to_str().unwrap().to_owned();
    let tables = [
        "Accounts",
        "Campaigns",
        "Contacts",
        "Industries",
        "Opportunities",
        "Owners",
        "Products",
        "Territories",
    ];
    let out = pbideploy().args(["inspect", &path]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in ["Tables (10):", "Data sources (1):", "used by 8 tables:"] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    for t in tables {
        let line = format!("        {t} (read with Excel.Workbook)\n");
        assert!(text.contains(&line), "{line}\n{text}");
    }
    let v = json_of(&path);
    assert_valid(&v);
    let sources = v["model"]["dataSources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{sources:#?}");
    assert_eq!(sources[0]["datasourceType"], "Web");
    let url = sources[0]["connectionDetails"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://microsoft-my.sharepoint.com/")
            && url.ends_with("Sales%20Source%20Data.xlsx"),
        "{url}"
    );
    let uses = sources[0]["usedBy"].as_array().unwrap();
    let mut used: Vec<&str> = uses.iter().map(|u| u["table"].as_str().unwrap()).collect();
    used.sort_unstable();
    assert_eq!(used, tables);
    for u in uses {
        assert_eq!(u["wrappedIn"], "Excel.Workbook", "{u}");
        assert!(u["via"].is_null(), "{u}");
        let partition = u["partition"].as_str().unwrap();
        assert!(partition.starts_with(&format!("{}-", u["table"].as_str().unwrap())));
    }
}
