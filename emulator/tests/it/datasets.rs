//! Datasets: ownership, parameters, datasources, credentials, gateways, refresh, rebind.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use pbideploy_emulator::model::{DatasetDatasource, Parameter};
use serde_json::{Map, Value, json};

fn details(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// Imports a model and gives it known parameters and datasources in-process.
async fn seeded(
    emu: &pbideploy_emulator::RunningEmulator,
    c: &reqwest::Client,
    tok: &str,
    g: &str,
) -> String {
    let url = emu.url();
    let imp = import_done(
        c,
        &url,
        tok,
        g,
        "Sales.pbix",
        "CreateOrOverwrite",
        pbix_bytes("s"),
    )
    .await;
    let ds = imp["datasets"][0]["id"].as_str().unwrap().to_string();
    let id = ds.clone();
    emu.app().with(|w| {
        let i = w.model.datasets.iter().position(|d| d.id == id).unwrap();
        let d = &mut w.model.datasets[i];
        d.parameters = vec![
            Parameter {
                name: "Server".into(),
                param_type: "Text".into(),
                is_required: true,
                current_value: "a".into(),
                suggested_values: vec![],
            },
            Parameter {
                name: "MaxId".into(),
                param_type: "Number".into(),
                is_required: true,
                current_value: "1".into(),
                suggested_values: vec![],
            },
            Parameter {
                name: "Blob".into(),
                param_type: "Any".into(),
                is_required: false,
                current_value: "".into(),
                suggested_values: vec![],
            },
        ];
        d.datasources = vec![
            DatasetDatasource {
                datasource_type: "Sql".into(),
                connection_details: details(json!({"server": "sql.contoso.com", "database": "db"})),
                ..Default::default()
            },
            DatasetDatasource {
                datasource_type: "Sql".into(),
                connection_details: details(json!({"server": "onprem", "database": "dw"})),
                ..Default::default()
            },
        ];
        pbideploy_emulator::model::cloud::bind_cloud(w, i);
    });
    ds
}

#[tokio::test]
async fn ownership_parameters_and_datasources() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let owner = token(&c, &url, "app-1").await;
    let other = token(&c, &url, "app-2").await;
    let g = create_group(&c, &url, &owner, "W").await;
    c.post(format!("{url}/v1.0/myorg/groups/{g}/users")).bearer_auth(&owner).json(&json!({"identifier": "app-2", "principalType": "App", "groupUserAccessRight": "Admin"})).send().await.unwrap();
    let ds = seeded(&emu, &c, &owner, &g).await;
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets/{ds}");
    let upd = |v: Value| json!({"updateDetails": v});
    // non-owner refused
    let r = c
        .post(format!("{base}/Default.UpdateParameters"))
        .bearer_auth(&other)
        .json(&upd(json!([{"name": "Server", "newValue": "b"}])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        body(r).await["error"]["code"],
        "PowerBINotAuthorizedException"
    );
    for bad in [
        json!([]),
        json!([{"name": "server", "newValue": "b"}]),
        json!([{"name": "MaxId", "newValue": "x"}]),
        json!([{"name": "Blob", "newValue": "x"}]),
        json!([{"name": "Server", "newValue": ""}]),
        json!([{"name": "Server", "newValue": "b"}, {"name": "Server", "newValue": "c"}]),
    ] {
        let r = c
            .post(format!("{base}/Default.UpdateParameters"))
            .bearer_auth(&owner)
            .json(&upd(bad.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(body(r).await["error"]["code"], "InvalidRequest");
    }
    let r = c
        .post(format!("{base}/Default.UpdateParameters"))
        .bearer_auth(&owner)
        .json(&upd(json!([{"name": "MaxId", "newValue": "42"}])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p = body(
        c.get(format!("{base}/parameters"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(p["value"][1]["currentValue"], "42");
    // UpdateDatasources: exact selectors
    let sel = |server: &str| json!({"datasourceType": "Sql", "connectionDetails": {"server": server, "database": "db"}});
    let r = c.post(format!("{base}/Default.UpdateDatasources")).bearer_auth(&owner).json(&upd(json!([{"datasourceSelector": sel("nope"), "connectionDetails": {"server": "x.y.z", "database": "db"}}]))).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        body(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("selector #1")
    );
    let r = c.post(format!("{base}/Default.UpdateDatasources")).bearer_auth(&owner).json(&upd(json!([{"datasourceSelector": sel("sql.contoso.com"), "connectionDetails": {"url": "http://x"}}]))).send().await.unwrap();
    assert!(
        body(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection details for selector #1 are invalid")
    );
    let r = c.post(format!("{base}/Default.UpdateDatasources")).bearer_auth(&owner).json(&upd(json!([{"datasourceSelector": sel("sql.contoso.com"), "connectionDetails": {"server": "new.contoso.com", "database": "db2"}}]))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let s = body(
        c.get(format!("{base}/datasources"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        s["value"][0]["connectionDetails"]["server"],
        "new.contoso.com"
    );
    assert!(s["value"][0]["gatewayId"].as_str().unwrap().len() == 36);
    // SetAllConnections refused
    let r = c
        .post(format!("{base}/Default.SetAllConnections"))
        .bearer_auth(&owner)
        .json(&json!({"connectionString": "data source=x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // TakeOver by the other principal
    assert_eq!(
        c.post(format!("{base}/Default.TakeOver"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let d = body(c.get(&base).bearer_auth(&other).send().await.unwrap()).await;
    assert_eq!(d["configuredBy"], "app-2");
    let r = c
        .post(format!("{base}/Default.UpdateParameters"))
        .bearer_auth(&owner)
        .json(&upd(json!([{"name": "Server", "newValue": "b"}])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn credentials_gateways_and_refresh() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let ds = seeded(&emu, &c, &tok, &g).await;
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets/{ds}");
    let gws = body(
        c.get(format!("{url}/v1.0/myorg/gateways"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let names: Vec<&str> = gws["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Local Gateway", "Legacy Gateway"]);
    use base64::Engine;
    let modulus = |i: usize| {
        base64::engine::general_purpose::STANDARD
            .decode(gws["value"][i]["publicKey"]["modulus"].as_str().unwrap())
            .unwrap()
            .len()
    };
    assert_eq!((modulus(0), modulus(1)), (256, 128));
    assert_eq!(gws["value"][0]["publicKey"]["exponent"], "AQAB");
    // refresh without credentials fails
    assert_eq!(
        c.post(format!("{base}/refreshes"))
            .bearer_auth(&tok)
            .json(&json!({"notifyOption": "NoNotification"}))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let h = body(
        c.get(format!("{base}/refreshes?$top=1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(h["value"][0]["status"], "Failed");
    assert!(
        h["value"][0]["serviceExceptionJson"]
            .as_str()
            .unwrap()
            .contains("CredentialsNotSpecified")
    );
    let r = c
        .post(format!("{base}/refreshes"))
        .bearer_auth(&tok)
        .json(&json!({"notifyOption": "MailOnFailure"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // cloud credentials
    let sources = body(
        c.get(format!("{base}/datasources"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (gw0, ds0) = (
        sources["value"][0]["gatewayId"]
            .as_str()
            .unwrap()
            .to_string(),
        sources["value"][0]["datasourceId"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let patch = format!("{url}/v1.0/myorg/gateways/{gw0}/datasources/{ds0}");
    let creds =
        r#"{"credentialData":[{"name":"username","value":"u"},{"name":"password","value":"p"}]}"#;
    let good = json!({"credentialDetails": {"credentialType": "Basic", "credentials": creds, "encryptedConnection": "Encrypted", "encryptionAlgorithm": "None", "privacyLevel": "Organizational"}});
    let mut as_object = good.clone();
    as_object["credentialDetails"]["credentials"] = serde_json::from_str(creds).unwrap();
    let r = c
        .patch(&patch)
        .bearer_auth(&tok)
        .json(&as_object)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await["error"]["details"][0]["target"],
        "datasourceDelta"
    );
    let r = c
        .patch(&patch)
        .bearer_auth(&tok)
        .json(&json!({"credentialType": "Basic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let mut rsa = good.clone();
    rsa["credentialDetails"]["encryptionAlgorithm"] = json!("RSA-OAEP");
    let r = c
        .patch(&patch)
        .bearer_auth(&tok)
        .json(&rsa)
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(r).await["error"]["code"],
        "DMTS_InvalidEncryptionAlgorithmError"
    );
    let mut caller = good.clone();
    caller["credentialDetails"]["useCallerAADIdentity"] = json!(true);
    let r = c
        .patch(&patch)
        .bearer_auth(&tok)
        .json(&caller)
        .send()
        .await
        .unwrap();
    assert!(
        body(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requires credential type to be OAuth2")
    );
    let other = token(&c, &url, "app-2").await;
    assert_eq!(
        c.patch(&patch)
            .bearer_auth(&other)
            .json(&good)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(format!("{patch}/status"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.patch(&patch)
            .bearer_auth(&tok)
            .json(&good)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{patch}/status"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // the cloud gateway is not a real gateway
    assert_eq!(
        c.get(format!("{url}/v1.0/myorg/gateways/{gw0}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // on-prem source: discover, bind requires a matching gateway datasource
    let local = gws["value"][0]["id"].as_str().unwrap().to_string();
    let disc = body(
        c.get(format!("{base}/Default.DiscoverGateways"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(disc["value"].as_array().unwrap().len(), 2);
    let r = c
        .post(format!("{base}/Default.BindToGateway"))
        .bearer_auth(&tok)
        .json(&json!({"gatewayObjectId": local}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // create datasource: garbage ciphertext is rejected
    let create = json!({"dataSourceType": "Sql", "connectionDetails": "{\"server\":\"onprem\",\"database\":\"dw\"}", "datasourceName": "dw",
        "credentialDetails": {"credentialType": "Windows", "credentials": "AAAA", "encryptedConnection": "Encrypted", "encryptionAlgorithm": "RSA-OAEP", "privacyLevel": "None"}});
    let r = c
        .post(format!("{url}/v1.0/myorg/gateways/{local}/datasources"))
        .bearer_auth(&tok)
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // seed a gateway datasource in-process (decryption is the crypto module's job) and bind
    emu.app().with(|w| {
        w.model.gateways[0]
            .datasources
            .push(pbideploy_emulator::model::GatewayDatasource {
                id: "6d1b1c5e-0000-4000-8000-000000000001".into(),
                gateway_id: local.clone(),
                datasource_name: "dw".into(),
                datasource_type: "Sql".into(),
                connection_details: details(json!({"server": "onprem", "database": "dw"})),
                ..Default::default()
            });
        w.model.gateways[0]
            .datasources
            .push(pbideploy_emulator::model::GatewayDatasource {
                id: "6d1b1c5e-0000-4000-8000-000000000002".into(),
                gateway_id: local.clone(),
                datasource_name: "db".into(),
                datasource_type: "Sql".into(),
                connection_details: details(json!({"server": "sql.contoso.com", "database": "db"})),
                ..Default::default()
            });
    });
    let r = c
        .post(format!("{base}/Default.BindToGateway"))
        .bearer_auth(&tok)
        .json(&json!({"gatewayObjectId": local}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bound = body(
        c.get(format!("{base}/Default.GetBoundGatewayDatasources"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bound["value"].as_array().unwrap().len(), 2);
    assert!(bound["value"][0]["connectionDetails"].is_string());
    // gateway source with a cloud algorithm is refused
    let gpatch = format!(
        "{url}/v1.0/myorg/gateways/{local}/datasources/6d1b1c5e-0000-4000-8000-000000000001"
    );
    let r = c
        .patch(&gpatch)
        .bearer_auth(&tok)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(r).await["error"]["code"],
        "DMTS_InvalidEncryptionAlgorithmError"
    );
    // schedule
    let sched = format!("{base}/refreshSchedule");
    let r = c
        .patch(&sched)
        .bearer_auth(&tok)
        .json(&json!({"value": {"enabled": false, "days": ["Monday"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .patch(&sched)
        .bearer_auth(&tok)
        .json(&json!({"value": {"times": ["07:15"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let nine: Vec<String> = (0..9).map(|h| format!("{h:02}:00")).collect();
    assert_eq!(
        c.patch(&sched)
            .bearer_auth(&tok)
            .json(&json!({"value": {"times": nine}}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let r = c.patch(&sched).bearer_auth(&tok).json(&json!({"value": {"days": ["sunday"], "times": ["07:00"], "enabled": true, "localTimeZoneId": "UTC"}})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let s = body(c.get(&sched).bearer_auth(&tok).send().await.unwrap()).await;
    assert_eq!(s["days"], json!(["Sunday"]));
    assert_eq!(s["enabled"], true);
    emu.shutdown().await;
}

#[tokio::test]
async fn reports_rebind_and_delete() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let a = import_done(&c, &url, &tok, &g, "A.pbix", "Ignore", pbix_bytes("a")).await;
    let b = import_done(&c, &url, &tok, &g, "B.pbix", "Ignore", pbix_bytes("b")).await;
    let rep = a["reports"][0]["id"].as_str().unwrap();
    let target = b["datasets"][0]["id"].as_str().unwrap();
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{g}/reports/{rep}/Rebind"))
        .bearer_auth(&tok)
        .json(&json!({"datasetId": target}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/reports/{rep}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["datasetId"], target);
    assert_eq!(v["datasetWorkspaceId"], g.as_str());
    // re-import with overwrite keeps the rebinding
    import_done(&c, &url, &tok, &g, "A.pbix", "Overwrite", pbix_bytes("a2")).await;
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/reports/{rep}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["datasetId"], target);
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{g}/reports/{rep}/Rebind"))
        .bearer_auth(&tok)
        .json(&json!({"datasetId": "00000000-0000-0000-0000-000000000009"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        c.delete(format!("{url}/v1.0/myorg/groups/{g}/reports/{rep}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let l = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}/reports"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn gateway_users_and_enhanced_refresh_details() {
    let (emu, c) = emulator(EmulatorConfig {
        import_delay_ms: 200,
        ..EmulatorConfig::default()
    })
    .await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let ds = seeded(&emu, &c, &tok, &g).await;
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets/{ds}");
    // enhanced refresh needs a capacity
    let r = c
        .post(format!("{base}/refreshes"))
        .bearer_auth(&tok)
        .json(&json!({"type": "Full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    c.post(format!("{url}/v1.0/myorg/groups/{g}/AssignToCapacity"))
        .bearer_auth(&tok)
        .json(&json!({"capacityId": "0F084DF7-C13D-451B-AF5F-ED0C466403B2"}))
        .send()
        .await
        .unwrap();
    let r = c
        .post(format!("{base}/refreshes"))
        .bearer_auth(&tok)
        .json(&json!({"type": "Full", "commitMode": "transactional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let rid = r.headers()["x-ms-request-id"].to_str().unwrap().to_string();
    let r = c
        .post(format!("{base}/refreshes"))
        .bearer_auth(&tok)
        .json(&json!({"type": "Full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = c
        .get(format!("{base}/refreshes/{rid}"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let r = c
        .get(format!("{base}/refreshes/{rid}"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["status"], "Failed");
    // datasource users on a gateway datasource
    let local = "1f69e798-5852-4fdd-ab01-33bb14b6e934";
    emu.app().with(|w| {
        w.model.gateways[0]
            .datasources
            .push(pbideploy_emulator::model::GatewayDatasource {
                id: "6d1b1c5e-0000-4000-8000-000000000003".into(),
                gateway_id: local.into(),
                datasource_type: "Sql".into(),
                ..Default::default()
            })
    });
    let users = format!(
        "{url}/v1.0/myorg/gateways/{local}/datasources/6d1b1c5e-0000-4000-8000-000000000003/users"
    );
    let r = c.post(&users).bearer_auth(&tok).json(&json!({"identifier": "app-1", "principalType": "App", "datasourceAccessRight": "Read"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(&users)
        .bearer_auth(&tok)
        .json(
            &json!({"identifier": "g", "principalType": "Group", "datasourceAccessRight": "Read"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v = body(c.get(&users).bearer_auth(&tok).send().await.unwrap()).await;
    assert_eq!(v["value"][0]["identifier"], "app-1");
    assert_eq!(
        c.delete(format!("{users}/app-1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.delete(format!("{users}/app-1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn patch_dataset_is_owner_only_and_validated() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let other = token(&c, &url, "app-2").await;
    let g = create_group(&c, &url, &tok, "W").await;
    c.post(format!("{url}/v1.0/myorg/groups/{g}/users")).bearer_auth(&tok).json(&json!({"identifier": "app-2", "principalType": "App", "groupUserAccessRight": "Member"})).send().await.unwrap();
    let imp = import_done(&c, &url, &tok, &g, "S.pbix", "Ignore", pbix_bytes("p")).await;
    let base = format!(
        "{url}/v1.0/myorg/groups/{g}/datasets/{}",
        imp["datasets"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        c.patch(&base)
            .bearer_auth(&other)
            .json(&json!({"targetStorageMode": "PremiumFiles"}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.patch(&base)
            .bearer_auth(&tok)
            .json(&json!({"targetStorageMode": "Huge"}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.patch(&base)
            .bearer_auth(&tok)
            .json(&json!({"queryScaleOutSettings": {"maxReadOnlyReplicas": 65}}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.patch(&base)
            .bearer_auth(&tok)
            .json(&json!({"targetStorageMode": "premiumfiles"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        body(c.get(&base).bearer_auth(&tok).send().await.unwrap()).await["targetStorageMode"],
        "PremiumFiles"
    );
    // a JSON body without a JSON content type is refused
    let r = c
        .patch(&base)
        .bearer_auth(&tok)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    emu.shutdown().await;
}
