//! The "done when": a client written only from the reference (powerbi-api.md,
//! credential-encryption.md — not from pbideploy's code) runs the whole deployment flow
//! against the in-process emulator and finds the result in `GET /_emulator/state`.

mod client;
use crate::common;
mod gateways;

use client::{LEGACY_GW, LOCAL_GW, Pbi, basic, cred, details, pbi_error};
use common::{body, sales_pbix, shared_data, thin_pbix, token};
use gateways::{credential_errors, gateways};
use pbideploy_emulator::{EmulatorConfig, RunningEmulator};
use reqwest::Client;
use serde_json::{Value, json};

const THIN_TARGET: &str = "d6b517a0-219a-4c7d-8c56-c844c6536db1";

#[tokio::test]
async fn full_flow_from_the_reference() {
    let emu = pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let c = Client::new();
    let url = emu.url();
    let tok_a = token(&c, &url, "11111111-aaaa-4aaa-8aaa-00000000000a").await;
    let tok_b = token(&c, &url, "11111111-aaaa-4aaa-8aaa-00000000000b").await;
    let a = Pbi {
        c: c.clone(),
        url: url.clone(),
        tok: tok_a,
        gid: String::new(),
    };
    let r = a
        .post(
            a.api("groups?workspaceV2=True"),
            json!({"name": "Full Flow"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let gid = body(r).await["id"].as_str().unwrap().to_string();
    let a = Pbi { gid, ..a };
    let b = Pbi {
        c: c.clone(),
        url: url.clone(),
        tok: tok_b,
        gid: a.gid.clone(),
    };
    let r = a
        .post(
            a.g("users"),
            json!({"identifier": "11111111-aaaa-4aaa-8aaa-00000000000b", "principalType": "App",
                "groupUserAccessRight": "Admin"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let sales = import_sales(&a).await;
    let fixtures = import_fixtures(&a, &emu).await;
    ownership_and_updates(&a, &b, &sales).await;
    let (local_ds, legacy_ds) = gateways(&a, &b, &emu, &sales, fixtures.as_ref()).await;
    credential_errors(&a, &b, &sales, &local_ds).await;
    let reports = thin_reports(&a, &b, &emu, &sales).await;
    refresh(&b, &sales).await;
    final_state(&a, &sales, &local_ds, &legacy_ds, &reports).await;
    emu.shutdown().await;
}

/// Dataset id plus the cloud datasource the test gives credentials to.
pub struct Sales {
    pub id: String,
}

async fn import_sales(a: &Pbi) -> Sales {
    let imp = a.import("Sales.pbix", sales_pbix()).await.unwrap();
    let did = imp["datasets"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(imp["datasets"][0]["name"], "Sales");
    assert_eq!(imp["reports"][0]["name"], "Sales");
    let ds = a.get(a.g(&format!("datasets/{did}"))).await;
    assert_eq!(ds["configuredBy"], "11111111-aaaa-4aaa-8aaa-00000000000a");
    assert_eq!(ds["isOnPremGatewayRequired"], true);
    let sources: Vec<_> = a.datasources(&did).await.iter().map(details).collect();
    assert_eq!(
        sources,
        vec![
            (
                "Sql".into(),
                json!({"server": "sqlprod01", "database": "Sales"})
            ),
            (
                "Sql".into(),
                json!({"server": "archive.database.windows.net", "database": "Archive"})
            ),
            (
                "Web".into(),
                json!({"url": "https://rates.example.com/api"})
            ),
        ]
    );
    let params = a.parameters(&did).await;
    assert_eq!(params.len(), 2);
    assert_eq!(params[0]["name"], "Server");
    assert_eq!(params[0]["type"], "Text");
    assert_eq!(params[0]["currentValue"], "sqlprod01");
    assert_eq!(params[0]["isRequired"], true);
    assert_eq!(
        params[1]["suggestedValues"],
        json!(["Sales", "SalesArchive"])
    );
    Sales { id: did }
}

/// A fixture file, its expected datasources (type, details) and parameter count.
type FixtureCase = (&'static str, Vec<(&'static str, Value)>, usize);

/// Ids of the fixture datasets the later steps use (None when the fixtures are absent).
pub struct Fixtures {
    pub ssas: String,
}

async fn import_fixtures(a: &Pbi, emu: &RunningEmulator) -> Option<Fixtures> {
    let fixtures = shared_data("fixtures/pbix")?;
    let read = |n: &str| std::fs::read(fixtures.join(n)).unwrap();
    // Regional Sales keeps its model in XPress9: the tenant's pbixViews (keyed by SHA-256) say
    // what the service would derive.
    let regional_url = "https://microsoft-my.sharepoint.com/personal/misewell_microsoft_com/Documents/Documents/GitHub/ContosoBI/Contoso%20-%20Sales%20-%20Current%20Release/Contoso%20-%20Dynamics%20365%20Sales%20Source%20Data.xlsx";
    emu.with_model(|m| {
        let seed: pbideploy_emulator::model::PbixViewSeed = serde_json::from_value(json!({
            "datasources": [{"datasourceType": "Web", "connectionDetails": {"url": regional_url}}],
            "parameters": []
        }))
        .unwrap();
        m.tenant.pbix_views.insert(
            "aba504345740406fe35ea83c4dc194bb408ce467f09840bac1b82e5e8725cdab".into(),
            seed,
        );
    });
    let mut ssas = String::new();
    let cases: [FixtureCase; 4] = [
        (
            "directquery-parameters.pbix",
            vec![(
                "Sql",
                json!({"server": "localhost\\v2017", "database": "AdventureWorksDW2014"}),
            )],
            2,
        ),
        (
            "2018SU10 Data Profiling Demo - October.pbix",
            vec![(
                "OData",
                json!({"url": "http://services.odata.org/V4/Northwind/Northwind.svc/"}),
            )],
            0,
        ),
        (
            "Regional Sales Sample.pbix",
            vec![("Web", json!({"url": regional_url}))],
            0,
        ),
        (
            "live-connection-ssas.pbix",
            vec![(
                "AnalysisServices",
                json!({"server": ".\\tab17", "database": "TableFunctionsDetailRows"}),
            )],
            0,
        ),
    ];
    for (file, want, nparams) in cases {
        let imp = a.import(file, read(file)).await.unwrap();
        let name = file.trim_end_matches(".pbix");
        assert_eq!(imp["datasets"][0]["name"], name, "{file}");
        assert_eq!(imp["reports"][0]["name"], name, "{file}");
        let did = imp["datasets"][0]["id"].as_str().unwrap().to_string();
        let got: Vec<_> = a.datasources(&did).await.iter().map(details).collect();
        let want: Vec<_> = want.into_iter().map(|(t, d)| (t.to_string(), d)).collect();
        assert_eq!(got, want, "{file}");
        let params = a.parameters(&did).await;
        assert_eq!(params.len(), nparams, "{file}: {params:?}");
        if file.starts_with("directquery") {
            assert_eq!(params[0]["name"], "ServerName");
            assert_eq!(params[0]["currentValue"], "localhost\\v2017");
            assert_eq!(params[1]["name"], "DatabaseName");
            assert_eq!(
                params[1]["suggestedValues"],
                json!(["AdventureWorksDW2012", "AdventureWorksDW2014"])
            );
        }
        if file.starts_with("live-connection-ssas") {
            let ds = a.get(a.g(&format!("datasets/{did}"))).await;
            assert_eq!(ds["isRefreshable"], false);
            assert_eq!(ds["isOnPremGatewayRequired"], true);
            ssas = did;
        }
    }
    // documented (SOURCES.md #6): a template is not an importable type.
    let (status, _) = a
        .import(
            "COVID-19 US Tracking Sample.pbit",
            read("COVID-19 US Tracking Sample.pbit"),
        )
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    Some(Fixtures { ssas })
}

/// Take Over (3.4), owner-only Update Parameters (3.6) and Update Datasources (3.8).
async fn ownership_and_updates(a: &Pbi, b: &Pbi, sales: &Sales) {
    let did = &sales.id;
    let up = json!({"updateDetails": [{"name": "Database", "newValue": "SalesArchive"}]});
    let r = b
        .post(
            b.g(&format!("datasets/{did}/Default.UpdateParameters")),
            up.clone(),
        )
        .await;
    assert_eq!(
        pbi_error(r, 401).await["error"]["code"],
        "PowerBINotAuthorizedException"
    );
    let r =
        b.c.post(b.g(&format!("datasets/{did}/Default.TakeOver")))
            .bearer_auth(&b.tok)
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let ds = b.get(b.g(&format!("datasets/{did}"))).await;
    assert_eq!(ds["configuredBy"], "11111111-aaaa-4aaa-8aaa-00000000000b");
    let r = b
        .post(b.g(&format!("datasets/{did}/Default.UpdateParameters")), up)
        .await;
    assert_eq!(r.status(), 200);
    let r = a
        .post(
            a.g(&format!("datasets/{did}/Default.UpdateParameters")),
            json!({"updateDetails": [{"name": "Database", "newValue": "Sales"}]}),
        )
        .await;
    assert_eq!(r.status(), 401, "the old owner is no longer the owner");
    assert_eq!(b.parameters(did).await[1]["currentValue"], "SalesArchive");

    let old = json!({"server": "archive.database.windows.net", "database": "Archive"});
    let new = json!({"server": "archive2.database.windows.net", "database": "Archive"});
    let body_for = |sel: &Value| {
        json!({"updateDetails": [{"datasourceSelector": {"datasourceType": "Sql", "connectionDetails": sel},
        "connectionDetails": new}]})
    };
    let r = a
        .post(
            a.g(&format!("datasets/{did}/Default.UpdateDatasources")),
            body_for(&old),
        )
        .await;
    assert_eq!(r.status(), 401);
    let wrong = json!({"server": "nope.database.windows.net", "database": "Archive"});
    let r = b
        .post(
            b.g(&format!("datasets/{did}/Default.UpdateDatasources")),
            body_for(&wrong),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = b
        .post(
            b.g(&format!("datasets/{did}/Default.UpdateDatasources")),
            body_for(&old),
        )
        .await;
    assert_eq!(r.status(), 200);
    let sources = b.datasources(did).await;
    assert_eq!(sources[1]["connectionDetails"], new);
    // Cloud sources sit on the owner's cloud gateway: the owner sets plain credentials.
    for s in &sources[1..] {
        let (gw, ds) = (
            s["gatewayId"].as_str().unwrap(),
            s["datasourceId"].as_str().unwrap(),
        );
        let r = a
            .patch(
                a.api(&format!("gateways/{gw}/datasources/{ds}")),
                cred("Basic", json!(basic("reader")), "None"),
            )
            .await;
        assert_eq!(
            pbi_error(r, 401).await["error"]["code"],
            "PowerBINotAuthorizedException",
            "non-owner credential PATCH on a cloud source"
        );
        let r = b
            .patch(
                b.api(&format!("gateways/{gw}/datasources/{ds}")),
                cred("Basic", json!(basic("reader")), "None"),
            )
            .await;
        assert_eq!(r.status(), 200, "{s}");
        let r =
            b.c.get(b.api(&format!("gateways/{gw}/datasources/{ds}/status")))
                .bearer_auth(&b.tok)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 200);
    }
}

/// Thin reports: the fixture's target must exist (400 before, bound after), a synthetic thin
/// report binds to Sales; both are rebound. Returns (report id, expected dataset id).
async fn thin_reports(
    a: &Pbi,
    b: &Pbi,
    emu: &RunningEmulator,
    sales: &Sales,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let imp = a.import("Thin.pbix", thin_pbix(&sales.id)).await.unwrap();
    assert_eq!(imp["datasets"], json!([]));
    let rid = imp["reports"][0]["id"].as_str().unwrap().to_string();
    let rep = a.get(a.g(&format!("reports/{rid}"))).await;
    assert_eq!(rep["name"], "Thin");
    assert_eq!(rep["datasetId"], sales.id.as_str());
    out.push((rid, sales.id.clone()));

    // A principal outside the Sales workspace cannot reach the dataset its thin report names.
    let tok_c = token(&a.c, &a.url, "11111111-aaaa-4aaa-8aaa-00000000000c").await;
    let r =
        a.c.post(a.api("groups?workspaceV2=True"))
            .bearer_auth(&tok_c)
            .json(&json!({"name": "Outsider"}))
            .send()
            .await
            .unwrap();
    let gid_c = body(r).await["id"].as_str().unwrap().to_string();
    let outsider = Pbi {
        c: a.c.clone(),
        url: a.url.clone(),
        tok: tok_c,
        gid: gid_c,
    };
    let (status, err) = outsider
        .import("Thin.pbix", thin_pbix(&sales.id))
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    assert!(
        err.to_string().contains("PowerBIModelNotFoundException"),
        "{err}"
    );

    let Some(fixture) = shared_data("fixtures/pbix/live-connection-pbiservice.pbix") else {
        return out;
    };
    let bytes = std::fs::read(&fixture).unwrap();
    let (status, err) = a
        .import("live-connection-pbiservice.pbix", bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    assert!(
        err.to_string().contains("PowerBIModelNotFoundException"),
        "{err}"
    );
    // Plant the dataset the report names (as if published earlier) in the same workspace.
    let gid = a.gid.clone();
    emu.with_model(|m| {
        let mut d = m
            .datasets
            .iter()
            .find(|d| d.id == sales.id)
            .unwrap()
            .clone();
        d.id = THIN_TARGET.into();
        d.name = "Remote Model".into();
        d.group_id = gid;
        d.datasources.clear();
        d.parameters.clear();
        d.bound_gateway_id = None;
        m.datasets.push(d);
    });
    let imp = a
        .import("live-connection-pbiservice.pbix", bytes)
        .await
        .unwrap();
    assert_eq!(imp["datasets"], json!([]));
    assert_eq!(imp["reports"][0]["name"], "live-connection-pbiservice");
    let rid = imp["reports"][0]["id"].as_str().unwrap().to_string();
    let rep = a.get(a.g(&format!("reports/{rid}"))).await;
    assert_eq!(rep["datasetId"], THIN_TARGET);
    // Rebind (4.4) to Sales.
    let r = b
        .post(
            b.g(&format!("reports/{rid}/Rebind")),
            json!({"datasetId": sales.id}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rep = b.get(b.g(&format!("reports/{rid}"))).await;
    assert_eq!(rep["datasetId"], sales.id.as_str());
    out.push((rid, sales.id.clone()));
    out
}

/// Refresh (3.13) by the owner and the history (3.14).
async fn refresh(b: &Pbi, sales: &Sales) {
    let did = &sales.id;
    let r = b
        .post(
            b.g(&format!("datasets/{did}/refreshes")),
            json!({"notifyOption": "NoNotification"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mut last = Value::Null;
    for _ in 0..300 {
        last = b
            .get(b.g(&format!("datasets/{did}/refreshes?$top=1")))
            .await;
        if last["value"][0]["status"] != "Unknown" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(last["value"][0]["status"], "Completed", "{last}");
    assert_eq!(last["value"][0]["refreshType"], "ViaApi");
}

async fn final_state(
    a: &Pbi,
    sales: &Sales,
    local_ds: &str,
    legacy_ds: &str,
    reports: &[(String, String)],
) {
    let r =
        a.c.get(format!("{}/_emulator/state", a.url))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let s = body(r).await;
    let text = s.to_string();
    let ds = s["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == sales.id.as_str())
        .unwrap();
    assert_eq!(ds["configuredBy"], "11111111-aaaa-4aaa-8aaa-00000000000b");
    assert_eq!(ds["boundGatewayId"], LOCAL_GW);
    let db = ds["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Database")
        .unwrap();
    assert_eq!(db["currentValue"], "SalesArchive");
    assert!(!ds["refreshes"].as_array().unwrap().is_empty());
    for (gw, id, user) in [
        (LOCAL_GW, local_ds, "rotated"),
        (LEGACY_GW, legacy_ds, "CORP\\\\olap"),
    ] {
        let g = s["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == gw)
            .unwrap();
        let d = g["datasources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap();
        let creds = d["credentials"]["credentialsJson"].as_str().unwrap();
        assert!(creds.contains(user), "{gw}: {creds}");
    }
    for (rid, did) in reports {
        let r = s["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rid.as_str())
            .unwrap();
        assert_eq!(r["datasetId"], did.as_str());
    }
    assert!(text.contains("archive2.database.windows.net"));
}
