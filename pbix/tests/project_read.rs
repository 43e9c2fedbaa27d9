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
    let Some(dir) = common::shared_data("fixtures/pbip/ByConnection.Report") else {
        return;
    };
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
