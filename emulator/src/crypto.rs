//! Gateway key pairs and decryption of `credentialDetails.credentials` sent with
//! `encryptionAlgorithm: "RSA-OAEP"`.
//!
//! The emulator plays the on-premises gateway: it publishes the public half of each
//! gateway key (`publicKey.modulus` / `publicKey.exponent`) and decrypts what clients
//! encrypt with it, so a wrong encryptor fails here as it would at a real gateway.
//!
//! Both wire formats follow Microsoft's Power BI SDK `AsymmetricKeyEncryptor`:
//! * modulus of exactly 128 bytes → legacy: base64 of 128-byte RSA-OAEP-SHA1 blocks, each
//!   holding up to 85 plaintext bytes (§4);
//! * any other modulus length → hybrid: `Base64(W) + Base64(S)` where W is the
//!   RSA-OAEP-SHA256-wrapped AES/HMAC key blob and S the encrypt-then-MAC blob (§5).
//!
//! Decrypted plaintext is returned to the caller and never logged here.

use std::fmt;

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rsa::PrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;

/// PKCS#8 PEM of the default tenant's 2048-bit "Local Gateway" key (generated once with openssl).
const LOCAL_GATEWAY_PEM: &str = include_str!("keys/local-gateway-2048.pem");
/// PKCS#8 PEM of the default tenant's 1024-bit "Legacy Gateway" key (generated once with openssl).
const LEGACY_GATEWAY_PEM: &str = include_str!("keys/legacy-gateway-1024.pem");

/// Modulus length (bytes) that selects the legacy scheme; the SDK tests `== 128`, not `<= 1024 bits`.
const LEGACY_MODULUS_BYTES: usize = 128;
/// Legacy scheme: each RSA block is exactly the modulus length.
const LEGACY_BLOCK_BYTES: usize = 128;
/// Hybrid scheme: AES block and IV size.
const AES_BLOCK: usize = 16;
/// Hybrid scheme: the two algorithm-choice bytes in front of the tag.
const ALGORITHM_BYTES: usize = 2;

/// Errors from loading a gateway key or decrypting credentials. Messages say what was
/// wrong with the input and never include key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The PEM text is not an RSA private key in PKCS#8 form.
    #[error(
        "gateway private key is not a PKCS#8 RSA PEM ({0}); provide a '-----BEGIN PRIVATE KEY-----' block"
    )]
    InvalidPrivateKey(String),
    /// The key loaded but could not be re-encoded as PKCS#8.
    #[error("gateway private key could not be encoded as PKCS#8: {0}")]
    KeyEncoding(String),
    /// `credentials` was empty.
    #[error(
        "credentials are empty; encrypt the credentials JSON with the gateway public key (RSA-OAEP)"
    )]
    Empty,
    /// A part of the ciphertext is not standard padded base64.
    #[error(
        "credentials {part} is not standard base64; send the output of the gateway encryption unchanged"
    )]
    NotBase64 {
        /// Which part failed to decode.
        part: &'static str,
    },
    /// A part of the ciphertext has a length the scheme cannot produce.
    #[error(
        "credentials {what} has the wrong length: expected {expected}, got {actual} (was it encrypted with this gateway's {bits}-bit public key?)"
    )]
    WrongLength {
        /// Which part has the wrong length.
        what: &'static str,
        /// What the scheme requires.
        expected: String,
        /// What was received.
        actual: usize,
        /// The gateway key size.
        bits: usize,
    },
    /// RSA-OAEP decryption failed: wrong key, wrong OAEP hash, or corrupted data.
    #[error(
        "RSA-OAEP ({hash}) decryption failed: the credentials were not encrypted with this gateway's public key using the {scheme} scheme, or were corrupted"
    )]
    Oaep {
        /// The OAEP hash the scheme uses.
        hash: &'static str,
        /// The scheme name.
        scheme: &'static str,
    },
    /// The RSA-wrapped key blob of the hybrid scheme is malformed.
    #[error("credentials key blob is malformed: {0}")]
    BadKeyBlob(String),
    /// The algorithm bytes name a cipher or MAC the scheme does not define.
    #[error(
        "credentials use unsupported algorithm bytes (cipher {cipher}, mac {mac}); only AES-256-CBC-PKCS7 (0) with HMAC-SHA256/384/512 (0/1/2) exist"
    )]
    UnsupportedAlgorithm {
        /// Cipher byte.
        cipher: u8,
        /// MAC byte.
        mac: u8,
    },
    /// The HMAC tag does not match: the ciphertext was altered or the keys do not belong to it.
    #[error(
        "credentials integrity check failed (HMAC mismatch): the ciphertext was altered or truncated"
    )]
    HmacMismatch,
    /// AES-CBC decryption produced invalid PKCS#7 padding.
    #[error("credentials AES-CBC decryption produced invalid padding")]
    Padding,
    /// The plaintext is not the `{"credentialData":[{"name":..,"value":..}]}` JSON.
    #[error(
        "credentials are not the expected JSON {{\"credentialData\":[{{\"name\":..,\"value\":..}}]}}: {0}"
    )]
    NotCredentialJson(&'static str),
    /// The decrypted bytes are not UTF-8.
    #[error("decrypted credentials are not UTF-8 text; encrypt the UTF-8 bytes of the JSON")]
    NotUtf8,
}

