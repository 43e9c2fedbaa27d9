//! Keeps schemas/pbideploy.schema.json equal to the schema generated from the Rust types.

#[test]
fn committed_schema_matches_the_types() {
    let generated = pbideploy::manifest::schema::generate();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/pbideploy.schema.json");
    if std::env::var_os("PBIDEPLOY_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap();
    assert!(
        committed == generated,
        "schemas/pbideploy.schema.json is out of date with src/manifest/model.rs.\n\
         Update it with: PBIDEPLOY_UPDATE_SCHEMA=1 cargo test --test it schema_sync::"
    );
}
