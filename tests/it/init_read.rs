//! The reader behind `init` against a wiremock service that refuses some reads: with the
//! tolerant scope `init` uses, each refused read is skipped and named (and the rest is read);
//! with the strict scope `plan` uses, the same refusal is an error.

use crate::common;

use common::{api, client};
use pbideploy::live::model::LivePrincipal;
use pbideploy::live::read::{ReadScope, read_scope};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn get(server: &MockServer, p: &str, status: u16, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(api(p)))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn refused(code: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": "refused"}})
}

async fn service() -> MockServer {
    let server = MockServer::start().await;
    let list = |v: serde_json::Value| json!({"value": v});
    get(
        &server,
        "/groups",
        200,
        list(json!([{"id": "g1", "name": "Sales"}])),
    )
    .await;
    get(&server, "/groups/g1/users", 403, refused("Forbidden")).await;
    get(
        &server,
        "/groups/g1/datasets",
        200,
        list(json!([{"id": "d1", "name": "Model"}])),
    )
    .await;
    get(&server, "/groups/g1/reports", 200, list(json!([]))).await;
    get(&server, "/groups/g1/imports", 200, list(json!([]))).await;
    get(
        &server,
        "/groups/g1/datasets/d1/parameters",
        400,
        refused("Unsupported"),
    )
    .await;
    let sources = json!([{"datasourceType": "Sql", "connectionDetails": {"server": "s"}}]);
    get(
        &server,
        "/groups/g1/datasets/d1/datasources",
        200,
        list(sources),
    )
    .await;
    let bound = "/groups/g1/datasets/d1/Default.GetBoundGatewayDatasources";
    get(&server, bound, 200, list(json!([]))).await;
    let schedule = "/groups/g1/datasets/d1/refreshSchedule";
    get(&server, schedule, 400, refused("DirectQueryNotSupported")).await;
    get(&server, "/gateways", 200, list(json!([]))).await;
    server
}

#[tokio::test]
async fn tolerant_reads_skip_and_name_what_the_service_refuses() {
    let server = service().await;
    let c = client(&server.uri());
    let scope = ReadScope::everything(&["sales".to_string()]);
    let (live, skipped) = read_scope(&c, &scope, LivePrincipal::default())
        .await
        .unwrap();
    let ws = live.workspace("Sales").unwrap();
    assert!(ws.users.is_empty());
    assert_eq!(ws.datasets[0].datasources.len(), 1, "the rest is read");
    assert!(ws.datasets[0].parameters.is_empty());
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("users of workspace \"sales\"")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("parameters of dataset \"Model\"")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|s| s.contains("refresh schedule")),
        "{skipped:?}"
    );

    let strict = ReadScope {
        tolerant: false,
        ..scope
    };
    let err = read_scope(&c, &strict, LivePrincipal::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("users of workspace"), "{err}");
}
