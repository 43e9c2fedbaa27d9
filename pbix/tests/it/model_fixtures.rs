//! Every fixture's model rows match expected-models.json (pbixray + Microsoft's C decoder):
//! tables, partitions (table, name, type, mode, query), expressions, data sources,
//! relationship count and Desktop version. The 2016-17 XPress8 backup is refused clearly.

use crate::common;

use pbix::datamodel::{DataModelError, Limits, RawModel, read_data_model};
use serde_json::{Value, json};

fn read(file: &str) -> Result<RawModel, DataModelError> {
    let f = std::fs::File::open(common::fixture_path(file)).unwrap();
    let mut zip = zip::ZipArchive::new(f).unwrap();
    let entry = zip.by_name("DataModel").unwrap();
    read_data_model(entry, &Limits::default())
}

fn partitions(model: &RawModel) -> Vec<Value> {
    model
        .partitions
        .iter()
        .map(|p| {
            json!({"TableName": p.table_name, "Name": p.name, "Type": p.kind,
                   "Mode": p.mode, "QueryDefinition": p.query})
        })
        .collect()
}

fn expressions(model: &RawModel) -> Vec<Value> {
    model
        .expressions
        .iter()
        .map(|e| json!({"ParameterName": e.name, "Description": e.description, "Expression": e.expression}))
        .collect()
}

fn data_sources(model: &RawModel) -> Vec<Value> {
    model
        .data_sources
        .iter()
        .map(|d| {
            json!({"Name": d.name, "Type": d.kind, "Provider": d.provider,
                   "ConnectionDetails": d.connection_details})
        })
        .collect()
}

#[test]
fn every_fixture_model_matches_the_reference_reader() {
    let Some(fixtures) = common::data_model_fixtures() else {
        return;
    };
    let mut checked = 0;
    for (file, expected) in fixtures {
        if expected["dataModel"]["signature"]
            .as_str()
            .unwrap()
            .contains("STREAM_STORAGE")
        {
            continue; // the 2016-17 backup: see the next test
        }
        let model = read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            model.abf_size,
            expected["dataModel"]["abfSize"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            hex::encode(model.abf_sha256),
            expected["dataModel"]["abfSha256"].as_str().unwrap(),
            "{file}"
        );
        let mut tables: Vec<&str> = model.tables.iter().map(|t| t.name.as_str()).collect();
        tables.sort_unstable();
        let mut want: Vec<&str> = expected["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        want.sort_unstable();
        assert_eq!(tables, want, "{file}: tables");
        assert_eq!(
            Value::from(partitions(&model)),
            expected["partitions"],
            "{file}: partitions"
        );
        let want_expr: Vec<Value> = expected["expressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!({"ParameterName": e["ParameterName"], "Description": e["Description"], "Expression": e["Expression"]}))
            .collect();
        assert_eq!(expressions(&model), want_expr, "{file}: expressions");
        assert_eq!(
            Value::from(data_sources(&model)),
            expected["datasources"],
            "{file}: data sources"
        );
        assert_eq!(
            model.relationships as u64,
            expected["relationships"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            model.desktop_version.as_deref(),
            expected["desktopVersion"].as_str(),
            "{file}: Desktop version"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} models checked");
}

#[test]
fn the_2016_xpress8_backup_is_refused_as_unsupported() {
    if common::expected_models().is_none() {
        return;
    }
    let error = read("old-schema17-DataTable.pbix").unwrap_err();
    assert!(matches!(error, DataModelError::Unsupported(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("XPress8") && message.contains("DataMashup"),
        "{message}"
    );
}
