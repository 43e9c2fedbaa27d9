//! The six shared PBIX fixtures give the "Expected service view" of their SOURCES.md, and
//! small synthetic files exercise the DataModelSchema path used by hand-written PBIX.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use pbideploy_emulator::EmulatorConfig;

use pbideploy_emulator::pbix::{
    InspectOptions, PbixDatasource, PbixError, PbixKind, PbixParameter, ReadError, inspect_pbix,
    inspect_pbix_with,
};
use serde_json::json;
use zip::write::SimpleFileOptions;

fn fixture(name: &str) -> Option<PathBuf> {
    common::shared_data(&format!("fixtures/pbix/{name}"))
}

/// The datasources without their parameter pieces (pinned by their own test).
fn plain(list: &[PbixDatasource]) -> Vec<PbixDatasource> {
    list.iter()
        .map(|d| PbixDatasource {
            parameter_details: Default::default(),
            ..d.clone()
        })
        .collect()
}

fn ds(kind: &str, details: serde_json::Value) -> PbixDatasource {
    PbixDatasource {
        datasource_type: kind.to_string(),
        connection_details: details.as_object().unwrap().clone(),
        ..PbixDatasource::default()
    }
}

#[test]
fn thin_report_names_its_dataset() {
    let Some(p) = fixture("live-connection-pbiservice.pbix") else {
        return;
    };
    let view = inspect_pbix(&p).unwrap();
    match &view.kind {
        PbixKind::ThinReport {
            dataset_id,
            connection_string,
        } => {
            assert_eq!(dataset_id, "d6b517a0-219a-4c7d-8c56-c844c6536db1");
            assert!(connection_string.starts_with("Data Source=pbiazure://api.powerbi.com;"));
        }
        other => panic!("expected thin report, got {other:?}"),
    }
    assert!(view.datasources.is_empty() && view.parameters.is_empty());
}

#[test]
fn ssas_live_connection() {
    let Some(p) = fixture("live-connection-ssas.pbix") else {
        return;
    };
    let view = inspect_pbix(&p).unwrap();
    assert_eq!(
        view.kind,
        PbixKind::AnalysisServicesLive {
            server: ".\\tab17".into(),
            database: "TableFunctionsDetailRows".into()
        }
    );
    assert_eq!(
        plain(&view.datasources),
        vec![ds(
            "AnalysisServices",
            json!({"server": ".\\tab17", "database": "TableFunctionsDetailRows"})
        )]
    );
}

#[test]
fn directquery_parameters_resolve_into_sql_source() {
    let Some(p) = fixture("directquery-parameters.pbix") else {
        return;
    };
    let view = inspect_pbix(&p).unwrap();
    assert_eq!(view.kind, PbixKind::Model);
    assert!(view.model_readable);
    assert!(view.direct_query, "its partitions are DirectQuery");
    assert_eq!(
        plain(&view.datasources),
        vec![ds(
            "Sql",
            json!({"server": "localhost\\v2017", "database": "AdventureWorksDW2014"})
        )]
    );
    assert_eq!(
        view.parameters,
        vec![
            PbixParameter {
                name: "ServerName".into(),
                param_type: "Text".into(),
                current_value: "localhost\\v2017".into(),
                is_required: true,
                suggested_values: vec![],
            },
            PbixParameter {
                name: "DatabaseName".into(),
                param_type: "Text".into(),
                current_value: "AdventureWorksDW2014".into(),
                is_required: true,
                suggested_values: vec![
                    "AdventureWorksDW2012".into(),
                    "AdventureWorksDW2014".into()
                ],
            },
        ]
    );
}

#[test]
fn data_profiling_demo_has_one_deduplicated_odata_source() {
    let Some(p) = fixture("2018SU10 Data Profiling Demo - October.pbix") else {
        return;
    };
    let view = inspect_pbix(&p).unwrap();
    assert_eq!(view.kind, PbixKind::Model);
    assert!(view.model_readable);
    assert_eq!(
        plain(&view.datasources),
        vec![ds(
            "OData",
            json!({"url": "http://services.odata.org/V4/Northwind/Northwind.svc/"})
        )]
    );
    assert!(view.parameters.is_empty());
}

