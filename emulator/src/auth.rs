//! The Entra ID token endpoint (client credentials) and the bearer-token check of every API
//! call. Tokens are opaque random strings bound to a principal, with an expiry.

use crate::app::App;
use crate::errors::ApiError;
use crate::model::{Principal, Token};
use crate::util::now_ms;
use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Entra-shaped token error. // documented: 6.1
fn entra_error(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let corr = uuid::Uuid::new_v4().to_string();
    let ts = crate::util::iso(now_ms());
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
    });
    (status, axum::Json(body)).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`. // documented: 6.1-6.3
pub async fn token(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; use client_credentials.",
        );
    }
    if !get("scope").ends_with("/.default") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid. The scope must end with /.default.",
        );
    }
    let client_id = get("client_id").to_string();
    if client_id.is_empty() {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    }
    let secret = form.get("client_secret").cloned();
    let assertion = form.get("client_assertion").cloned();
    if assertion.is_some() && get("client_assertion_type") != JWT_BEARER {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        );
    }
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", app.base_url);
    app.with(|w| {
        let tenant_cfg = &w.model.tenant;
        let registered = tenant_cfg.principals.iter().find(|p| p.client_id.eq_ignore_ascii_case(&client_id)).cloned();
        let principal = match registered {
            Some(p) => {
                if let Err(resp) = check_principal(&p, secret.as_deref(), assertion.as_deref(), &token_url, tenant_cfg.open_auth) {
                    return *resp;
                }
                p
            }
            None if tenant_cfg.open_auth => {
                if secret.is_none() && assertion.is_none() {
                    return entra_error(StatusCode::BAD_REQUEST, "invalid_client", 7000218,
                        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
                }
                // guess: open authentication accepts any client id with any secret or assertion.
                Principal { client_id: client_id.clone(), principal_type: "App".into(), ..Principal::default() }
            }
            None => {
                return entra_error(StatusCode::BAD_REQUEST, "unauthorized_client", 700016,
                    &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."));
            }
        };
        let bytes: [u8; 24] = rand::Rng::random(&mut w.rng);
        let access_token = format!("emu.{}", hex::encode(bytes));
        let lifetime = w.model.tenant.token_lifetime_secs;
        let object_id = if principal.object_id.is_empty() { principal.client_id.clone() } else { principal.object_id.clone() };
        w.model.tokens.retain(|_, t| t.expires_ms + 86_400_000 > now_ms());
        w.model.tokens.insert(access_token.clone(), Token {
            client_id: principal.client_id.clone(),
            object_id,
            principal_type: if principal.principal_type.is_empty() { "App".into() } else { principal.principal_type.clone() },
            expires_ms: now_ms() + lifetime * 1000,
        });
        (StatusCode::OK, axum::Json(json!({
            "token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
            "access_token": access_token,
        }))).into_response()
    })
}

/// Checks the secret or assertion of a registered principal.
fn check_principal(
    p: &Principal,
    secret: Option<&str>,
    assertion: Option<&str>,
    token_url: &str,
    open_auth: bool,
) -> Result<(), Box<Response>> {
    let unconstrained = p.secrets.is_empty() && p.certificates.is_empty() && p.federated.is_empty();
    if unconstrained && open_auth {
        return Ok(()); // guess: a registered principal without credentials behaves as open auth
    }
    if let Some(secret) = secret {
        if p.secrets.iter().any(|s| s == secret) {
            return Ok(());
        }
        return Err(Box::new(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                p.client_id
            ),
        )));
    }
    let Some(jwt) = assertion else {
        return Err(Box::new(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )));
    };
    check_assertion(p, jwt, token_url)
}

/// Validates a client assertion: a certificate assertion (iss = sub = client id, signature
/// checked against the registered keys) or a federated token (issuer/subject/audience).
fn check_assertion(p: &Principal, jwt: &str, token_url: &str) -> Result<(), Box<Response>> {
    let bad = |code: u32, msg: &str| {
        boxed(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            msg,
        ))
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |s: &str| -> Option<Value> {
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    let (Some(header), Some(claims), 3) = (
        decode(parts[0]),
        parts.get(1).and_then(|c| decode(c)),
        parts.len(),
    ) else {
        return Err(bad(50027, "JWT token is invalid or malformed."));
    };
    let now = (now_ms() / 1000) as i64;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
    if exp < now || nbf > now + 300 {
        return Err(bad(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let s = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let aud_ok = |want: &str| match claims.get("aud") {
        Some(Value::String(a)) => a == want,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(want)),
        _ => false,
    };
    if s("iss").eq_ignore_ascii_case(&p.client_id) {
        // documented: 6.2 certificate assertion
        if !s("sub").eq_ignore_ascii_case(&p.client_id) || !aud_ok(token_url) {
            return Err(bad(
                700027,
                &format!(
                    "Client assertion contains an invalid audience or subject; aud must be {token_url}."
                ),
            ));
        }
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        let signed = format!("{}.{}", parts[0], parts[1]);
        let sig = URL_SAFE_NO_PAD
            .decode(parts[2].trim_end_matches('='))
            .unwrap_or_default();
        if p.certificates
            .iter()
            .any(|pem| verify_sig(pem, alg, signed.as_bytes(), &sig))
        {
            return Ok(());
        }
        return Err(bad(
            700027,
            "Client assertion failed signature validation: no registered certificate matches.",
        ));
    }
    // documented: 6.3 federated identity credential
    let matched = p.federated.iter().any(|f| {
        let aud = if f.audience.is_empty() {
            "api://AzureADTokenExchange"
        } else {
            &f.audience
        };
        f.issuer == s("iss") && f.subject == s("sub") && aud_ok(aud)
    });
    if matched {
        Ok(())
    } else {
        Err(bad(
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'.",
                s("iss"),
                s("sub")
            ),
        ))
    }
}

fn boxed(r: Response) -> Box<Response> {
    Box::new(r)
}

/// Verifies an RS256 or PS256 signature with an SPKI PEM public key.
fn verify_sig(pem: &str, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let Ok(key) = rsa::PublicKey::from_public_key_pem(pem) else {
        return false;
    };
    match alg {
        "RS256" => {
            let vk = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key);
            rsa::pkcs1v15::Signature::try_from(sig)
                .map(|s| vk.verify(msg, &s).is_ok())
                .unwrap_or(false)
        }
        "PS256" => {
            let vk = rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new(key);
            rsa::pss::Signature::try_from(sig)
                .map(|s| vk.verify(msg, &s).is_ok())
                .unwrap_or(false)
        }
        _ => false,
    }
}

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Client id (shown as `configuredBy`).
    pub client_id: String,
    /// Object id (workspace member identifier).
    pub object_id: String,
    /// `App` or `User`.
    pub principal_type: String,
}

impl Caller {
    /// Whether `identifier` names this caller.
    pub fn is(&self, identifier: &str) -> bool {
        identifier.eq_ignore_ascii_case(&self.object_id)
            || identifier.eq_ignore_ascii_case(&self.client_id)
    }
}

/// Looks up a bearer token: Ok(caller), or the 401/403 to answer.
pub fn resolve(app: &App, authorization: Option<&str>) -> Result<Caller, ApiError> {
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(ApiError::unauthenticated)?; // documented: 8.2 #1 (none → 401)
    app.with(|w| match w.model.tokens.get(token) {
        None => Err(ApiError::unauthenticated()), // guess: unknown token → 401 empty body
        Some(t) if t.expires_ms <= now_ms() => Err(ApiError::token_expired()), // documented: 0.6 #4
        Some(t) => Ok(Caller {
            client_id: t.client_id.clone(),
            object_id: t.object_id.clone(),
            principal_type: t.principal_type.clone(),
        }),
    })
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        resolve(app, header)
    }
}
