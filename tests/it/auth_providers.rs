//! Every authentication method gets a token from a mock server or stand-in; form fields are
//! checked exactly; errors surface AADSTS codes; the cache refreshes and dedupes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pbideploy::powerbi::auth::{
    AccessToken, AuthSettings, CachingProvider, Method, TokenFuture, TokenProvider,
    provider_from_env, select_method,
};
use rsa::PrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SCOPE: &str = "https://analysis.windows.net/powerbi/api/.default";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/auth/client.pem"
);

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn form(req: &Request) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(&req.body)
        .unwrap()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn token_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer", "expires_in": 3599, "access_token": "tok-123"
    }))
}

async fn token_of(env: &HashMap<String, String>, method: Option<Method>) -> AccessToken {
    let settings = AuthSettings {
        method,
        ..AuthSettings::default()
    };
    let p = provider_from_env(&settings, env).unwrap();
    p.token().await.unwrap()
}

#[tokio::test]
async fn client_secret_posts_the_exact_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_ok())
        .expect(1)
        .mount(&server)
        .await;
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "tenant-1"),
        ("AZURE_CLIENT_ID", "app-1"),
        ("AZURE_CLIENT_SECRET", "s3cr&t=x"),
    ]);
    let t = token_of(&e, None).await;
    assert_eq!(t.token.expose_secret(), "tok-123");
    assert!(t.expires_at > SystemTime::now() + Duration::from_secs(3500));
    let reqs = server.received_requests().await.unwrap();
    let f = form(&reqs[0]);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-1");
    assert_eq!(f["scope"], SCOPE);
    assert_eq!(f["client_secret"], "s3cr&t=x");
    assert!(!f.contains_key("client_assertion"));
}

#[tokio::test]
async fn aadsts_errors_are_surfaced_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: abc\r\nCorrelation ID: def",
            "error_codes": [7000215]
        })))
        .mount(&server)
        .await;
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_CLIENT_SECRET", "hunter2"),
    ]);
    let p = provider_from_env(&AuthSettings::default(), &e).unwrap();
    let err = p.token().await.unwrap_err().to_string();
    assert!(err.contains("client secret"), "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(err.contains("invalid_client"), "{err}");
    assert!(!err.contains("Trace ID"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn certificate_assertion_is_signed_and_carries_the_thumbprint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/t/oauth2/v2.0/token"))
        .respond_with(token_ok())
        .mount(&server)
        .await;
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "app-c"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", FIXTURE),
    ]);
    assert_eq!(
        select_method(&AuthSettings::default(), &e),
        Method::ClientCertificate
    );
    token_of(&e, None).await;
    let reqs = server.received_requests().await.unwrap();
    let f = form(&reqs[0]);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-c");
    assert_eq!(f["scope"], SCOPE);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let jwt = &f["client_assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    // Expected thumbprint from the fixture's certificate block, computed independently.
    let pem = std::fs::read_to_string(FIXTURE).unwrap();
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let der = STANDARD.decode(body).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(Sha1::digest(&der)));
    assert_eq!(
        header["x5t#S256"],
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
    );
    assert_eq!(
        claims["aud"],
        format!("{}/t/oauth2/v2.0/token", server.uri())
    );
    assert_eq!(claims["iss"], "app-c");
    assert_eq!(claims["sub"], "app-c");
    let exp = claims["exp"].as_u64().unwrap();
    let nbf = claims["nbf"].as_u64().unwrap();
    assert!(exp > nbf && exp - nbf <= 600);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));

    let key_pem = format!(
        "-----BEGIN PRIVATE KEY-----{}-----END PRIVATE KEY-----\n",
        pem.split("-----BEGIN PRIVATE KEY-----")
            .nth(1)
            .unwrap()
            .split("-----END PRIVATE KEY-----")
            .next()
            .unwrap()
    );
    let public = PrivateKey::from_pkcs8_pem(&key_pem)
        .unwrap()
        .to_public_key();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    public
        .pkcs1v15_verify::<Sha256>(signed.as_bytes(), &signature)
        .expect("assertion signature verifies with the certificate's key");
}

