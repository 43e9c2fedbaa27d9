//! Generates the small hand-written PBIX files under manifests/pbix/ and checks the committed
//! copies match. Regenerate with: PBIDEPLOY_UPDATE_PBIX=1 cargo test --test it pbix_fixtures::

use std::io::Write;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

fn zip_of(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).unwrap());
    for (name, bytes) in parts {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn param(name: &str, value: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "kind": "m",
        "expression": format!("\"{value}\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"),
    })
}

fn model(name: &str, mode: &str, params: &[(&str, &str)], table: &str) -> Vec<u8> {
    let expressions: Vec<_> = params.iter().map(|(n, v)| param(n, v)).collect();
    let source = format!(
        "let\n    Source = Sql.Database(Server, Database),\n    Data = Source{{[Schema=\"dbo\",Item=\"{table}\"]}}[Data]\nin\n    Data"
    );
    let tmsl = serde_json::json!({
        "name": name,
        "compatibilityLevel": 1567,
        "model": {
            "culture": "en-US",
            "defaultPowerBIDataSourceVersion": "powerBI_V3",
            "expressions": expressions,
            "tables": [{
                "name": table,
                "columns": [{"name": "Id", "dataType": "int64", "sourceColumn": "Id"},
                            {"name": "Amount", "dataType": "decimal", "sourceColumn": "Amount"}],
                "partitions": [{"name": table, "mode": mode, "source": {"type": "m", "expression": source}}]
            }]
        }
    });
    utf16le(&serde_json::to_string_pretty(&tmsl).unwrap())
}

fn layout(title: &str) -> Vec<u8> {
    let layout = serde_json::json!({"id": 0, "sections": [{"name": "ReportSection", "displayName": title, "visualContainers": []}]});
    utf16le(&layout.to_string())
}

fn dataset_pbix(name: &str, mode: &str, params: &[(&str, &str)], table: &str) -> Vec<u8> {
    zip_of(&[
        ("Version", utf16le("1.28")),
        ("DataModelSchema", model(name, mode, params, table)),
        ("Report/Layout", layout(name)),
    ])
}

fn thin_pbix(title: &str) -> Vec<u8> {
    let connections = serde_json::json!({"Version": 2, "Connections": [{
        "Name": "EntityDataSource",
        "ConnectionString": "Data Source=pbiazure://api.powerbi.com;Initial Catalog=00000000-0000-0000-0000-000000000000;Identity Provider=\"https://login.microsoftonline.com/common, https://analysis.windows.net/powerbi/api, 00000000-0000-0000-0000-000000000000\";Integrated Security=ClaimsToken",
        "ConnectionType": "pbiServiceLive"
    }]});
    zip_of(&[
        ("Version", utf16le("1.28")),
        ("Connections", connections.to_string().into_bytes()),
        ("Report/Layout", layout(title)),
    ])
}

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let sql = [("Server", "localhost"), ("Database", "Sales")];
    vec![
        (
            "sales.pbix",
            dataset_pbix("Sales", "import", &sql, "Orders"),
        ),
        (
            "inventory-dq.pbix",
            dataset_pbix(
                "Inventory",
                "directQuery",
                &[("Server", "sql01"), ("Database", "Inventory")],
                "Stock",
            ),
        ),
        ("sales-summary.pbix", thin_pbix("Sales Summary")),
        ("sales-detail.pbix", thin_pbix("Sales Detail")),
    ]
}

#[test]
fn committed_pbix_files_match_the_generator() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/pbix");
    let update = std::env::var_os("PBIDEPLOY_UPDATE_PBIX").is_some();
    for (name, bytes) in fixtures() {
        let path = format!("{dir}/{name}");
        if update {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{path} differs from the generator; run PBIDEPLOY_UPDATE_PBIX=1 cargo test --test it pbix_fixtures::"
        );
    }
}