/// Decoder-dependent: with the `pbix` crate's placeholder `DataModel` reader the modern
/// model is unreadable (the server then falls back to the tenant file's per-hash view);
/// with the real reader the service view comes from the model.
#[test]
fn modern_xpress9_model_comes_from_the_decoder() {
    let Some(p) = fixture("Regional Sales Sample.pbix") else {
        return;
    };
    let view = inspect_pbix(&p).unwrap();
    assert_eq!(
        view.kind,
        PbixKind::Model,
        "RemoteArtifacts is not a thin marker"
    );
    assert!(view.model_readable && !view.direct_query);
    assert_eq!(view.datasources.len(), 1, "{:?}", view.datasources);
    assert_eq!(view.datasources[0].datasource_type, "Web");
    assert!(view.parameters.is_empty());
}

#[test]
fn template_is_rejected_but_analysable() {
    let Some(p) = fixture("COVID-19 US Tracking Sample.pbit") else {
        return;
    };
    assert!(matches!(inspect_pbix(&p), Err(PbixError::Template)));
    // Same content under a .pbix name is still a Desktop template (has DataMashup).
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("covid.pbix");
    std::fs::copy(&p, &renamed).unwrap();
    assert!(matches!(inspect_pbix(&renamed), Err(PbixError::Template)));
    let view = inspect_pbix_with(
        &p,
        InspectOptions {
            allow_template: true,
        },
    )
    .unwrap();
    assert_eq!(
        plain(&view.datasources),
        vec![ds(
            "Web",
            json!({"url": "https://raw.githubusercontent.com/CSSEGISandData/COVID-19/master/csse_covid_19_data/csse_covid_19_daily_reports"})
        )]
    );
    assert_eq!(
        view.parameters,
        vec![PbixParameter {
            name: "Start Date".into(),
            param_type: "Date".into(),
            current_value: String::new(),
            is_required: true,
            suggested_values: vec![],
        }]
    );
}

/// Writes a zip with the given (name, bytes) entries.
fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(file);
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn schema(model: serde_json::Value) -> Vec<u8> {
    utf16le(&json!({"name": "test", "compatibilityLevel": 1550, "model": model}).to_string())
}

#[test]
fn synthetic_schema_pbix_with_parameters_and_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.pbix");
    let model = json!({
        "tables": [{"name": "Sales", "partitions": [{"name": "p", "mode": "import", "source": {
            "type": "m",
            "expression": ["let", "    Source = Sql.Database(Server, Database),", "    t = Source{[Schema=\"dbo\",Item=\"Sales\"]}[Data]", "in", "    t"]
        }}]}, {"name": "Rates", "partitions": [{"name": "r", "source": {
            "type": "m", "expression": "let S = Web.Contents(\"https://rates.example.com/api\", [RelativePath=\"v1\"]) in S"
        }}]}],
        "expressions": [
            {"name": "Server", "kind": "m", "expression": "\"sql-dev.example.com\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"},
            {"name": "Database", "kind": "m", "expression": "\"Sales\" meta [IsParameterQuery=true, List={\"Sales\", \"SalesArchive\"}, Type=\"Text\", IsParameterQueryRequired=false]"},
            {"name": "Threshold", "kind": "m", "expression": "42 meta [IsParameterQuery=true, Type=\"Number\", IsParameterQueryRequired=true]"}
        ]
    });
    write_zip(&path, &[("DataModelSchema", schema(model))]);
    let view = inspect_pbix(&path).unwrap();
    assert_eq!(view.kind, PbixKind::Model);
    assert!(view.model_readable);
    assert_eq!(
        plain(&view.datasources),
        vec![
            ds(
                "Sql",
                json!({"server": "sql-dev.example.com", "database": "Sales"})
            ),
            ds("Web", json!({"url": "https://rates.example.com/api"})),
        ]
    );
    let names: Vec<_> = view.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Server", "Database", "Threshold"]);
    assert_eq!(
        view.parameters[1].suggested_values,
        ["Sales", "SalesArchive"]
    );
    assert!(!view.parameters[1].is_required);
    assert_eq!(view.parameters[2].current_value, "42");
    assert_eq!(view.parameters[2].param_type, "Number");
}

#[test]
fn synthetic_schema_pbix_with_explicit_datasource_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odata.pbix");
    let model = json!({
        "dataSources": [{"type": "structured", "name": "db", "connectionDetails": {
            "protocol": "tds", "address": {"server": "srv", "database": "db"}}}],
        "tables": [{"name": "T", "partitions": [{"name": "p", "source": {
            "type": "m", "expression": "let S = OData.Feed(\"https://odata.example.com/\"), T = File.Contents(\"C:\\data\\x.xlsx\") in S"
        }}]}]
    });
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(schema(model));
    write_zip(&path, &[("DataModelSchema", bytes)]);
    let view = inspect_pbix(&path).unwrap();
    assert_eq!(
        plain(&view.datasources),
        vec![
            ds("OData", json!({"url": "https://odata.example.com/"})),
            ds("File", json!({"path": "C:\\data\\x.xlsx"})),
            ds("Sql", json!({"server": "srv", "database": "db"})),
        ]
    );
    assert!(view.parameters.is_empty());
}

