//! Client certificate: a PEM file with the certificate and its RSA private key, used to sign
//! the RS256 client assertion (private_key_jwt) with the `x5t` thumbprint header.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::PrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::SecretString;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Assertion lifetime (Entra accepts 5-10 minutes).
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// A parsed client certificate. Password-protected keys (`ENCRYPTED PRIVATE KEY`) are not
/// supported: convert them with `openssl pkcs8 -topk8 -nocrypt`.
pub struct ClientCertificate {
    x5t: String,
    x5t_s256: String,
    key: PrivateKey,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .field("key", &"(redacted)")
            .finish()
    }
}

impl ClientCertificate {
    /// Parses PEM text holding a `CERTIFICATE` block and a `PRIVATE KEY` (PKCS#8) or
    /// `RSA PRIVATE KEY` (PKCS#1) block, in any order. The first certificate is the leaf.
    ///
    /// # Errors
    /// A message naming what is missing or unsupported (never the key material).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let mut cert_der: Option<Vec<u8>> = None;
        let mut key: Option<PrivateKey> = None;
        for (label, der) in pem_blocks(pem)? {
            match label.as_str() {
                "CERTIFICATE" if cert_der.is_none() => cert_der = Some(der.to_vec()),
                "PRIVATE KEY" => {
                    key = Some(PrivateKey::from_pkcs8_der(&der).map_err(|e| {
                        format!("the PKCS#8 private key is not a usable RSA key: {e}")
                    })?);
                }
                "RSA PRIVATE KEY" => {
                    key = Some(PrivateKey::from_pkcs1_der(&der).map_err(|e| {
                        format!("the PKCS#1 private key is not a usable RSA key: {e}")
                    })?);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err("password-protected private keys are not supported; \
                         decrypt it with `openssl pkcs8 -topk8 -nocrypt` and keep the file secret"
                        .to_owned());
                }
                _ => {}
            }
        }
        let cert_der = cert_der.ok_or("the PEM file has no CERTIFICATE block")?;
        let key = key.ok_or("the PEM file has no PRIVATE KEY or RSA PRIVATE KEY block")?;
        Ok(Self {
            x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&cert_der)),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&cert_der)),
            key,
        })
    }

    /// The `x5t` header value: base64url SHA-1 thumbprint of the DER certificate.
    #[must_use]
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// A signed RS256 client assertion for `client_id`, audience `token_url`.
    ///
    /// # Errors
    /// When the RNG or the signature fails.
    pub fn assertion(&self, client_id: &str, token_url: &str) -> Result<SecretString, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_owned())?
            .as_secs();
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| format!("random jti: {e}"))?;
        let header = serde_json::json!({
            "alg": "RS256", "typ": "JWT", "x5t": self.x5t, "x5t#S256": self.x5t_s256,
        });
        let claims = serde_json::json!({
            "aud": token_url, "iss": client_id, "sub": client_id, "jti": hex::encode(jti),
            "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .pkcs1v15_sign::<Sha256>(signing_input.as_bytes())
            .map_err(|e| format!("signing the assertion failed: {e}"))?;
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// A PEM block: its label and DER bytes.
type PemBlock = (String, Zeroizing<Vec<u8>>);

/// `(label, DER)` of every PEM block.
fn pem_blocks(pem: &str) -> Result<Vec<PemBlock>, String> {
    let mut out = Vec::new();
    let mut lines = pem.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Zeroizing::new(String::new());
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if inner == end {
                closed = true;
                break;
            }
            if !inner.contains(':') {
                body.push_str(inner);
            }
        }
        if !closed {
            return Err(format!("the PEM block `{label}` has no END line"));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the PEM block `{label}` is not valid base64: {e}"))?;
        out.push((label.to_owned(), Zeroizing::new(der)));
    }
    if out.is_empty() {
        return Err("the file has no PEM blocks (-----BEGIN ...-----)".to_owned());
    }
    Ok(out)
}
