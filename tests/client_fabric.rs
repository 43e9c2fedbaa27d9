//! The Fabric items client against the emulator (and, for header-exact cases, a wiremock
//! server): items created from definitions through long-running operations show up in the
//! Power BI API, definitions round-trip, lists follow continuation, service errors keep their
//! code, message and request id, held names and throttling are retried, operation `Location`s
//! are followed only to trusted hosts.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use pbideploy::powerbi::auth::{AuthSettings, provider_from_env};
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::error::ClientError;
use pbideploy::powerbi::fabric::{
    CreateItem, Definition, DefinitionPart, FabricClient, FabricConfig, ItemType, Started,
};
use pbideploy_emulator::RunningEmulator;
use pbideploy_emulator::config::EmulatorConfig;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast() -> FabricConfig {
    FabricConfig {
        poll_default: Duration::from_millis(20),
        poll_max: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(30),
        name_retries: 20,
        name_retry_delay: Duration::from_millis(100),
        ..FabricConfig::default()
    }
}

async fn against(config: EmulatorConfig) -> (RunningEmulator, PowerBiClient, FabricClient, String) {
    let emu = pbideploy_emulator::start(config).await.unwrap();
    let env: HashMap<String, String> = [
        ("AZURE_TENANT_ID", "contoso"),
        ("AZURE_CLIENT_ID", "pbideploy-fabric-test"),
        (
            "AZURE_CLIENT_SECRET",
            "any secret works in the default tenant",
        ),
        ("AZURE_AUTHORITY_HOST", emu.url().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tokens = provider_from_env(&AuthSettings::default(), &env).unwrap();
    let mut config = common::config(&emu.url());
    config.user_agent = ClientConfig::default().user_agent;
    let pb = PowerBiClient::new(config, tokens).unwrap();
    let fabric = FabricClient::new(pb.clone(), fast()).unwrap();
    let ws = pb.create_group("Fabric Test").await.unwrap().id;
    (emu, pb, fabric, ws)
}

fn part(path: &str, text: &str) -> DefinitionPart {
    DefinitionPart {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

/// A small TMDL model with one Import table.
fn model_definition(columns: &[&str]) -> Definition {
    let mut table = String::from("table Sales\n");
    for c in columns {
        table.push_str(&format!(
            "\tcolumn {c}\n\t\tdataType: string\n\t\tsourceColumn: {c}\n\n"
        ));
    }
    table.push_str("\tpartition Sales = m\n\t\tmode: import\n\t\tsource = #table({}, {})\n");
    Definition {
        format: None,
        parts: vec![
            part("definition.pbism", "{\"version\":\"4.0\",\"settings\":{}}"),
            part(
                "definition/database.tmdl",
                "database\n\tcompatibilityLevel: 1550\n",
            ),
            part(
                "definition/model.tmdl",
                "model Model\n\tculture: en-US\n\nref table Sales\n",
            ),
            part("definition/tables/Sales.tmdl", &table),
        ],
    }
}

fn report_definition(binding: serde_json::Value) -> Definition {
    let pbir = json!({"version": "4.0", "datasetReference": binding});
    Definition {
        format: None,
        parts: vec![
            part("definition.pbir", &pbir.to_string()),
            part("report.json", "{\"sections\":[]}"),
        ],
    }
}

fn by_connection(model_id: &str) -> serde_json::Value {
    json!({"byConnection": {"connectionString": format!("Data Source=powerbi://api.powerbi.com/v1.0/myorg/ws;semanticmodelid={model_id}")}})
}

fn create(name: &str, kind: ItemType, definition: Definition) -> CreateItem {
    CreateItem {
        display_name: name.into(),
        item_type: kind,
        description: Some("from a test".into()),
        folder_id: None,
        definition,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_made_through_operations_are_power_bi_datasets_and_reports() {
    let (emu, pb, fabric, ws) = against(EmulatorConfig {
        lro_delay_ms: 300,
        items_page_size: 1,
        ..EmulatorConfig::default()
    })
    .await;
    let started = fabric
        .start_create(
            &ws,
            &create(
                "Sales",
                ItemType::SemanticModel,
                model_definition(&["Region"]),
            ),
        )
        .await
        .unwrap();
    let Started::Pending(handle) = started else {
        panic!("a 300 ms operation must answer 202")
    };
    assert_eq!(
        handle.retry_after,
        Duration::from_secs(1),
        "Retry-After of the 202"
    );
    assert!(handle.operation_id.is_some());
    let model = fabric.wait(handle).await.unwrap();
    assert_eq!(
        (model.display_name.as_str(), model.item_type.as_str()),
        ("Sales", "SemanticModel")
    );

    let dataset = pb.get_dataset(&ws, &model.id).await.unwrap();
    assert_eq!(
        dataset.name, "Sales",
        "the model is a Power BI dataset with the same id"
    );

    let report = fabric
        .create_item(
            &ws,
            &create(
                "Sales Report",
                ItemType::Report,
                report_definition(by_connection(&model.id)),
            ),
        )
        .await
        .unwrap();
    let reports = pb.list_reports(&ws).await.unwrap();
    let bound = reports
        .iter()
        .find(|r| r.id == report.id)
        .expect("the report is a Power BI report");
    assert_eq!(bound.dataset_id.as_deref(), Some(model.id.as_str()));

    // Two items, one per page: the list follows the continuation token.
    let all = fabric.list_items(&ws, None).await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let models = fabric
        .list_items(&ws, Some(ItemType::SemanticModel))
        .await
        .unwrap();
    assert_eq!(
        models.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [model.id.as_str()]
    );

    let new_def = model_definition(&["Region", "Country"]);
    fabric
        .update_definition(&ws, &model.id, &new_def, false)
        .await
        .unwrap();
    let read = fabric.get_definition(&ws, &model.id).await.unwrap();
    assert_eq!(
        read.parts, new_def.parts,
        "getDefinition answers what updateDefinition sent"
    );

    fabric.delete_item(&ws, &model.id, true).await.unwrap();
    assert!(
        fabric.list_items(&ws, None).await.unwrap().is_empty(),
        "the model took its report with it"
    );
    assert!(
        pb.get_dataset(&ws, &model.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let requests = emu.app().log.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .filter(|r| r.path.starts_with("/v1/workspaces/")
                && r.path.ends_with("/items")
                && r.method == "GET")
            .count()
            >= 3,
        "paging took several requests"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_service_gives_the_outcome_at_once() {
    let (emu, _pb, fabric, ws) = against(EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    })
    .await;
    let started = fabric
        .start_create(
            &ws,
            &create("Now", ItemType::SemanticModel, model_definition(&["A"])),
        )
        .await
        .unwrap();
    let Started::Done(item) = started else {
        panic!("synchronous mode answers 201")
    };
    assert_eq!(item.display_name, "Now");
    let Started::Done(def) = fabric.start_get_definition(&ws, &item.id).await.unwrap() else {
        panic!("200")
    };
    assert_eq!(def.parts, model_definition(&["A"]).parts);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_operation_names_code_message_request_id_and_a_hint() {
    let (emu, _pb, fabric, ws) = against(EmulatorConfig {
        lro_delay_ms: 50,
        ..EmulatorConfig::default()
    })
    .await;
    let by_path = report_definition(json!({"byPath": {"path": "../Sales.SemanticModel"}}));
    let err = fabric
        .create_item(&ws, &create("Local", ItemType::Report, by_path))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::OperationFailed { .. }),
        "{err:?}"
    );
    let api = err.api().expect("the service error");
    assert_eq!(api.code.as_deref(), Some("Workload_FailedToParseFile"));
    assert!(
        api.message.as_deref().unwrap_or("").contains("byPath"),
        "{api:?}"
    );
    assert!(
        api.request_id.is_some(),
        "request id of the answer that reported the failure"
    );
    let text = err.to_string();
    assert!(
        text.contains("Workload_FailedToParseFile") && text.contains("request id"),
        "{text}"
    );
    let hint = pbideploy::powerbi::hints::known_cause(api).unwrap_or_default();
    assert!(hint.contains("byConnection"), "{hint}");

    // A synchronous refusal keeps the Fabric error body's code too.
    let missing = Definition {
        format: None,
        parts: vec![part("definition.pbism", "{}")],
    };
    let err = fabric
        .create_item(&ws, &create("No tables", ItemType::SemanticModel, missing))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().and_then(|a| a.code.as_deref()),
        Some("Workload_FailedToParseFile"),
        "{err}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_held_after_a_delete_and_throttling_are_waited_out() {
    let (emu, _pb, fabric, ws) = against(EmulatorConfig {
        lro_sync: true,
        name_hold_ms: 700,
        ..EmulatorConfig::default()
    })
    .await;
    let item = fabric
        .create_item(
            &ws,
            &create("Again", ItemType::SemanticModel, model_definition(&["A"])),
        )
        .await
        .unwrap();
    fabric.delete_item(&ws, &item.id, false).await.unwrap();
    let again = fabric
        .create_item(
            &ws,
            &create("Again", ItemType::SemanticModel, model_definition(&["A"])),
        )
        .await
        .unwrap();
    assert_ne!(again.id, item.id);
    let statuses: Vec<u16> = emu
        .app()
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/items"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.first(), Some(&201));
    assert!(
        statuses.contains(&409),
        "the held name was refused first: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&201));

    emu.app().with(|w| w.knobs.throttle_rps = 3.0);
    for _ in 0..8 {
        fabric.list_items(&ws, None).await.unwrap();
    }
    let throttled = emu
        .app()
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.status == 429 && r.path.starts_with("/v1/"))
        .count();
    assert!(
        throttled > 0,
        "the budget was exceeded and the client waited it out"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped_and_untrusted_locations_are_refused() {
    let server = MockServer::start().await;
    let op = format!("{}/v1/operations/op1", server.uri());
    Mock::given(method("POST"))
        .and(path("/v1/workspaces/w/items/i/updateDefinition"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", op.as_str())
                .insert_header("Retry-After", "3")
                .insert_header("x-ms-operation-id", "op1"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/operations/op1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Retry-After", "100000")
                .set_body_json(json!({"status": "Running", "percentComplete": null})),
        )
        .mount(&server)
        .await;
    let capped = FabricConfig {
        poll_max: Duration::from_secs(5),
        ..fast()
    };
    let fabric = FabricClient::new(common::client(&server.uri()), capped).unwrap();
    let def = model_definition(&["A"]);
    let Started::Pending(h) = fabric
        .start_update_definition("w", "i", &def, true)
        .await
        .unwrap()
    else {
        panic!("202")
    };
    assert_eq!(h.retry_after, Duration::from_secs(3));
    let Started::Pending(h) = fabric.poll(h).await.unwrap() else {
        panic!("running")
    };
    assert_eq!(
        h.retry_after,
        Duration::from_secs(5),
        "a huge Retry-After is capped at poll_max"
    );
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(sent.url.query(), Some("updateMetadata=true"));

    let evil = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/workspaces/w/items/i/getDefinition"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "https://attacker.example.net/v1/operations/x"),
        )
        .mount(&evil)
        .await;
    let fabric = FabricClient::new(common::client(&evil.uri()), fast()).unwrap();
    let err = fabric.start_get_definition("w", "i").await.unwrap_err();
    assert!(
        err.to_string().contains("bearer token is not sent"),
        "{err}"
    );
}

#[tokio::test]
async fn a_continuation_that_repeats_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/workspaces/w/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "1", "type": "Report", "displayName": "R"}], "continuationToken": "same"})))
        .mount(&server).await;
    let fabric = FabricClient::new(common::client(&server.uri()), fast()).unwrap();
    let err = fabric.list_items("w", None).await.unwrap_err();
    assert!(
        err.to_string().contains("repeated its continuation token"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