/// An on-premises gateway's RSA key pair. The emulator publishes the public half and
/// decrypts credentials with the private half. Debug output shows only the key size.
pub struct GatewayKeyPair {
    key: PrivateKey,
    pem: String,
    bits: usize,
}

impl fmt::Debug for GatewayKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayKeyPair")
            .field("bits", &self.bits)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Clone for GatewayKeyPair {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            pem: self.pem.clone(),
            bits: self.bits,
        }
    }
}

impl GatewayKeyPair {
    /// Loads a PKCS#8 PEM private key (the form the control API's state snapshot and tenant
    /// files carry).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CryptoError> {
        let key = PrivateKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| CryptoError::InvalidPrivateKey(e.to_string()))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| CryptoError::KeyEncoding(e.to_string()))?
            .to_string();
        let bits = key.n().bit_width() as usize;
        Ok(Self { key, pem, bits })
    }

    /// The private key as PKCS#8 PEM, for the control API's state snapshot (tests need it).
    pub fn to_pkcs8_pem(&self) -> String {
        self.pem.clone()
    }

    /// Big-endian modulus, standard padded base64: the gateway's `publicKey.modulus`.
    pub fn modulus_base64(&self) -> String {
        STANDARD.encode(self.key.n_bytes())
    }

    /// Big-endian public exponent, standard padded base64 (`AQAB` for 65537).
    pub fn exponent_base64(&self) -> String {
        STANDARD.encode(self.key.e_bytes())
    }

    /// Key size in bits (2048, 1024, ...).
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Modulus length in bytes; this, not `bits`, picks the scheme (exactly 128 → legacy).
    fn modulus_len(&self) -> usize {
        self.key.n_bytes().len()
    }

    /// Decrypts `credentials` as sent in `credentialDetails.credentials` with
    /// `encryptionAlgorithm: "RSA-OAEP"`: legacy RSA-OAEP-SHA1 segments for a 128-byte
    /// modulus, otherwise the AES-256-CBC + HMAC hybrid with an RSA-OAEP-SHA256-wrapped
    /// key (two base64 strings concatenated). The HMAC is checked in constant time before
    /// decrypting. Returns the plaintext credentials JSON string.
    pub fn decrypt_credentials(&self, encrypted: &str) -> Result<String, CryptoError> {
        if encrypted.is_empty() {
            return Err(CryptoError::Empty);
        }
        let plain = if self.modulus_len() == LEGACY_MODULUS_BYTES {
            self.decrypt_legacy(encrypted)?
        } else {
            self.decrypt_hybrid(encrypted)?
        };
        String::from_utf8(plain).map_err(|_| CryptoError::NotUtf8)
    }

    /// §4: base64 → 128-byte blocks → RSA-OAEP-SHA1 each → concatenate.
    fn decrypt_legacy(&self, encrypted: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD
            .decode(encrypted)
            .map_err(|_| CryptoError::NotBase64 { part: "value" })?;
        if bytes.is_empty() || !bytes.len().is_multiple_of(LEGACY_BLOCK_BYTES) {
            return Err(CryptoError::WrongLength {
                what: "ciphertext",
                expected: format!(
                    "a non-zero multiple of {LEGACY_BLOCK_BYTES} bytes (legacy RSA-OAEP-SHA1 blocks)"
                ),
                actual: bytes.len(),
                bits: self.bits,
            });
        }
        let mut plain = Vec::with_capacity(bytes.len());
        for block in bytes.chunks(LEGACY_BLOCK_BYTES) {
            let part =
                self.key
                    .oaep_decrypt::<sha1::Sha1>(block)
                    .map_err(|_| CryptoError::Oaep {
                        hash: "SHA-1",
                        scheme: "legacy 1024-bit",
                    })?;
            plain.extend_from_slice(&part);
        }
        Ok(plain)
    }

    /// §5: split at 4·⌈k/3⌉ characters, unwrap the key blob, verify the MAC, decrypt.
    fn decrypt_hybrid(&self, encrypted: &str) -> Result<Vec<u8>, CryptoError> {
        let k = self.modulus_len();
        let split = 4 * k.div_ceil(3);
        let (wrapped_b64, blob_b64) = match (encrypted.get(..split), encrypted.get(split..)) {
            (Some(w), Some(s)) if !s.is_empty() => (w, s),
            _ => {
                return Err(CryptoError::WrongLength {
                    what: "value",
                    expected: format!(
                        "more than {split} characters (base64 of the {k}-byte wrapped key, then the AES blob)"
                    ),
                    actual: encrypted.len(),
                    bits: self.bits,
                });
            }
        };
        let wrapped = STANDARD
            .decode(wrapped_b64)
            .map_err(|_| CryptoError::NotBase64 {
                part: "wrapped-key part",
            })?;
        let blob = STANDARD
            .decode(blob_b64)
            .map_err(|_| CryptoError::NotBase64 {
                part: "encrypted-data part",
            })?;
        if wrapped.len() != k {
            return Err(CryptoError::WrongLength {
                what: "wrapped key",
                expected: format!("{k} bytes"),
                actual: wrapped.len(),
                bits: self.bits,
            });
        }
        let key_blob = self
            .key
            .oaep_decrypt::<sha2::Sha256>(&wrapped)
            .map_err(|_| CryptoError::Oaep {
                hash: "SHA-256",
                scheme: "hybrid AES-256-CBC/HMAC",
            })?;
        let (enc_key, mac_key) = split_key_blob(&key_blob)?;
        authenticated_decrypt(enc_key, mac_key, &blob, self.bits)
    }
}

