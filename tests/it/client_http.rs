//! Request-exact tests of the Power BI client against a wiremock server: headers, URLs,
//! paging, error bodies, lenient decoding, transport policy.

use crate::common;

use common::{TOKEN, UA, api, client, client_with, config};
use pbideploy::powerbi::client::PowerBiClient;
use pbideploy::powerbi::error::ClientError;
use pbideploy::powerbi::types::*;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn every_request_carries_bearer_token_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g1/datasets")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("user-agent", UA))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "x", "value": [{"id": "d1", "name": "Sales"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let ds = client(&server.uri()).list_datasets("g1").await.unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].name, "Sales");
}

#[tokio::test]
async fn groups_are_paged_until_a_short_page() {
    let server = MockServer::start().await;
    for (skip, n) in [("0", 2), ("2", 2), ("4", 1)] {
        let items: Vec<_> = (0..n)
            .map(|i| json!({"id": format!("{skip}-{i}"), "name": format!("W{skip}{i}")}))
            .collect();
        Mock::given(method("GET"))
            .and(path(api("/groups")))
            .and(query_param("$top", "2"))
            .and(query_param("$skip", skip))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": items})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut cfg = config(&server.uri());
    cfg.page_size = 2;
    let groups = client_with(cfg).list_groups(None).await.unwrap();
    assert_eq!(groups.len(), 5);
    assert_eq!(groups[4].id, "4-0");
}

#[tokio::test]
async fn find_group_by_name_escapes_quotes_and_filters_case_insensitively() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups")))
        .and(query_param("$filter", "tolower(name) eq 'sales & co''s'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "a", "name": "Sales & Co's"}, {"id": "b", "name": "Sales & Co's extra"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server.uri())
        .find_groups_by_name("Sales & Co's")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "a");
    let raw = &server.received_requests().await.unwrap()[0];
    let query = raw.url.query().unwrap_or_default();
    assert!(query.contains("%20eq%20"), "spaces must be %20: {query}");
}

#[tokio::test]
async fn error_body_shapes_become_api_error_fields() {
    let server = MockServer::start().await;
    let cases = [
        (
            "d1",
            404,
            json!({"error":{"code":"PowerBIEntityNotFound","pbi.error":{"code":"PowerBIEntityNotFound","parameters":{},"details":[],"exceptionCulprit":1}}}),
            Some("PowerBIEntityNotFound"),
            None,
        ),
        (
            "d2",
            400,
            json!({"error":{"code":"InvalidRequest","message":"Operation is not supported for selector #4"}}),
            Some("InvalidRequest"),
            Some("Operation is not supported for selector #4"),
        ),
        (
            "d3",
            401,
            json!({"Message":"API is not accessible for application"}),
            None,
            Some("API is not accessible for application"),
        ),
        (
            "d4",
            403,
            json!({"error":{"code":"TokenExpired","message":"Access token has expired, resubmit with a new access token"}}),
            Some("TokenExpired"),
            Some("Access token has expired, resubmit with a new access token"),
        ),
    ];
    for (id, status, body, _, _) in &cases {
        Mock::given(method("GET"))
            .and(path(api(&format!("/groups/g/datasets/{id}"))))
            .respond_with(
                ResponseTemplate::new(*status)
                    .insert_header("RequestId", format!("req-{id}").as_str())
                    .set_body_json(body.clone()),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server.uri());
    for (id, status, _, code, message) in cases {
        let err = c.get_dataset("g", id).await.unwrap_err();
        let api_err = err.api().expect("an ApiError");
        assert_eq!(api_err.status.as_u16(), status);
        assert_eq!(api_err.code.as_deref(), code);
        assert_eq!(api_err.message.as_deref(), message);
        assert_eq!(
            api_err.request_id.as_deref(),
            Some(format!("req-{id}").as_str())
        );
        assert_eq!(api_err.method, "GET");
        assert_eq!(api_err.path, format!("/groups/g/datasets/{id}"));
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("GET /groups/g/datasets/{id}: {status}")),
            "{shown}"
        );
        assert!(
            shown.ends_with(&format!("(request id req-{id})")),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn empty_and_raw_error_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports/r1")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/reports/r2")))
        .respond_with(ResponseTemplate::new(500).set_body_string("An error has occurred"))
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let e = c.get_report("g", "r1").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "GET /groups/g/reports/r1: 404 Not Found");
    let e = c.get_report("g", "r2").await.unwrap_err();
    assert_eq!(
        e.api().unwrap().message.as_deref(),
        Some("An error has occurred")
    );
}

