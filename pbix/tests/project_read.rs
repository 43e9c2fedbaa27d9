//! Reading Power BI Project items: the real fixtures (`../shared/fixtures/pbip`, deployed
//! by Microsoft's fabric-cicd to real Fabric) and the hand-written ones in
//! `manifests/pbip/`.

mod common;

use std::path::{Path, PathBuf};

use pbix::project::{Definition, ItemKind, ReportBinding, report_binding, semantic_model};
use pbix::{ColumnKind, DatasetMode, Limits, PartitionKind, StorageMode};

fn hand_written(item: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests/pbip")
        .join(item)
}

fn read(dir: &Path) -> Definition {
    Definition::read_dir(dir, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn the_real_tmdl_fixture_reads_into_a_model() {
    let Some(dir) = common::shared_data("fixtures/pbip/ABC.SemanticModel") else {
        return;
    };
    let def = read(&dir);
    assert_eq!(def.kind, ItemKind::SemanticModel);
    let paths: Vec<&str> = def.parts.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            ".platform",
            "definition.pbism",
            "definition/cultures/en-US.tmdl",
            "definition/database.tmdl",
            "definition/model.tmdl",
            "definition/relationships.tmdl",
            "definition/tables/Table.tmdl",
            "definition/tables/Table_2.tmdl",
            "diagramLayout.json",
        ]
    );
    let model = semantic_model(&def).unwrap();
    let names: Vec<&str> = model.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Table", "Table_2"]);
    let table = &model.tables[0];
    let columns: Vec<(&str, &str)> = table
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(columns, [("Column1", "string"), ("Column2", "int64")]);
    assert!(table.columns.iter().all(|c| c.kind == ColumnKind::Data));
    let p = &table.partitions[0];
    assert_eq!((p.kind, p.mode), (PartitionKind::M, StorageMode::Import));
    let query = p.query.as_deref().unwrap();
    assert!(
        query.starts_with("let\n    Source = Table.FromRows("),
        "{query}"
    );
    assert!(query.ends_with("in\n    #\"Changed Type\""), "{query}");
    assert_eq!(model.relationships, Some(1));
    assert!(model.parameters.is_empty() && model.data_sources.is_empty());
    assert_eq!(model.storage_mode(), DatasetMode::Import);
}

#[test]
fn the_hand_written_sales_model_has_parameters_measures_and_a_sql_source() {
    let def = read(&hand_written("Sales.SemanticModel"));
    let model = semantic_model(&def).unwrap();
    let names: Vec<&str> = model.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Sales", "Customer"]);
    let sales = &model.tables[0];
    let measures: Vec<(&str, &str)> = sales
        .measures
        .iter()
        .map(|m| (m.name.as_str(), m.expression.as_str()))
        .collect();
    assert_eq!(
        measures,
        [
            ("Total Amount", "SUM(Sales[Amount])"),
            (
                "Order Count",
                "VAR orders = DISTINCTCOUNT ( Sales[OrderId] )\nRETURN\n    orders"
            ),
        ]
    );
    let kinds: Vec<(&str, ColumnKind)> = sales
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("OrderId", ColumnKind::Data),
            ("CustomerId", ColumnKind::Data),
            ("Amount", ColumnKind::Data),
            ("Amount With Tax", ColumnKind::Calculated),
        ]
    );
    assert_eq!(sales.partitions[0].mode, StorageMode::DirectQuery);
    assert_eq!(model.storage_mode(), DatasetMode::Composite);
    let params: Vec<(&str, &str, &str)> = model
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.param_type.as_str(),
                p.current_value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("Server", "Text", "sql01.contoso.test"),
            ("Database", "Text", "SalesDev")
        ]
    );
    assert_eq!(
        model.parameters[0].description.as_deref(),
        Some("The SQL Server instance the model reads from.")
    );
    assert_eq!(
        model.parameters[1].allowed_values,
        ["SalesDev", "SalesTest", "SalesProd"]
    );
    assert_eq!(model.data_sources.len(), 1, "{:?}", model.data_sources);
    let ds = &model.data_sources[0];
    assert_eq!(ds.datasource_type, "Sql");
    assert_eq!(ds.connection_details["server"], "sql01.contoso.test");
    assert_eq!(ds.connection_details["database"], "SalesDev");
    assert_eq!(ds.parameter_details.len(), 2);
}

#[test]
fn the_hand_written_web_model_has_a_parameterised_web_source() {
    let model = semantic_model(&read(&hand_written("Web.SemanticModel"))).unwrap();
    assert_eq!(model.storage_mode(), DatasetMode::Import);
    assert_eq!(model.data_sources.len(), 1);
    let ds = &model.data_sources[0];
    assert_eq!(ds.datasource_type, "Web");
    assert_eq!(
        ds.connection_details["url"],
        "https://rates.example.com/api/rates.json"
    );
    assert!(ds.parameter_details.contains_key("url"));
}