/// Parses `K = [encLenCode, macLenCode] ‖ Kenc ‖ Kmac` (codes: 0 → 32 bytes, 1 → 64 bytes).
fn split_key_blob(blob: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    let code = |c: u8| match c {
        0 => Ok(32usize),
        1 => Ok(64usize),
        other => Err(CryptoError::BadKeyBlob(format!(
            "unknown key length code {other} (expected 0 or 1)"
        ))),
    };
    let [enc_code, mac_code, rest @ ..] = blob else {
        return Err(CryptoError::BadKeyBlob("shorter than 2 bytes".into()));
    };
    let enc_len = code(*enc_code)?;
    let mac_len = code(*mac_code)?;
    if enc_len != 32 {
        return Err(CryptoError::BadKeyBlob(format!(
            "AES key must be 32 bytes for AES-256, blob says {enc_len}"
        )));
    }
    if rest.len() != enc_len + mac_len {
        return Err(CryptoError::BadKeyBlob(format!(
            "holds {} key bytes, its header announces {}",
            rest.len(),
            enc_len + mac_len
        )));
    }
    Ok(rest.split_at(enc_len))
}

/// §5.2: `S = A(2) ‖ T ‖ IV(16) ‖ C`; verify HMAC(A ‖ IV ‖ C) in constant time, then
/// AES-256-CBC-PKCS7 decrypt.
fn authenticated_decrypt(
    enc_key: &[u8],
    mac_key: &[u8],
    blob: &[u8],
    bits: usize,
) -> Result<Vec<u8>, CryptoError> {
    let too_short = |tag_len: usize| CryptoError::WrongLength {
        what: "encrypted-data part",
        expected: format!(
            "2 algorithm bytes, a {tag_len}-byte tag, a 16-byte IV and at least one whole AES block"
        ),
        actual: blob.len(),
        bits,
    };
    let [cipher, mac, ..] = *blob else {
        return Err(too_short(32));
    };
    let tag_len = match (cipher, mac) {
        (0, 0) => 32,
        (0, 1) => 48,
        (0, 2) => 64,
        _ => return Err(CryptoError::UnsupportedAlgorithm { cipher, mac }),
    };
    let body = blob.len().saturating_sub(ALGORITHM_BYTES + tag_len);
    if body < 2 * AES_BLOCK || !body.is_multiple_of(AES_BLOCK) {
        return Err(too_short(tag_len));
    }
    let (algorithms, rest) = blob.split_at(ALGORITHM_BYTES);
    let (tag, iv_and_ct) = rest.split_at(tag_len);
    let (iv, ciphertext) = iv_and_ct.split_at(AES_BLOCK);
    let verified = match mac {
        0 => verify_mac::<sha2::Sha256>(mac_key, algorithms, iv_and_ct, tag),
        1 => verify_mac::<sha2::Sha384>(mac_key, algorithms, iv_and_ct, tag),
        _ => verify_mac::<sha2::Sha512>(mac_key, algorithms, iv_and_ct, tag),
    };
    if !verified {
        return Err(CryptoError::HmacMismatch);
    }
    let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, iv)
        .map_err(|_| CryptoError::BadKeyBlob("AES key or IV has the wrong size".into()))?;
    decryptor
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| CryptoError::Padding)
}