#[test]
fn synthetic_thin_report_with_utf16_connections_and_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let thin = dir.path().join("thin.pbix");
    let conn = json!({"Version": 2, "Connections": [{"Name": "EntityDataSource",
        "ConnectionString": "Data Source=pbiazure://api.powerbi.com;Initial Catalog=11111111-2222-3333-4444-555555555555;Integrated Security=ClaimsToken",
        "ConnectionType": "pbiServiceLive"}]});
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16le(&conn.to_string()));
    write_zip(&thin, &[("Connections", bytes)]);
    let view = inspect_pbix(&thin).unwrap();
    assert!(
        matches!(view.kind, PbixKind::ThinReport { ref dataset_id, .. }
        if dataset_id == "11111111-2222-3333-4444-555555555555")
    );

    let not_zip = dir.path().join("junk.pbix");
    std::fs::write(&not_zip, b"hello").unwrap();
    assert!(matches!(
        inspect_pbix(&not_zip),
        Err(PbixError::Read(ReadError::NotZip(_)))
    ));

    let empty = dir.path().join("empty.pbix");
    write_zip(&empty, &[("Version", utf16le("1.28"))]);
    assert!(matches!(
        inspect_pbix(&empty),
        Err(PbixError::Read(ReadError::NoModel))
    ));

    let remote = dir.path().join("remote.pbix");
    write_zip(
        &remote,
        &[(
            "Connections",
            br#"{"Version":3,"RemoteArtifacts":[{"DatasetId":"x","ReportId":"y"}]}"#.to_vec(),
        )],
    );
    assert!(matches!(
        inspect_pbix(&remote),
        Err(PbixError::Read(ReadError::NoModel))
    ));

    let bad_schema = dir.path().join("bad.pbix");
    write_zip(&bad_schema, &[("DataModelSchema", b"{not json".to_vec())]);
    assert!(matches!(
        inspect_pbix(&bad_schema),
        Err(PbixError::Read(ReadError::Malformed { .. }))
    ));
    assert!(matches!(
        inspect_pbix(&dir.path().join("missing.pbix")),
        Err(PbixError::Read(ReadError::Io(_)))
    ));
}

/// Every fixture gets a service view from the `pbix` crate; only models the reader cannot
/// decode (while `pbix::datamodel` is the placeholder: the modern XPress9 ones) fall back.
#[test]
fn every_fixture_gets_a_service_view() {
    let Some(dir) = fixture("") else {
        return;
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".pbix") {
            continue;
        }
        seen += 1;
        let view = inspect_pbix(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(view.model_readable, "{name}: the model should be read");
    }
    assert!(seen >= 11, "{seen} fixtures");
}

/// The issue's symptom: the local service gave `directquery-parameters.pbix` an Import,
/// refreshable dataset; its partitions are DirectQuery.
#[tokio::test]
async fn directquery_fixture_imports_as_a_directquery_dataset() {
    let Some(p) = fixture("directquery-parameters.pbix") else {
        return;
    };
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let bytes = std::fs::read(p).unwrap();
    let imp = import_done(&c, &url, &tok, &g, "dq.pbix", "Ignore", bytes).await;
    let ds = imp["datasets"][0]["id"].as_str().unwrap();
    let get = |path: String| {
        let (c, tok) = (c.clone(), tok.clone());
        async move { body(c.get(path).bearer_auth(&tok).send().await.unwrap()).await }
    };
    let dataset = get(format!("{url}/v1.0/myorg/groups/{g}/datasets/{ds}")).await;
    assert_eq!(dataset["isRefreshable"], false, "{dataset}");
    let sources = get(format!(
        "{url}/v1.0/myorg/groups/{g}/datasets/{ds}/datasources"
    ))
    .await;
    assert_eq!(sources["value"][0]["datasourceType"], "Sql", "{sources}");
    assert_eq!(
        sources["value"][0]["connectionDetails"]["database"],
        "AdventureWorksDW2014"
    );
    emu.shutdown().await;
}
