//! The Fabric `/v1` API's behaviour beyond the recording (fabric-items-api.md): models read
//! from their TMDL become Power BI datasets with parameters, data sources and storage mode;
//! the required-part, byConnection and data-loss rules; paging; deletes and held names;
//! updateDefinition (with metadata) and getDefinition; Fabric-shaped throttling.
mod common;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use reqwest::Client;
use serde_json::{Value, json};
use std::path::Path;

/// The parts of an item folder (`manifests/pbip/…` in this repository), `.pbi/` left out.
fn folder_parts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with(".pbi") {
                    walk(root, &p, out);
                }
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn sales_model() -> Vec<(String, Vec<u8>)> {
    folder_parts(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/pbip/Sales.SemanticModel"),
    )
}

fn definition(parts: &[(String, Vec<u8>)]) -> Value {
    let parts: Vec<Value> = parts
        .iter()
        .map(|(p, b)| json!({"path": p, "payload": STANDARD.encode(b), "payloadType": "InlineBase64"}))
        .collect();
    json!({"parts": parts})
}

fn edit(
    parts: &[(String, Vec<u8>)],
    path: &str,
    f: impl Fn(&str) -> String,
) -> Vec<(String, Vec<u8>)> {
    parts
        .iter()
        .map(|(p, b)| {
            if p == path {
                (p.clone(), f(&String::from_utf8_lossy(b)).into_bytes())
            } else {
                (p.clone(), b.clone())
            }
        })
        .collect()
}

/// Removes the `column NAME` block (up to the next blank-line-separated member).
fn drop_column(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("\tcolumn {name}"))
        .expect("column in fixture");
    let rest = &text[start + 1..];
    let end = rest
        .find("\n\n\t")
        .map(|n| start + 1 + n + 2)
        .unwrap_or(text.len());
    format!("{}{}", &text[..start], &text[end..])
}

struct Env {
    c: Client,
    url: String,
    tok: String,
    ws: String,
}

impl Env {
    async fn new(config: EmulatorConfig) -> (pbideploy_emulator::RunningEmulator, Env) {
        let (emu, c) = emulator(config).await;
        let url = emu.url();
        let tok = token(&c, &url, "fabric-items").await;
        let ws = create_group(&c, &url, &tok, "Fabric").await;
        (emu, Env { c, url, tok, ws })
    }
    async fn post(&self, rest: &str, body: Value) -> reqwest::Response {
        self.c
            .post(format!("{}/v1/{rest}", self.url))
            .bearer_auth(&self.tok)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    async fn get(&self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.url)
        };
        self.c.get(url).bearer_auth(&self.tok).send().await.unwrap()
    }
    async fn create(&self, name: &str, kind: &str, def: Value) -> reqwest::Response {
        self.post(
            &format!("workspaces/{}/items", self.ws),
            json!({"displayName": name, "type": kind, "definition": def}),
        )
        .await
    }
    /// Follows a 202 to its end: the final operation state and the result (if any).
    async fn follow(&self, r: reqwest::Response) -> (Value, Value) {
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let mut loc = r.headers()["location"].to_str().unwrap().to_string();
        for _ in 0..100 {
            let s = self.get(&loc).await;
            let next = s
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            let state = body(s).await;
            match state["status"].as_str() {
                Some("Running") => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Some("Succeeded") => {
                    let result = match next {
                        Some(l) => body(self.get(&l).await).await,
                        None => Value::Null,
                    };
                    return (state, result);
                }
                _ => return (state, Value::Null),
            }
            if let Some(l) = next {
                loc = l;
            }
        }
        panic!("the operation never ended");
    }
    /// Creates an item in synchronous mode and returns its id.
    async fn create_id(&self, name: &str, kind: &str, parts: &[(String, Vec<u8>)]) -> String {
        let r = self.create(name, kind, definition(parts)).await;
        assert_eq!(r.status(), 201);
        body(r).await["id"].as_str().unwrap().to_string()
    }
    /// getDefinition in synchronous mode, decoded.
    async fn export(&self, id: &str) -> Vec<(String, Vec<u8>)> {
        let r = self
            .post(
                &format!("workspaces/{}/items/{id}/getDefinition", self.ws),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), 200);
        body(r).await["definition"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["path"].as_str().unwrap().to_string(),
                    STANDARD.decode(p["payload"].as_str().unwrap()).unwrap(),
                )
            })
            .collect()
    }
    async fn pbi(&self, rest: &str) -> Value {
        body(
            self.get(&format!("/v1.0/myorg/groups/{}/{rest}", self.ws))
                .await,
        )
        .await
    }
}