/// Constant-time HMAC check over `A ‖ IV ‖ C` (the MAC does not cover the wrapped key).
fn verify_mac<D>(key: &[u8], algorithms: &[u8], iv_and_ct: &[u8], tag: &[u8]) -> bool
where
    Hmac<D>: KeyInit + Mac,
    D: hmac::EagerHash,
{
    let Ok(mut mac) = <Hmac<D> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(algorithms);
    mac.update(iv_and_ct);
    mac.verify_slice(tag).is_ok()
}

/// Parses the credentials JSON string (decrypted, or sent as is for cloud sources) into
/// its name/value pairs, so the server can reject what does not parse. Accepts the SDK's
/// anonymous forms `{"credentialData":[]}` and `{"credentialData":""}`. Error messages
/// never echo values.
pub fn parse_credential_data(plaintext: &str) -> Result<Vec<(String, String)>, CryptoError> {
    let json: serde_json::Value = serde_json::from_str(plaintext)
        .map_err(|_| CryptoError::NotCredentialJson("not valid JSON"))?;
    let data = json
        .get("credentialData")
        .ok_or(CryptoError::NotCredentialJson("no credentialData property"))?;
    match data {
        serde_json::Value::String(s) if s.is_empty() => Ok(Vec::new()),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                let field = |k: &str| item.get(k).and_then(serde_json::Value::as_str);
                match (field("name"), field("value")) {
                    (Some(n), Some(v)) => Ok((n.to_string(), v.to_string())),
                    _ => Err(CryptoError::NotCredentialJson(
                        "each credentialData entry needs string name and value",
                    )),
                }
            })
            .collect(),
        _ => Err(CryptoError::NotCredentialJson(
            "credentialData must be an array of {name, value}",
        )),
    }
}

/// The default tenant's two gateway keys, embedded so start-up needs no key generation:
/// (2048-bit "Local Gateway", 1024-bit "Legacy Gateway").
pub fn default_gateway_keys() -> Result<(GatewayKeyPair, GatewayKeyPair), CryptoError> {
    Ok((
        GatewayKeyPair::from_pkcs8_pem(LOCAL_GATEWAY_PEM)?,
        GatewayKeyPair::from_pkcs8_pem(LEGACY_GATEWAY_PEM)?,
    ))
}
