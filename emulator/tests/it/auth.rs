//! Token endpoint and bearer checks.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test]
async fn open_auth_tokens_and_bearer_errors() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("RequestId"));
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let tok = token(&c, &url, "app-1").await;
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["value"], json!([]));
    // bad scope
    let r = c
        .post(format!("{url}/t/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "a"),
            ("client_secret", "b"),
            ("scope", "https://x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v = body(r).await;
    assert_eq!(v["error"], "invalid_scope");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70011")
    );
    // expiry: lifetime 0 → 403 TokenExpired
    c.post(format!("{url}/_emulator/faults"))
        .json(&json!({"tokenLifetimeSecs": 0}))
        .send()
        .await
        .unwrap();
    let expired = token(&c, &url, "app-1").await;
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(body(r).await["error"]["code"], "TokenExpired");
    emu.shutdown().await;
}

#[tokio::test]
async fn registered_principals_check_secrets_and_federation() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = dir.path().join("tenant.json");
    std::fs::write(&tenant, json!({
        "openAuth": false,
        "principals": [
            {"clientId": "deployer", "secrets": ["right"]},
            {"clientId": "ci", "federated": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main"}]}
        ]
    }).to_string()).unwrap();
    let (emu, c) = emulator(EmulatorConfig {
        tenant: Some(tenant),
        ..EmulatorConfig::default()
    })
    .await;
    let url = emu.url();
    let post = |form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = url.clone();
        async move {
            c.post(format!("{url}/t/oauth2/v2.0/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let base = |id: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", id.to_string()),
            ("scope", "api://x/.default".to_string()),
        ]
    };
    let mut f = base("deployer");
    f.push(("client_secret", "wrong".into()));
    let r = post(f).await;
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["error_codes"], json!([7000215]));
    let mut f = base("deployer");
    f.push(("client_secret", "right".into()));
    assert_eq!(post(f).await.status(), 200);
    let mut f = base("stranger");
    f.push(("client_secret", "x".into()));
    assert_eq!(body(post(f).await).await["error_codes"], json!([700016]));
    // federated assertion
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let jwt = |sub: &str| {
        format!(
            "{}.{}.sig",
            b64(json!({"alg": "RS256"})),
            b64(
                json!({"iss": "https://token.actions.githubusercontent.com", "sub": sub, "aud": "api://AzureADTokenExchange", "exp": now + 300, "nbf": now - 10})
            )
        )
    };
    let mut f = base("ci");
    f.push((
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
    ));
    f.push(("client_assertion", jwt("repo:o/r:ref:refs/heads/main")));
    assert_eq!(post(f).await.status(), 200);
    let mut f = base("ci");
    f.push((
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
    ));
    f.push(("client_assertion", jwt("repo:o/r:ref:refs/heads/evil")));
    let r = post(f).await;
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["error_codes"], json!([70021]));
    emu.shutdown().await;
}