#[tokio::test]
async fn lenient_decoding_pascal_case_unknown_fields_empty_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/datasets/d")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "x", "Id": "d", "Name": "Sales", "IsRefreshable": true,
            "configuredBy": "sp@x", "upstreamDatasets": [], "brandNewField": {"a": 1}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/datasets/d/refreshSchedule")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups/g/datasets/d/parameters")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"name": "Server", "type": "Text", "isRequired": true, "currentValue": "s1"}]})))
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let d = c.get_dataset("g", "d").await.unwrap();
    assert_eq!((d.id.as_str(), d.name.as_str()), ("d", "Sales"));
    assert_eq!(d.is_refreshable, Some(true));
    assert_eq!(d.configured_by.as_deref(), Some("sp@x"));
    let s = c.get_refresh_schedule("g", "d").await.unwrap();
    assert_eq!(s, RefreshSchedule::default());
    let p = c.get_parameters("g", "d").await.unwrap();
    assert_eq!(p[0].current_value.as_deref(), Some("s1"));
}

#[tokio::test]
async fn actions_send_exact_bodies_and_accept_empty_answers() {
    let server = MockServer::start().await;
    let ok = || ResponseTemplate::new(200);
    let mocks = [
        ("POST", "/groups/g/datasets/d/Default.TakeOver", None),
        (
            "POST",
            "/groups/g/datasets/d/Default.UpdateParameters",
            Some(json!({"updateDetails":[{"name":"Server","newValue":"prod"}]})),
        ),
        (
            "POST",
            "/groups/g/datasets/d/Default.BindToGateway",
            Some(json!({"gatewayObjectId":"gw"})),
        ),
        (
            "POST",
            "/groups/g/reports/r/Rebind",
            Some(json!({"datasetId":"d"})),
        ),
        (
            "PATCH",
            "/groups/g/datasets/d/refreshSchedule",
            Some(json!({"value":{"enabled":false}})),
        ),
        (
            "POST",
            "/groups/g/users",
            Some(
                json!({"identifier":"sp-oid","principalType":"App","groupUserAccessRight":"Member"}),
            ),
        ),
        ("DELETE", "/groups/g/users/john@contoso.com", None),
        (
            "POST",
            "/groups/g/AssignToCapacity",
            Some(json!({"capacityId":"cap"})),
        ),
        (
            "PATCH",
            "/gateways/gw/datasources/ds",
            Some(json!({"credentialDetails":{"credentialType":"Basic",
                "credentials":"{\"credentialData\":[]}","encryptedConnection":"Encrypted",
                "encryptionAlgorithm":"None","privacyLevel":"Organizational"}})),
        ),
    ];
    for (m, p, body) in &mocks {
        let mut mock = Mock::given(method(*m)).and(path(api(p)));
        if let Some(b) = body {
            mock = mock
                .and(body_json(b.clone()))
                .and(header("content-type", "application/json; charset=utf-8"));
        }
        mock.respond_with(ok()).expect(1).mount(&server).await;
    }
    let c = client(&server.uri());
    c.take_over_dataset("g", "d").await.unwrap();
    c.update_parameters(
        "g",
        "d",
        &[UpdateParameter {
            name: "Server".into(),
            new_value: "prod".into(),
        }],
    )
    .await
    .unwrap();
    c.bind_to_gateway(
        "g",
        "d",
        &BindToGatewayRequest {
            gateway_object_id: "gw".into(),
            datasource_object_ids: vec![],
        },
    )
    .await
    .unwrap();
    c.rebind_report("g", "r", "d").await.unwrap();
    let disable = RefreshSchedule {
        enabled: Some(false),
        ..Default::default()
    };
    c.update_refresh_schedule("g", "d", &disable).await.unwrap();
    let user = GroupUser {
        identifier: Some("sp-oid".into()),
        principal_type: Some(PrincipalType::App),
        group_user_access_right: Some(GroupUserAccessRight::Member),
        ..Default::default()
    };
    c.add_group_user("g", &user).await.unwrap();
    c.delete_group_user("g", "john@contoso.com").await.unwrap();
    c.assign_to_capacity("g", "cap").await.unwrap();
    let details = CredentialDetails {
        credential_type: CredentialType::Basic,
        credentials: Some(SecretString::from("{\"credentialData\":[]}")),
        encrypted_connection: EncryptedConnection::Encrypted,
        encryption_algorithm: EncryptionAlgorithm::None,
        privacy_level: PrivacyLevel::Organizational,
        use_caller_aad_identity: None,
        use_end_user_oauth2_credentials: None,
    };
    c.update_datasource_credentials("gw", "ds", &details)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let take_over = requests
        .iter()
        .find(|r| r.url.path().ends_with("Default.TakeOver"))
        .unwrap();
    assert_eq!(
        take_over.headers.get("content-length").unwrap(),
        "0",
        "TakeOver must send Content-Length: 0"
    );
}

