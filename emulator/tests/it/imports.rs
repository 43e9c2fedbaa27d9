//! Imports: name-conflict modes, async processing, temporary upload location.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test]
async fn name_conflict_modes() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let first = import_done(&c, &url, &tok, &g, "Sales.pbix", "Ignore", pbix_bytes("a")).await;
    assert_eq!(first["importState"], "Succeeded");
    assert_eq!(first["name"], "Sales");
    let ds = first["datasets"][0]["id"].as_str().unwrap().to_string();
    let rep = first["reports"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(first["datasets"][0]["name"], "Sales");
    // Abort with an existing name
    let r = import(&c, &url, &tok, &g, "Sales.pbix", "Abort", pbix_bytes("b")).await;
    assert_eq!(r.status(), 400);
    // Overwrite with nothing to overwrite
    let r = import(
        &c,
        &url,
        &tok,
        &g,
        "Other.pbix",
        "Overwrite",
        pbix_bytes("b"),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        body(r).await["error"]["code"],
        "DuplicatePackageNotFoundError"
    );
    // CreateOrOverwrite keeps the ids
    let again = import_done(
        &c,
        &url,
        &tok,
        &g,
        "Sales.pbix",
        "CreateOrOverwrite",
        pbix_bytes("c"),
    )
    .await;
    assert_eq!(again["datasets"][0]["id"], ds.as_str());
    assert_eq!(again["reports"][0]["id"], rep.as_str());
    // Ignore makes a duplicate, then Overwrite refuses
    import_done(&c, &url, &tok, &g, "Sales.pbix", "Ignore", pbix_bytes("d")).await;
    let r = import(
        &c,
        &url,
        &tok,
        &g,
        "Sales.pbix",
        "Overwrite",
        pbix_bytes("e"),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        body(r).await["error"]["code"],
        "MoreThanOneDuplicatePackageFoundError"
    );
    let datasets = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/datasets"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(datasets["value"].as_array().unwrap().len(), 2);
    assert_eq!(datasets["value"][0]["configuredBy"], "app-1");
    // .pbit, missing name, GenerateUniqueName
    assert_eq!(
        import(&c, &url, &tok, &g, "T.pbit", "Ignore", pbix_bytes("f"))
            .await
            .status(),
        400
    );
    assert_eq!(
        import(
            &c,
            &url,
            &tok,
            &g,
            "T.pbix",
            "GenerateUniqueName",
            pbix_bytes("f")
        )
        .await
        .status(),
        400
    );
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{g}/imports"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // not a zip: accepted, then Failed
    let bad = import_done(
        &c,
        &url,
        &tok,
        &g,
        "Bad.pbix",
        "Ignore",
        b"not a zip".to_vec(),
    )
    .await;
    assert_eq!(bad["importState"], "Failed");
    assert!(bad["error"]["code"].is_string());
    let list = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/imports"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn imports_publish_asynchronously() {
    let (emu, c) = emulator(EmulatorConfig {
        import_delay_ms: 300,
        ..EmulatorConfig::default()
    })
    .await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let r = import(&c, &url, &tok, &g, "Slow.pbix", "Ignore", pbix_bytes("a")).await;
    let id = body(r).await["id"].as_str().unwrap().to_string();
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/imports/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["importState"], "Publishing");
    assert_eq!(v["datasets"], json!([]));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/imports/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["importState"], "Succeeded");
    emu.shutdown().await;
}

#[tokio::test]
async fn large_file_flow_through_blob_blocks() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let loc = body(
        c.post(format!(
            "{url}/v1.0/myorg/groups/{g}/imports/createTemporaryUploadLocation"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap(),
    )
    .await;
    let blob = loc["url"].as_str().unwrap().to_string();
    let bytes = pbix_bytes("big");
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let mut ids = Vec::new();
    for (n, chunk) in [a, b].iter().enumerate() {
        use base64::Engine;
        let id = base64::engine::general_purpose::STANDARD.encode(format!("block-{:06}", n + 1));
        let r = c
            .put(format!(
                "{blob}&comp=block&blockid={}",
                id.replace('=', "%3D")
            ))
            .header("x-ms-blob-type", "BlockBlob")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        ids.push(id);
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{}</BlockList>",
        ids.iter()
            .map(|i| format!("<Latest>{i}</Latest>"))
            .collect::<String>()
    );
    assert_eq!(
        c.put(format!("{blob}&comp=blocklist"))
            .body(xml)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{g}/imports"))
        .query(&[
            ("datasetDisplayName", "Big.pbix"),
            ("nameConflict", "CreateOrOverwrite"),
        ])
        .bearer_auth(&tok)
        .json(&json!({"fileUrl": blob}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = body(r).await["id"].as_str().unwrap().to_string();
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/imports/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["importState"], "Succeeded");
    assert_eq!(v["datasets"][0]["name"], "Big");
    // an unknown fileUrl is refused
    let r = c
        .post(format!(
            "{url}/v1.0/myorg/groups/{g}/imports?datasetDisplayName=X.pbix"
        ))
        .bearer_auth(&tok)
        .json(&json!({"fileUrl": "http://elsewhere/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn unreadable_models_use_the_tenant_pbix_views() {
    use sha2::Digest;
    let bytes = pbix_bytes("seeded");
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let dir = tempfile::tempdir().unwrap();
    let tenant = dir.path().join("tenant.json");
    std::fs::write(&tenant, json!({"pbixViews": {sha: {
        "datasources": [{"datasourceType": "Web", "connectionDetails": {"url": "https://example.com/data.xlsx"}}],
        "parameters": [{"name": "Env", "type": "Text", "isRequired": true, "currentValue": "dev"}]}}}).to_string()).unwrap();
    let (emu, c) = emulator(EmulatorConfig {
        tenant: Some(tenant),
        ..EmulatorConfig::default()
    })
    .await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let imp = import_done(&c, &url, &tok, &g, "Seeded.pbix", "Ignore", bytes).await;
    let ds = imp["datasets"][0]["id"].as_str().unwrap();
    let s = body(
        c.get(format!(
            "{url}/v1.0/myorg/groups/{g}/datasets/{ds}/datasources"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s["value"][0]["datasourceType"], "Web");
    assert_eq!(
        s["value"][0]["connectionDetails"]["url"],
        "https://example.com/data.xlsx"
    );
    let p = body(
        c.get(format!(
            "{url}/v1.0/myorg/groups/{g}/datasets/{ds}/parameters"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(p["value"][0]["name"], "Env");
    // a tenant file without capacities has none (the default capacity is only in the default tenant)
    let caps = body(
        c.get(format!("{url}/v1.0/myorg/capacities"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(caps["value"], json!([]));
    emu.shutdown().await;
}