#[tokio::test]
async fn certificate_password_is_refused_clearly() {
    let e = env(&[
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", FIXTURE),
        ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw"),
    ]);
    let Err(err) = provider_from_env(&AuthSettings::default(), &e) else {
        panic!("password must be refused")
    };
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[tokio::test]
async fn federated_token_file_is_read_fresh_each_time() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "federated-jwt-1\n").unwrap();
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
    ]);
    let settings = AuthSettings::default();
    assert_eq!(select_method(&settings, &e), Method::WorkloadIdentity);
    // Bypass the cache: build twice.
    provider_from_env(&settings, &e)
        .unwrap()
        .token()
        .await
        .unwrap();
    std::fs::write(&file, "federated-jwt-2").unwrap();
    provider_from_env(&settings, &e)
        .unwrap()
        .token()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(form(&reqs[0])["client_assertion"], "federated-jwt-1");
    assert_eq!(form(&reqs[1])["client_assertion"], "federated-jwt-2");
    assert_eq!(
        form(&reqs[1])["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
}

#[tokio::test]
async fn github_oidc_token_becomes_the_assertion() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oidc"))
        .and(query_param("audience", "api://AzureADTokenExchange"))
        .and(query_param("api-version", "2.0"))
        .and(header("authorization", "Bearer gh-req-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": "gh-jwt"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_assertion=gh-jwt"))
        .respond_with(token_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/oidc?api-version=2.0", server.uri());
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "a"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-req-token"),
    ]);
    assert_eq!(
        select_method(&AuthSettings::default(), &e),
        Method::GithubOidc
    );
    assert_eq!(token_of(&e, None).await.token.expose_secret(), "tok-123");
}

#[tokio::test]
async fn managed_identity_app_service_and_imds_stand_ins() {
    let server = MockServer::start().await;
    let expires_on = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 7200;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(query_param(
            "resource",
            "https://analysis.windows.net/powerbi/api",
        ))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("client_id", "uami"))
        .and(header("X-IDENTITY-HEADER", "idh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-tok", "expires_on": expires_on.to_string()
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(query_param("api-version", "2018-02-01"))
        .and(header("Metadata", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "imds-tok", "expires_in": "3600"
        })))
        .mount(&server)
        .await;
    let endpoint = format!("{}/msi/token", server.uri());
    let e = env(&[
        ("IDENTITY_ENDPOINT", &endpoint),
        ("IDENTITY_HEADER", "idh"),
        ("AZURE_CLIENT_ID", "uami"),
    ]);
    assert_eq!(
        select_method(&AuthSettings::default(), &e),
        Method::ManagedIdentity
    );
    let t = token_of(&e, None).await;
    assert_eq!(t.token.expose_secret(), "mi-tok");
    assert_eq!(
        t.expires_at,
        SystemTime::UNIX_EPOCH + Duration::from_secs(expires_on)
    );
    let e = env(&[("PBIDEPLOY_IMDS_ENDPOINT", &server.uri())]);
    let t = token_of(&e, Some(Method::ManagedIdentity)).await;
    assert_eq!(t.token.expose_secret(), "imds-tok");
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_stand_in_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("az");
    let args_file = dir.path().join("args");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\necho '{{\"accessToken\":\"cli-tok\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":1893456000,\"tokenType\":\"Bearer\"}}'\n",
            args_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path =
        std::env::join_paths([dir.path().to_path_buf(), "/usr/bin".into(), "/bin".into()]).unwrap();
    let settings = AuthSettings {
        az_program: Some(("az".into(), Some(path))),
        ..AuthSettings::default()
    };
    let e = env(&[]);
    assert_eq!(select_method(&settings, &e), Method::AzureCli);
    let t = provider_from_env(&settings, &e)
        .unwrap()
        .token()
        .await
        .unwrap();
    assert_eq!(t.token.expose_secret(), "cli-tok");
    assert_eq!(
        t.expires_at,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000)
    );
    let args = std::fs::read_to_string(args_file).unwrap();
    assert_eq!(
        args.trim(),
        "account get-access-token --resource https://analysis.windows.net/powerbi/api --output json"
    );
}