#[test]
fn report_bindings_of_the_fixtures() {
    let report = read(&hand_written("Sales.Report"));
    assert_eq!(report.kind, ItemKind::Report);
    assert_eq!(
        report_binding(&report).unwrap(),
        ReportBinding::ByPath("../Sales.SemanticModel".into())
    );
    let Some(fixtures) = common::shared_data("fixtures/pbip") else {
        return;
    };
    for item in ["ABC.Report", "ABCD.Report"] {
        assert_eq!(
            report_binding(&read(&fixtures.join(item))).unwrap(),
            ReportBinding::ByPath("../ABC.SemanticModel".into()),
            "{item}"
        );
    }
    let dir = fixtures.join("ByConnection.Report");
    match report_binding(&read(&dir)).unwrap() {
        ReportBinding::ByConnection {
            model_id,
            model_name,
            ..
        } => {
            assert_eq!(
                model_id.as_deref(),
                Some("00000000-0000-0000-0000-000000000000")
            );
            assert_eq!(model_name.as_deref(), Some("dev-semantic-model"));
        }
        other => panic!("{other:?}"),
    }
}

/// The PBIX reader fills columns and measures from `metadata.sqlitedb` too, so a data-loss
/// check can compare a PBIX model with a PBIP one: every model read from a `DataModel` has
/// columns (legacy models read from the `DataMashup` list none), and `abc.pbix` has the ones
/// Desktop shows.
#[test]
fn pbix_models_list_their_columns_and_measures() {
    let Some(fixtures) = common::data_model_fixtures() else {
        return;
    };
    let mut measures = 0;
    for (file, _) in &fixtures {
        let model = pbix::Pbix::open(&common::fixture_path(file))
            .unwrap()
            .model
            .unwrap();
        if model.source != pbix::ModelSource::DataModel {
            continue;
        }
        assert!(
            model.tables.iter().any(|t| !t.columns.is_empty()),
            "{file}: no columns"
        );
        for t in &model.tables {
            assert!(
                t.columns
                    .iter()
                    .all(|c| !c.name.is_empty() && c.data_type != "unknown"),
                "{file}: {:?}",
                t.columns
            );
            measures += t.measures.len();
        }
    }
    assert!(measures > 0, "no fixture measure was read");
    let abc = pbix::Pbix::open(&common::fixture_path("abc.pbix"))
        .unwrap()
        .model
        .unwrap();
    let columns: Vec<(&str, &str)> = abc.tables[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(abc.tables[0].name, "ABC");
    assert_eq!(columns, [("Col1", "int64"), ("Col2", "int64")]);
}

/// The parts a real deployment (fabric-cicd, recorded in
/// `../shared/reference/fabric/http_trace.json.gz`) uploaded when it created the `ABC`
/// semantic model and report are exactly what `read_dir` gives for those folders: same
/// paths, same bytes (the report's `definition.pbir` aside, which fabric-cicd rewrote to
/// `byConnection`, as `bind_report` does).
#[test]
fn read_dir_gives_the_parts_a_real_deployment_uploaded() {
    use base64::Engine as _;
    use std::io::Read as _;
    let (Some(trace), Some(fixtures)) = (
        common::shared_data("reference/fabric/http_trace.json.gz"),
        common::shared_data("fixtures/pbip"),
    ) else {
        return;
    };
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(trace).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    let trace: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut checked = Vec::new();
    for t in trace["traces"].as_array().unwrap() {
        let request = &t["request"];
        let body: serde_json::Value = match &request["body"] {
            serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
            other => other.clone(),
        };
        let (Some(name), Some(kind)) = (body["displayName"].as_str(), body["type"].as_str()) else {
            continue;
        };
        let item = format!("{name}.{kind}");
        if name != "ABC"
            || !request["url"].as_str().unwrap().ends_with("/items")
            || checked.contains(&item)
        {
            continue;
        }
        let def = read(&fixtures.join(&item));
        let mut uploaded: Vec<(String, Vec<u8>)> = body["definition"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(p["payload"].as_str().unwrap())
                    .unwrap();
                (p["path"].as_str().unwrap().to_string(), bytes)
            })
            .collect();
        uploaded.sort();
        let ours: Vec<(String, Vec<u8>)> = def
            .parts
            .iter()
            .map(|p| (p.path.clone(), p.bytes.clone()))
            .collect();
        let paths = |v: &[(String, Vec<u8>)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&ours), paths(&uploaded), "{item}");
        for ((path, a), (_, b)) in ours.iter().zip(&uploaded) {
            if path != "definition.pbir" {
                assert!(a == b, "{item}/{path} differs from the upload");
            }
        }
        checked.push(item);
    }
    checked.sort();
    assert_eq!(checked, ["ABC.Report", "ABC.SemanticModel"]);
}
