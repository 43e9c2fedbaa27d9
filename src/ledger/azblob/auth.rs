//! How requests to the ledger's storage account are authorised: Entra ID bearer tokens (the
//! same azure-identity chain as the Power BI client, storage scope), a SAS token, or the
//! account key of a connection string (SharedKey, HMAC-SHA256 over the canonical request).
//! The SAS and the key come only from secret references and never reach a message or log.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::powerbi::auth::TokenProvider;

/// The credential for one storage account.
#[derive(Clone)]
pub enum Credential {
    /// The account key from a connection string.
    SharedKey {
        account: String,
        key: Arc<Zeroizing<Vec<u8>>>,
    },
    /// A SAS token (the query string, without a leading `?`).
    Sas(SecretString),
    /// Entra ID tokens for `https://storage.azure.com/.default`.
    Bearer(Arc<dyn TokenProvider>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SharedKey { .. } => "SharedKey(redacted)",
            Self::Sas(_) => "Sas(redacted)",
            Self::Bearer(_) => "Bearer",
        })
    }
}

impl Credential {
    /// A credential from a secret's text: a connection string (`AccountName=...;AccountKey=...`,
    /// or with `SharedAccessSignature=...`) or a bare SAS token (`sv=...&sig=...`, a leading
    /// `?` allowed). `account` is the location's account; a connection string for another
    /// account is refused. `from` names the reference for messages.
    pub fn from_secret(text: &str, account: &str, from: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.contains("AccountKey=") || text.contains("SharedAccessSignature=") {
            return from_connection_string(text, account, from);
        }
        let sas = text.trim_start_matches('?');
        if sas.split('&').any(|p| p.starts_with("sig=")) {
            return Ok(Self::Sas(SecretString::from(sas.to_owned())));
        }
        Err(format!(
            "the state credential from {from} is neither a storage connection string (with AccountKey= or SharedAccessSignature=) nor a SAS token (with sig=)"
        ))
    }

    /// Adds the authorisation to a request about to be sent: the SAS to the query, or an
    /// `Authorization` header (signed over `headers`, which must be complete but for it).
    pub async fn authorize(
        &self,
        method: &str,
        url: &mut Url,
        headers: &mut HeaderMap,
    ) -> Result<(), String> {
        match self {
            Self::Sas(sas) => {
                let query = match url.query() {
                    Some(q) if !q.is_empty() => format!("{q}&{}", sas.expose_secret()),
                    _ => sas.expose_secret().to_owned(),
                };
                url.set_query(Some(&query));
            }
            Self::SharedKey { account, key } => {
                let sig = sign(key, &string_to_sign(method, url, headers, account));
                let value = format!("SharedKey {account}:{sig}");
                headers.insert(
                    "authorization",
                    HeaderValue::from_str(&value).map_err(|e| e.to_string())?,
                );
            }
            Self::Bearer(tokens) => {
                let token = tokens.token().await.map_err(|e| e.to_string())?;
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.token.expose_secret()))
                        .map_err(|_| "the access token is not a valid header value".to_owned())?;
                value.set_sensitive(true);
                headers.insert("authorization", value);
            }
        }
        Ok(())
    }
}

fn from_connection_string(text: &str, account: &str, from: &str) -> Result<Credential, String> {
    let mut name = None;
    let mut key = None;
    let mut sas = None;
    for part in text.split(';').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "the connection string from {from} has a part without `=`"
            ));
        };
        match k.trim() {
            "AccountName" => name = Some(v.trim().to_owned()),
            "AccountKey" => key = Some(v.trim().to_owned()),
            "SharedAccessSignature" => sas = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    if let Some(sas) = sas {
        return Ok(Credential::Sas(SecretString::from(
            sas.trim_start_matches('?').to_owned(),
        )));
    }
    let name =
        name.ok_or_else(|| format!("the connection string from {from} has no AccountName"))?;
    if name != account {
        return Err(format!(
            "the connection string from {from} is for the account `{name}`, but the state location names `{account}`"
        ));
    }
    let key = key.unwrap_or_default();
    let key = STANDARD.decode(key.as_bytes()).map_err(|_| {
        format!("the AccountKey in the connection string from {from} is not base64")
    })?;
    Ok(Credential::SharedKey {
        account: name,
        key: Arc::new(Zeroizing::new(key)),
    })
}

/// The SharedKey string to sign (Blob service, version 2015-02-21 and later). The `Date`
/// line stays empty: requests carry `x-ms-date`.
fn string_to_sign(method: &str, url: &Url, headers: &HeaderMap, account: &str) -> String {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let length = match h("content-length") {
        "0" => "",
        other => other,
    };
    let mut out = format!(
        "{method}\n{}\n{}\n{length}\n{}\n{}\n\n{}\n{}\n{}\n{}\n{}\n",
        h("content-encoding"),
        h("content-language"),
        h("content-md5"),
        h("content-type"),
        h("if-modified-since"),
        h("if-match"),
        h("if-none-match"),
        h("if-unmodified-since"),
        h("range"),
    );
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-ms-"))
        .map(|(k, v)| {
            let v = v.to_str().unwrap_or_default();
            (
                k.as_str().to_owned(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    ms.sort();
    for (k, v) in ms {
        out.push_str(&format!("{k}:{v}\n"));
    }
    out.push_str(&format!("/{account}{}", url.path()));
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
        .collect();
    params.sort();
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in params {
        match grouped.last_mut() {
            Some((last, values)) if *last == k => values.push(v),
            _ => grouped.push((k, vec![v])),
        }
    }
    for (k, values) in grouped {
        out.push_str(&format!("\n{k}:{}", values.join(",")));
    }
    out
}

fn sign(key: &[u8], text: &str) -> String {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(text.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; nothing to sign with otherwise.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azurite's documented development account key (public, for emulators only).
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    #[test]
    fn connection_strings_and_sas_tokens_are_told_apart() {
        let cs = format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
        );
        assert!(matches!(
            Credential::from_secret(&cs, "devstoreaccount1", "env:X"),
            Ok(Credential::SharedKey { .. })
        ));
        let err = Credential::from_secret(&cs, "other", "env:X").unwrap_err();
        assert!(
            err.contains("devstoreaccount1") && !err.contains(DEV_KEY),
            "{err}"
        );
        assert!(matches!(
            Credential::from_secret("?sv=2022-11-02&sig=abc%3D", "a", "env:X"),
            Ok(Credential::Sas(_))
        ));
        let err = Credential::from_secret("hunter2", "a", "env:X").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn string_to_sign_follows_the_documented_layout() {
        let url =
            Url::parse("http://127.0.0.1:10000/devstoreaccount1/c01/a%20b?comp=lease&Timeout=30")
                .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-version", HeaderValue::from_static("2023-11-03"));
        headers.insert("x-ms-lease-action", HeaderValue::from_static("acquire"));
        headers.insert("content-length", HeaderValue::from_static("0"));
        headers.insert("if-match", HeaderValue::from_static("\"0x1\""));
        let s = string_to_sign("PUT", &url, &headers, "devstoreaccount1");
        assert_eq!(
            s,
            "PUT\n\n\n\n\n\n\n\n\"0x1\"\n\n\n\nx-ms-lease-action:acquire\nx-ms-version:2023-11-03\n\
             /devstoreaccount1/devstoreaccount1/c01/a%20b\ncomp:lease\ntimeout:30"
        );
    }
}