#[tokio::test]
async fn static_token_uses_the_jwt_exp() {
    let payload = URL_SAFE_NO_PAD.encode(r#"{"exp":1893456000}"#);
    let jwt = format!("e30.{payload}.sig");
    let e = env(&[
        ("PBIDEPLOY_ACCESS_TOKEN", &jwt),
        ("AZURE_CLIENT_SECRET", "x"),
    ]);
    assert_eq!(
        select_method(&AuthSettings::default(), &e),
        Method::AccessToken
    );
    let t = token_of(&e, None).await;
    assert_eq!(t.token.expose_secret(), jwt);
    assert_eq!(
        t.expires_at,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000)
    );
    assert!(!format!("{t:?}").contains("sig"));
}

#[test]
fn auto_selection_order() {
    let s = AuthSettings::default();
    let all = [
        ("PBIDEPLOY_ACCESS_TOKEN", "x"),
        ("AZURE_CLIENT_SECRET", "x"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "x"),
        ("AZURE_FEDERATED_TOKEN_FILE", "x"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", "x"),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x"),
        ("IDENTITY_ENDPOINT", "x"),
        ("IDENTITY_HEADER", "x"),
    ];
    let expected = [
        Method::AccessToken,
        Method::ClientSecret,
        Method::ClientCertificate,
        Method::WorkloadIdentity,
        Method::GithubOidc,
        // Half of a pair is not enough: the URL is gone, so GitHub OIDC is skipped.
        Method::ManagedIdentity,
        Method::ManagedIdentity,
        // IDENTITY_HEADER alone: falls through to the Azure CLI.
        Method::AzureCli,
    ];
    for i in 0..all.len() {
        let e = env(&all[i..]);
        assert_eq!(select_method(&s, &e), expected[i], "from {:?}", all[i]);
    }
    assert_eq!(select_method(&s, &env(&[])), Method::AzureCli);
    let explicit = AuthSettings {
        method: Some(Method::AzureCli),
        ..AuthSettings::default()
    };
    assert_eq!(select_method(&explicit, &env(&all)), Method::AzureCli);
}

#[test]
fn plain_http_authority_is_refused_unless_loopback() {
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", "http://login.example.com"),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "a"),
        ("AZURE_CLIENT_SECRET", "s"),
    ]);
    let Err(err) = provider_from_env(&AuthSettings::default(), &e) else {
        panic!("http authority must be refused")
    };
    assert!(err.to_string().contains("https"), "{err}");
}

struct Counting {
    calls: AtomicUsize,
    lifetime: Duration,
}

impl TokenProvider for Counting {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(AccessToken {
                token: SecretString::from(format!("t{n}")),
                expires_at: SystemTime::now() + self.lifetime,
            })
        })
    }
    fn method(&self) -> &'static str {
        "counting"
    }
}

#[tokio::test]
async fn cache_dedupes_concurrent_callers_and_refreshes_before_expiry() {
    let inner = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        lifetime: Duration::from_millis(1500),
    });
    let cache = Arc::new(CachingProvider::with_margin(
        inner.clone(),
        Duration::from_millis(1000),
    ));
    let mut handles = Vec::new();
    for _ in 0..8 {
        let c = cache.clone();
        handles.push(tokio::spawn(async move { c.token().await.unwrap() }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().token.expose_secret(), "t0");
    }
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        1,
        "one refresh for 8 callers"
    );
    // Still more than the margin left: cached.
    assert_eq!(cache.token().await.unwrap().token.expose_secret(), "t0");
    // Inside the margin (less than 1 s left of 1.5 s): refreshed early, before expiry.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.token().await.unwrap().token.expose_secret(), "t1");
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_resource_override_asks_for_that_scope() {
    // The Azure Blob ledger signs in with the same chain for Azure Storage.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_ok())
        .expect(1)
        .mount(&server)
        .await;
    let e = env(&[
        ("AZURE_AUTHORITY_HOST", &server.uri()),
        ("AZURE_TENANT_ID", "tenant-1"),
        ("AZURE_CLIENT_ID", "app-1"),
        ("AZURE_CLIENT_SECRET", "s"),
    ]);
    let settings = AuthSettings {
        resource: Some(pbideploy::ledger::backend::STORAGE_RESOURCE.into()),
        ..AuthSettings::default()
    };
    provider_from_env(&settings, &e)
        .unwrap()
        .token()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        form(&reqs[0])["scope"],
        "https://storage.azure.com/.default"
    );
}
