//! `gateway: {createDatasources: true}` on a first import with no re-pointing rule: the
//! dataset's data sources come from the PBIX (read offline), so the plan lists the gateway
//! data source to create (credentials from the matching rule) before binding, and the
//! reviewer sees it. The first apply succeeds, the second has nothing to do.

use crate::emulator_cli;

use emulator_cli::{GATEWAY_DQ_MANIFEST, emulator, rich_workdir, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bind_step_creates_the_gateway_sources_an_import_brings() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = rich_workdir();
    std::fs::write(dir.path().join("pbideploy.yaml"), GATEWAY_DQ_MANIFEST).unwrap();

    let (code, out) = run(&url, dir.path(), &["plan"]).await;
    assert_eq!(code, 0, "{out}");
    let listed = "+ gateway datasource \"Sql database=Inventory;server=sql01\"";
    assert!(out.contains(listed), "{out}");
    assert!(!out.contains("created_sources"), "{out}");

    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "the first apply binds:\n{out}");
    let state = emu.snapshot();
    let gw = state["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Local Gateway")
        .unwrap();
    let created: Vec<&serde_json::Value> = gw["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["datasourceName"]
                .as_str()
                .unwrap_or_default()
                .contains("(Inventory)")
        })
        .collect();
    assert_eq!(created.len(), 1, "one gateway data source created: {gw}");
    let ds = state["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Inventory")
        .unwrap();
    assert!(
        ds["datasources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["gatewayId"] == gw["id"]),
        "bound to the gateway: {ds}"
    );

    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes."), "{out}");
    emu.shutdown().await;
}