#[tokio::test]
async fn create_group_refresh_and_gateways() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("/groups")))
        .and(query_param("workspaceV2", "True"))
        .and(body_json(json!({"name": "Sales - Prod"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "x", "id": "new", "isReadOnly": false, "name": "Sales - Prod"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g/datasets/d/refreshes")))
        .and(body_json(json!({"notifyOption": "NoNotification"})))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("x-ms-request-id", "refresh-1")
                .insert_header("Location", "https://api/refreshes/refresh-1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/gateways/gw")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "gw", "name": "G", "type": "Resource",
            "publicKey": {"exponent": "AQAB", "modulus": "o6j2"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/gateways/gw/datasources/ds/status")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error":{"code":"DM_GWPipeline_Client_GatewayUnreachable","pbi.error":{"code":"DM_GWPipeline_Client_GatewayUnreachable","parameters":{},"details":[],"exceptionCulprit":1}}})))
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let g = c.create_group("Sales - Prod").await.unwrap();
    assert_eq!(g.id, "new");
    let accepted = c
        .refresh_dataset(
            "g",
            "d",
            &RefreshRequest {
                notify_option: Some(NotifyOption::NoNotification),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("refresh-1"));
    let gw = c.get_gateway("gw").await.unwrap();
    assert_eq!(gw.public_key.unwrap().modulus, "o6j2");
    let err = c.gateway_datasource_status("gw", "ds").await.unwrap_err();
    assert!(
        err.api()
            .unwrap()
            .has_code("DM_GWPipeline_Client_GatewayUnreachable")
    );
}

#[tokio::test]
async fn plain_http_refused_except_loopback() {
    use std::sync::Arc;
    for url in ["http://api.powerbi.com", "http://10.1.2.3:8080"] {
        let err = PowerBiClient::new(config(url), Arc::new(common::StaticToken)).unwrap_err();
        assert!(
            matches!(err, ClientError::InsecureUrl { .. }),
            "{url}: {err}"
        );
        assert!(err.to_string().contains("https"), "{err}");
    }
    for url in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://api.powerbi.com",
    ] {
        assert!(PowerBiClient::new(config(url), Arc::new(common::StaticToken)).is_ok());
    }
}

#[tokio::test]
async fn redirect_to_non_loopback_http_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/gateways")))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", "http://evil.example/steal"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri()).list_gateways().await.unwrap_err();
    assert!(matches!(err, ClientError::InsecureUrl { .. }), "{err}");
}