#[tokio::test]
async fn a_model_from_tmdl_is_a_dataset_with_its_parameters_sources_and_mode() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_delay_ms: 30,
        ..EmulatorConfig::default()
    })
    .await;
    let (state, item) = e
        .follow(
            e.create("Sales", "SemanticModel", definition(&sales_model()))
                .await,
        )
        .await;
    assert_eq!(state["status"], "Succeeded", "{state}");
    let id = item["id"].as_str().unwrap();
    let params = e.pbi(&format!("datasets/{id}/parameters")).await;
    let names: Vec<&str> = params["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Server", "Database"], "{params}");
    assert_eq!(params["value"][0]["currentValue"], "sql01.contoso.test");
    let sources = e.pbi(&format!("datasets/{id}/datasources")).await;
    let sql = &sources["value"][0];
    assert_eq!(sql["datasourceType"], "Sql", "{sources}");
    assert_eq!(sql["connectionDetails"]["server"], "sql01.contoso.test");
    let ds = e.pbi(&format!("datasets/{id}")).await;
    assert_eq!(ds["name"], "Sales");
    // A composite model (DirectQuery Sales, Import Customer) has a DirectQuery schedule.
    let dq = e
        .get(&format!(
            "/v1.0/myorg/groups/{}/datasets/{id}/directQueryRefreshSchedule",
            e.ws
        ))
        .await;
    assert_eq!(dq.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn dropping_an_import_column_needs_a_purge_and_a_directquery_one_does_not() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_delay_ms: 30,
        ..EmulatorConfig::default()
    })
    .await;
    let base = sales_model();
    let (_, item) = e
        .follow(e.create("Sales", "SemanticModel", definition(&base)).await)
        .await;
    let id = item["id"].as_str().unwrap();
    let path = format!("workspaces/{}/items/{id}/updateDefinition", e.ws);
    let update =
        |parts: Vec<(String, Vec<u8>)>| e.post(&path, json!({"definition": definition(&parts)}));

    let dq_drop = edit(&base, "definition/tables/Sales.tmdl", |t| {
        drop_column(t, "Amount\n")
    });
    let (state, _) = e.follow(update(dq_drop.clone()).await).await;
    assert_eq!(
        state["status"], "Succeeded",
        "DirectQuery data is not stored: {state}"
    );

    let import_drop = edit(&dq_drop, "definition/tables/Customer.tmdl", |t| {
        drop_column(t, "'Customer Name'")
    });
    let (state, _) = e.follow(update(import_drop).await).await;
    assert_eq!(state["status"], "Failed");
    assert_eq!(
        state["error"]["errorCode"], "Alm_InvalidRequest_PurgeRequired",
        "{state}"
    );
    assert!(state["error"]["message"].as_str().unwrap().contains(id));

    // The failed update left the stored definition as it was.
    let (_, got) = e
        .follow(
            e.post(
                &format!("workspaces/{}/items/{id}/getDefinition", e.ws),
                json!({}),
            )
            .await,
        )
        .await;
    let tmdl = got["definition"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "definition/tables/Customer.tmdl")
        .unwrap();
    let text =
        String::from_utf8(STANDARD.decode(tmdl["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert!(text.contains("Customer Name"));
    emu.shutdown().await;
}

#[tokio::test]
async fn reports_bind_by_connection_only_and_need_their_parts() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    })
    .await;
    let r = e
        .create("Sales", "SemanticModel", definition(&sales_model()))
        .await;
    assert_eq!(r.status(), 201);
    let model = body(r).await["id"].as_str().unwrap().to_string();
    let pbir = |v: Value| (String::from("definition.pbir"), v.to_string().into_bytes());
    let legacy = |binding: Value| {
        vec![
            pbir(json!({"version": "4.0", "datasetReference": binding})),
            ("report.json".to_string(), b"{}".to_vec()),
        ]
    };

    let r = e
        .create(
            "Local",
            "Report",
            definition(&legacy(
                json!({"byPath": {"path": "../Sales.SemanticModel"}}),
            )),
        )
        .await;
    assert_eq!(r.status(), 400);
    let b = body(r).await;
    assert_eq!(b["errorCode"], "Workload_FailedToParseFile");
    assert!(b["message"].as_str().unwrap().contains("byPath"), "{b}");
    assert!(b["requestId"].is_string());

    let v1 = json!({"byConnection": {"connectionString": null, "pbiServiceModelId": null,
        "pbiModelVirtualServerName": "sobe_wowvirtualserver", "pbiModelDatabaseName": model,
        "name": "EntityDataSource", "connectionType": "pbiServiceXmlaStyleLive"}});
    let r = e
        .create("Old form", "Report", definition(&legacy(v1)))
        .await;
    assert_eq!(r.status(), 201, "the 1.0.0 object form is accepted");
    let v2 = json!({"byConnection": {"connectionString": format!("Data Source=powerbi://api.powerbi.com/v1.0/myorg/x;semanticmodelid={model}")}});
    let r = e
        .create("New form", "Report", definition(&legacy(v2.clone())))
        .await;
    assert_eq!(r.status(), 201);
    let rid = body(r).await["id"].as_str().unwrap().to_string();
    let rep = e.pbi(&format!("reports/{rid}")).await;
    assert_eq!(rep["datasetId"], model.as_str(), "{rep}");

    // PBIR without pages, and a model without TMDL or model.bim.
    let pbir_set = vec![
        pbir(json!({"version": "4.0", "datasetReference": v2})),
        ("definition/report.json".into(), b"{}".to_vec()),
        ("definition/version.json".into(), b"{}".to_vec()),
    ];
    let b = body(e.create("No pages", "Report", definition(&pbir_set)).await).await;
    assert_eq!(b["errorCode"], "Report_Import_FailedToImportReport", "{b}");
    let only_pbism = vec![("definition.pbism".to_string(), b"{}".to_vec())];
    let b = body(
        e.create("Empty", "SemanticModel", definition(&only_pbism))
            .await,
    )
    .await;
    assert_eq!(b["errorCode"], "Workload_FailedToParseFile", "{b}");
    let bad = json!({"parts": [{"path": "definition.pbism", "payload": "***", "payloadType": "InlineBase64"}]});
    let r = e.create("Bad", "SemanticModel", bad).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["errorCode"], "InvalidDefinitionFormat");
    emu.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_continuation_and_deletes_hold_names() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_sync: true,
        items_page_size: 2,
        name_hold_ms: 400,
        ..EmulatorConfig::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let r = e
            .create(
                &format!("M{n}"),
                "SemanticModel",
                definition(&sales_model()),
            )
            .await;
        assert_eq!(r.status(), 201);
        ids.push(body(r).await["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut next = format!("/v1/workspaces/{}/items?type=SemanticModel", e.ws);
    for _ in 0..10 {
        let page = body(e.get(&next).await).await;
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match page["continuationUri"].as_str() {
            Some(u) => {
                assert!(page["continuationToken"].is_string());
                next = u.to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, ids, "three pages of two, in order, nothing twice");
    let r = e
        .get(&format!(
            "/v1/workspaces/{}/items?continuationToken=garbage",
            e.ws
        ))
        .await;
    assert_eq!(r.status(), 400);

    let r =
        e.c.delete(format!(
            "{}/v1/workspaces/{}/items/{}?hardDelete=true",
            e.url, e.ws, ids[0]
        ))
        .bearer_auth(&e.tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = e
        .create("M0", "SemanticModel", definition(&sales_model()))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(body(r).await["errorCode"], "ItemDisplayNameNotAvailableYet");
    let r = e
        .create("M1", "SemanticModel", definition(&sales_model()))
        .await;
    assert_eq!(body(r).await["errorCode"], "ItemDisplayNameAlreadyInUse");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let r = e
        .create("M0", "SemanticModel", definition(&sales_model()))
        .await;
    assert_eq!(r.status(), 201, "the name is free again");
    emu.shutdown().await;
}

#[tokio::test]
async fn update_metadata_renames_from_platform_and_throttling_has_the_fabric_shape() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    })
    .await;
    let r = e
        .create("Before", "SemanticModel", definition(&sales_model()))
        .await;
    let id = body(r).await["id"].as_str().unwrap().to_string();
    let mut parts = sales_model();
    parts.retain(|(p, _)| p != ".platform");
    parts.push((".platform".into(), json!({"metadata": {"type": "SemanticModel", "displayName": "After", "description": "renamed"}}).to_string().into_bytes()));
    let path = format!("workspaces/{}/items/{id}/updateDefinition", e.ws);
    let r = e
        .post(&path, json!({"definition": definition(&parts)}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        e.pbi(&format!("datasets/{id}")).await["name"],
        "Before",
        ".platform is ignored without updateMetadata"
    );
    let r = e
        .post(
            &format!("{path}?updateMetadata=true"),
            json!({"definition": definition(&parts)}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(e.pbi(&format!("datasets/{id}")).await["name"], "After");
    let item = body(e.get(&format!("/v1/workspaces/{}/items/{id}", e.ws)).await).await;
    assert_eq!(item["description"], "renamed");

    emu.app().with(|w| w.knobs.throttle_rps = 1.0);
    let mut throttled = None;
    for _ in 0..5 {
        let r = e.get(&format!("/v1/workspaces/{}/items", e.ws)).await;
        if r.status() == 429 {
            throttled = Some((r.headers().get("retry-after").is_some(), body(r).await));
            break;
        }
    }
    let (retry_after, b) = throttled.expect("a 429");
    assert!(retry_after);
    assert_eq!(b["errorCode"], "RequestBlocked", "{b}");
    emu.shutdown().await;
}

#[tokio::test]
async fn get_definition_shows_changes_made_through_the_power_bi_api() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    })
    .await;
    let a = e.create_id("A", "SemanticModel", &sales_model()).await;
    let b = e.create_id("B", "SemanticModel", &sales_model()).await;
    assert_eq!(
        e.export(&a).await,
        sales_model(),
        "unchanged items export what was uploaded"
    );

    let r =
        e.c.post(format!(
            "{}/v1.0/myorg/groups/{}/datasets/{a}/Default.UpdateParameters",
            e.url, e.ws
        ))
        .bearer_auth(&e.tok)
        .json(&json!({"updateDetails": [{"name": "Server", "newValue": "sql02.contoso.test"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = e.export(&a).await;
    let changed: Vec<&str> = after
        .iter()
        .zip(sales_model().iter())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.0.as_str())
        .collect();
    assert_eq!(changed, ["definition/expressions.tmdl"]);
    let exprs = String::from_utf8(
        after
            .iter()
            .find(|p| p.0 == "definition/expressions.tmdl")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        exprs.contains("expression Server = \"sql02.contoso.test\" meta ["),
        "{exprs}"
    );

    let pbir = json!({"version": "4.0", "datasetReference": {"byConnection": {"connectionString": format!("semanticmodelid={a}")}}});
    let report = vec![
        ("definition.pbir".to_string(), pbir.to_string().into_bytes()),
        ("report.json".to_string(), b"{}".to_vec()),
    ];
    let rid = e.create_id("R", "Report", &report).await;
    let r =
        e.c.post(format!(
            "{}/v1.0/myorg/groups/{}/reports/{rid}/Rebind",
            e.url, e.ws
        ))
        .bearer_auth(&e.tok)
        .json(&json!({"datasetId": b}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let parts = e.export(&rid).await;
    let pbir = String::from_utf8(
        parts
            .iter()
            .find(|p| p.0 == "definition.pbir")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(pbir.contains(&b) && !pbir.contains(&a), "{pbir}");
    emu.shutdown().await;
}

#[tokio::test]
async fn deleting_a_model_deletes_its_reports_in_other_workspaces() {
    let (emu, e) = Env::new(EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    })
    .await;
    let model = e.create_id("Shared", "SemanticModel", &sales_model()).await;
    let other = create_group(&e.c, &e.url, &e.tok, "Reports").await;
    let pbir = json!({"version": "4.0", "datasetReference": {"byConnection": {"connectionString": format!("semanticmodelid={model}")}}});
    let parts = vec![
        ("definition.pbir".to_string(), pbir.to_string().into_bytes()),
        ("report.json".to_string(), b"{}".to_vec()),
    ];
    let r = e
        .post(
            &format!("workspaces/{other}/items"),
            json!({"displayName": "Thin", "type": "Report", "definition": definition(&parts)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r =
        e.c.delete(format!("{}/v1/workspaces/{}/items/{model}", e.url, e.ws))
            .bearer_auth(&e.tok)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let left = body(e.get(&format!("/v1/workspaces/{other}/items")).await).await;
    assert_eq!(left["value"], json!([]), "{left}");
    let st = emu.snapshot();
    assert_eq!(
        st["fabric"]["definitions"].as_object().unwrap().len(),
        0,
        "no definition left behind"
    );
    emu.shutdown().await;
}
