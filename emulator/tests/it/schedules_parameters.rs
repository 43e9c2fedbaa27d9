//! DirectQuery refresh schedules and parameters that re-point data sources.

use crate::common;

use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::{Value, json};

/// A DirectQuery model: one SQL table in `directQuery` mode through two parameters.
fn dq_pbix() -> Vec<u8> {
    let model = json!({
        "tables": [{"name": "Stock", "partitions": [{"name": "p", "mode": "directQuery", "source": {"type": "m",
            "expression": "let Source = Sql.Database(Server & \".corp\", Database) in Source"}}]}],
        "expressions": [
            {"name": "Server", "kind": "m", "expression": "\"sql01\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"},
            {"name": "Database", "kind": "m", "expression": "\"Inventory\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"}
        ]
    });
    let schema = json!({"name": "dq", "compatibilityLevel": 1550, "model": model});
    zip(&[("DataModelSchema", utf16le(&schema.to_string()))])
}

async fn send(
    c: &reqwest::Client,
    tok: &str,
    method: reqwest::Method,
    url: &str,
    b: Option<Value>,
) -> (u16, Value) {
    let mut req = c.request(method, url).bearer_auth(tok);
    if let Some(b) = b {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, body(r).await)
}

#[tokio::test]
async fn direct_query_schedule_takes_a_frequency_or_slots_and_import_datasets_refuse_it() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let dq = import_done(&c, &url, &tok, &g, "Inventory", "Abort", dq_pbix()).await;
    let imp = import_done(&c, &url, &tok, &g, "Sales", "Abort", sales_pbix()).await;
    let dq_id = dq["datasets"][0]["id"].as_str().unwrap();
    let imp_id = imp["datasets"][0]["id"].as_str().unwrap();
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets");
    let dq_sched = format!("{base}/{dq_id}/directQueryRefreshSchedule");
    let patch = reqwest::Method::PATCH;
    let get = reqwest::Method::GET;

    let (s, v) = send(&c, &tok, get.clone(), &format!("{base}/{dq_id}"), None).await;
    assert_eq!((s, &v["isRefreshable"]), (200, &json!(false)), "{v}");
    // the import schedule is refused for DirectQuery, and the other way round
    let (s, _) = send(
        &c,
        &tok,
        patch.clone(),
        &format!("{base}/{dq_id}/refreshSchedule"),
        Some(json!({"value": {"enabled": false}})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, v) = send(
        &c,
        &tok,
        patch.clone(),
        &format!("{base}/{imp_id}/directQueryRefreshSchedule"),
        Some(json!({"value": {"frequency": 30}})),
    )
    .await;
    assert_eq!(s, 400, "{v}");

    let (s, _) = send(
        &c,
        &tok,
        patch.clone(),
        &dq_sched,
        Some(json!({"value": {"frequency": 45}})),
    )
    .await;
    assert_eq!(s, 400, "45 is not an allowed frequency");
    let (s, _) = send(
        &c,
        &tok,
        patch.clone(),
        &dq_sched,
        Some(json!({"value": {"frequency": 30, "days": ["Monday"]}})),
    )
    .await;
    assert_eq!(s, 400, "frequency and days together are refused");
    let (s, _) = send(
        &c,
        &tok,
        patch.clone(),
        &dq_sched,
        Some(json!({"value": {"days": ["monday"], "times": ["07:00"], "localTimeZoneId": "UTC"}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = send(&c, &tok, get.clone(), &dq_sched, None).await;
    assert_eq!(
        (&v["days"], &v["times"], &v["frequency"]),
        (&json!(["Monday"]), &json!(["07:00"]), &Value::Null)
    );
    let (s, _) = send(
        &c,
        &tok,
        patch.clone(),
        &dq_sched,
        Some(json!({"value": {"frequency": 30}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = send(&c, &tok, get, &dq_sched, None).await;
    assert_eq!(v["frequency"], 30);
    assert_eq!(
        v["days"],
        json!([]),
        "a frequency overwrites days and times"
    );

    // only the owner may change it
    let other = token(&c, &url, "app-2").await;
    let users = format!("{url}/v1.0/myorg/groups/{g}/users");
    let (s, _) = send(
        &c,
        &tok,
        reqwest::Method::POST,
        &users,
        Some(
            json!({"identifier": "app-2", "principalType": "App", "groupUserAccessRight": "Admin"}),
        ),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        &c,
        &other,
        patch,
        &dq_sched,
        Some(json!({"value": {"frequency": 60}})),
    )
    .await;
    assert_eq!(s, 401, "PowerBINotAuthorizedException for a non-owner");
    emu.shutdown().await;
}

#[tokio::test]
async fn updating_parameters_re_points_the_sources_built_from_them() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let dq = import_done(&c, &url, &tok, &g, "Inventory", "Abort", dq_pbix()).await;
    let id = dq["datasets"][0]["id"].as_str().unwrap();
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets/{id}");
    let sources = |v: Value| v["value"][0]["connectionDetails"].clone();
    let (_, v) = send(
        &c,
        &tok,
        reqwest::Method::GET,
        &format!("{base}/datasources"),
        None,
    )
    .await;
    assert_eq!(
        sources(v),
        json!({"server": "sql01.corp", "database": "Inventory"})
    );

    let update = json!({"updateDetails": [{"name": "Server", "newValue": "sql-test"}]});
    let (s, _) = send(
        &c,
        &tok,
        reqwest::Method::POST,
        &format!("{base}/Default.UpdateParameters"),
        Some(update),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = send(
        &c,
        &tok,
        reqwest::Method::GET,
        &format!("{base}/datasources"),
        None,
    )
    .await;
    assert_eq!(
        sources(v),
        json!({"server": "sql-test.corp", "database": "Inventory"})
    );

    // Update Datasources writes literals: a later parameter change no longer moves the source
    let repoint = json!({"updateDetails": [{"datasourceSelector": {"datasourceType": "Sql", "connectionDetails": {"server": "sql-test.corp", "database": "Inventory"}},
        "connectionDetails": {"server": "fixed.corp", "database": "Inventory"}}]});
    let (s, v) = send(
        &c,
        &tok,
        reqwest::Method::POST,
        &format!("{base}/Default.UpdateDatasources"),
        Some(repoint),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let update = json!({"updateDetails": [{"name": "Server", "newValue": "sql-prod"}]});
    let (s, _) = send(
        &c,
        &tok,
        reqwest::Method::POST,
        &format!("{base}/Default.UpdateParameters"),
        Some(update),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = send(
        &c,
        &tok,
        reqwest::Method::GET,
        &format!("{base}/datasources"),
        None,
    )
    .await;
    assert_eq!(
        sources(v),
        json!({"server": "fixed.corp", "database": "Inventory"})
    );
    emu.shutdown().await;
}

/// `localTimeZoneId` takes Windows time-zone ids only, on both schedules.
#[tokio::test]
async fn schedules_refuse_a_time_zone_that_is_not_a_windows_id() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let imp = import_done(&c, &url, &tok, &g, "Sales", "Abort", sales_pbix()).await;
    let dq = import_done(&c, &url, &tok, &g, "Inventory", "Abort", dq_pbix()).await;
    let base = format!("{url}/v1.0/myorg/groups/{g}/datasets");
    let imp_sched = format!(
        "{base}/{}/refreshSchedule",
        imp["datasets"][0]["id"].as_str().unwrap()
    );
    let dq_sched = format!(
        "{base}/{}/directQueryRefreshSchedule",
        dq["datasets"][0]["id"].as_str().unwrap()
    );
    for (url, direct_query) in [(&imp_sched, false), (&dq_sched, true)] {
        for (tz, want) in [
            ("Mars/Olympus_Mons", 400),
            ("Europe/Berlin", 400),
            ("W. Europe Standard Time", 200),
        ] {
            let value = if direct_query {
                json!({"frequency": 30, "localTimeZoneId": tz})
            } else {
                json!({"days": ["Monday"], "times": ["07:00"], "localTimeZoneId": tz})
            };
            let (s, v) = send(
                &c,
                &tok,
                reqwest::Method::PATCH,
                url,
                Some(json!({ "value": value })),
            )
            .await;
            assert_eq!(s, want, "{url} {tz}: {v}");
            if want == 400 {
                assert_eq!(v["error"]["code"], "InvalidRequest", "{v}");
            }
        }
    }
    emu.shutdown().await;
}
