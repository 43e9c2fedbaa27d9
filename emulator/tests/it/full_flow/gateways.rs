//! Gateways: encrypted Create Datasource, Bind To Gateway, credential PATCH and its errors.

use crate::full_flow::client::{
    LEGACY_GW, LOCAL_GW, Pbi, basic, create_gateway_source, cred, gateway_key, pbi_error,
};
use crate::full_flow::common::encrypt;
use crate::full_flow::{Fixtures, Sales};
use pbideploy_emulator::RunningEmulator;
use serde_json::{Value, json};

/// Both default gateways: Create Datasource with encrypted credentials, Bind To Gateway,
/// credential PATCH and status. Returns the Local and Legacy gateway datasource ids.
pub async fn gateways(
    a: &Pbi,
    b: &Pbi,
    emu: &RunningEmulator,
    sales: &Sales,
    fixtures: Option<&Fixtures>,
) -> (String, String) {
    let local = gateway_key(a, emu, LOCAL_GW, 2048).await;
    let legacy = gateway_key(a, emu, LEGACY_GW, 1024).await;
    let did = &sales.id;
    let disc = b
        .get(b.g(&format!("datasets/{did}/Default.DiscoverGateways")))
        .await;
    assert!(!disc["value"].as_array().unwrap().is_empty());
    // Binding needs a matching gateway datasource: none yet.
    let bind = json!({"gatewayObjectId": LOCAL_GW});
    let r = b
        .post(
            b.g(&format!("datasets/{did}/Default.BindToGateway")),
            bind.clone(),
        )
        .await;
    assert_eq!(r.status(), 400);
    // The doc example spells the type "SQL"; the dataset reports "Sql". The Database
    // parameter set to SalesArchive earlier re-pointed the source built from it.
    let local_ds = create_gateway_source(
        a,
        &local,
        LOCAL_GW,
        "SQL",
        json!({"server": "sqlprod01", "database": "SalesArchive"}),
    )
    .await;
    let r = b
        .post(b.g(&format!("datasets/{did}/Default.BindToGateway")), bind)
        .await;
    assert_eq!(r.status(), 200);
    let on_prem = &b.datasources(did).await[0];
    assert_eq!(on_prem["gatewayId"], LOCAL_GW);
    assert_eq!(on_prem["datasourceId"], local_ds.as_str());
    let bound = b
        .get(b.g(&format!(
            "datasets/{did}/Default.GetBoundGatewayDataSources"
        )))
        .await;
    assert!(
        bound["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == local_ds.as_str() && x["connectionDetails"].is_string())
    );
    // Credentials rotated by the owner, encrypted with the 2048-bit key (hybrid scheme).
    let r = b
        .patch(
            b.api(&format!("gateways/{LOCAL_GW}/datasources/{local_ds}")),
            cred(
                "Basic",
                json!(encrypt(&local, &basic("rotated"))),
                "RSA-OAEP",
            ),
        )
        .await;
    assert_eq!(r.status(), 200);
    let status = format!("gateways/{LOCAL_GW}/datasources/{local_ds}/status");
    let r =
        b.c.get(b.api(&status))
            .bearer_auth(&b.tok)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);

    // The Legacy Gateway (1024-bit, segmented OAEP-SHA1) holds the SSAS source.
    let (ssas_conn, ssas_did) = match fixtures {
        Some(f) => (
            json!({"server": ".\\tab17", "database": "TableFunctionsDetailRows"}),
            Some(f.ssas.clone()),
        ),
        None => (json!({"server": "olap01", "database": "Cube"}), None),
    };
    let legacy_ds =
        create_gateway_source(a, &legacy, LEGACY_GW, "AnalysisServices", ssas_conn).await;
    let r = a
        .patch(
            a.api(&format!("gateways/{LEGACY_GW}/datasources/{legacy_ds}")),
            cred(
                "Windows",
                json!(encrypt(&legacy, &basic("CORP\\olap"))),
                "RSA-OAEP",
            ),
        )
        .await;
    assert_eq!(r.status(), 200);
    let status = format!("gateways/{LEGACY_GW}/datasources/{legacy_ds}/status");
    let r =
        a.c.get(a.api(&status))
            .bearer_auth(&a.tok)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    if let Some(ssas) = ssas_did {
        let r = a
            .post(
                a.g(&format!("datasets/{ssas}/Default.BindToGateway")),
                json!({"gatewayObjectId": LEGACY_GW, "datasourceObjectIds": [legacy_ds]}),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(a.datasources(&ssas).await[0]["gatewayId"], LEGACY_GW);
    }
    (local_ds, legacy_ds)
}

/// The documented credential failures (5.3 table).
pub async fn credential_errors(a: &Pbi, b: &Pbi, sales: &Sales, local_ds: &str) {
    let gw_url = b.api(&format!("gateways/{LOCAL_GW}/datasources/{local_ds}"));
    let code = |v: Value| {
        v["error"]["code"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default()
    };
    // On-premises source with unencrypted credentials.
    let r = b
        .patch(gw_url.clone(), cred("Basic", json!(basic("x")), "None"))
        .await;
    assert_eq!(
        code(pbi_error(r, 400).await),
        "DMTS_InvalidEncryptionAlgorithmError"
    );
    // Cloud source with RSA-OAEP.
    let cloud = &b.datasources(&sales.id).await[2];
    let cloud_url = b.api(&format!(
        "gateways/{}/datasources/{}",
        cloud["gatewayId"].as_str().unwrap(),
        cloud["datasourceId"].as_str().unwrap()
    ));
    let r = b
        .patch(
            cloud_url.clone(),
            cred("Basic", json!(basic("x")), "RSA-OAEP"),
        )
        .await;
    assert_eq!(
        code(pbi_error(r, 400).await),
        "DMTS_InvalidEncryptionAlgorithmError"
    );
    // Ciphertext that does not decrypt with the gateway key.
    let r = b
        .patch(
            gw_url.clone(),
            cred("Basic", json!("bm90IGEgY2lwaGVydGV4dA=="), "RSA-OAEP"),
        )
        .await;
    assert_eq!(r.status(), 400);
    // credentials not a string / body not wrapped in credentialDetails.
    let delta = "'datasourceDelta' is a required parameter";
    let r = b
        .patch(
            cloud_url.clone(),
            cred("Basic", json!({"credentialData": []}), "None"),
        )
        .await;
    assert!(pbi_error(r, 400).await.to_string().contains(delta));
    let r = b
        .patch(cloud_url.clone(), json!({"credentialType": "Basic"}))
        .await;
    assert!(pbi_error(r, 400).await.to_string().contains(delta));
    // useCallerAADIdentity without OAuth2.
    let r = b
        .patch(
            cloud_url.clone(),
            json!({"credentialDetails": {"credentialType": "Basic", "useCallerAADIdentity": true,
            "encryptedConnection": "Encrypted", "encryptionAlgorithm": "None", "privacyLevel": "None"}}),
        )
        .await;
    assert_eq!(r.status(), 400);
    // Non-owner on a cloud source.
    let r = a
        .patch(cloud_url, cred("Basic", json!(basic("x")), "None"))
        .await;
    assert_eq!(r.status(), 401);
    // The failures left the stored credentials in place.
    let status = format!("gateways/{LOCAL_GW}/datasources/{local_ds}/status");
    let r =
        b.c.get(b.api(&status))
            .bearer_auth(&b.tok)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
}
