//! Gateway credential encryption, exactly as Power BI's own SDK does it.
//!
//! Credentials for data sources behind an on-premises gateway are sent encrypted with the
//! gateway's RSA public key (`encryptionAlgorithm: "RSA-OAEP"`). Two wire formats exist and the
//! gateway picks one by the byte length of the decoded modulus (as Microsoft's Power BI SDK
//! `AsymmetricKeyEncryptor` does; the test vectors pin both):
//!
//! * modulus of exactly 128 bytes (RSA-1024): the UTF-8 plaintext is cut into 85-byte segments,
//!   each encrypted with RSA-OAEP-SHA1 (MGF1-SHA1, empty label) into a 128-byte block; the blocks
//!   are concatenated and base64-encoded;
//! * any other length: hybrid encryption. A random AES-256 key and HMAC-SHA256 key are wrapped as
//!   `[0,1] ‖ aes ‖ mac` with RSA-OAEP-SHA256, the plaintext is AES-256-CBC/PKCS7 encrypted
//!   under a random IV and authenticated (encrypt-then-MAC) into `[0,0] ‖ tag ‖ iv ‖ ct`, and the
//!   output is `base64(wrapped) + base64(blob)`: two separately padded base64 strings.
//!
//! Symmetric keys and the plaintext copy live in [`Zeroizing`] buffers so that they are wiped
//! when dropped.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use rsa::{BoxedUint, PublicKey};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Modulus length (bytes) that selects the legacy RSA-1024 scheme.
pub const LEGACY_MODULUS_LEN: usize = 128;
/// Plaintext segment length of the legacy scheme (OAEP-SHA1 capacity of a 1024-bit key is 86).
pub const LEGACY_SEGMENT_LEN: usize = 85;
/// AES-256 key length of the hybrid scheme.
const AES_KEY_LEN: usize = 32;
/// HMAC-SHA256 key length of the hybrid scheme.
const MAC_KEY_LEN: usize = 64;
/// AES-CBC IV length.
const IV_LEN: usize = 16;
/// Key blob prefix: "32-byte symmetric key, 64-byte HMAC key" (enum codes, not lengths).
const KEY_BLOB_PREFIX: [u8; 2] = [0x00, 0x01];
/// Algorithm bytes: cipher AES-256-CBC-PKCS7 = 0, MAC HMAC-SHA256 = 0.
const ALGORITHM_PREFIX: [u8; 2] = [0x00, 0x00];
/// Largest modulus accepted (bits), so a hostile key cannot make us do huge arithmetic.
const MAX_MODULUS_BITS: usize = 16_384;

/// Why credentials could not be encrypted for a gateway.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The credentials JSON was empty; the SDK refuses to encrypt an empty string too.
    #[error("the credentials to encrypt are empty")]
    EmptyPlaintext,
    /// The gateway's public key could not be decoded.
    #[error(
        "the gateway public key's {field} is not valid base64 ({reason}); \
         check the `publicKey` returned by GET gateways/{{id}}"
    )]
    KeyEncoding {
        /// `modulus` or `exponent`.
        field: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The gateway's public key decoded but is not a usable RSA key.
    #[error("the gateway public key is not a usable RSA key: {0}")]
    InvalidKey(String),
    /// RSA encryption failed (for example the key is too small for the hybrid scheme).
    #[error("RSA encryption with the gateway public key failed: {0}")]
    Rsa(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// Encrypts `plaintext_json` (the credentials JSON, see [`super::credentials`]) for a gateway
/// whose public key is `modulus_b64` / `exponent_b64` (standard base64 of big-endian unsigned
/// integers, as `GET gateways/{id}` returns them).
///
/// The result is what goes into `credentialDetails.credentials` with
/// `encryptionAlgorithm: "RSA-OAEP"`. Ciphertexts are randomised: encrypting twice gives two
/// different strings that both decrypt to the same plaintext.
///
/// # Errors
/// [`CryptoError`] when the plaintext is empty, the key does not decode or is not a valid RSA
/// key, or the system RNG fails.
pub fn encrypt_credentials(
    plaintext_json: &str,
    modulus_b64: &str,
    exponent_b64: &str,
) -> Result<String, CryptoError> {
    if plaintext_json.is_empty() {
        return Err(CryptoError::EmptyPlaintext);
    }
    let modulus = decode_key_part("modulus", modulus_b64)?;
    let exponent = decode_key_part("exponent", exponent_b64)?;
    let key = public_key(&modulus, &exponent)?;
    let plaintext = Zeroizing::new(plaintext_json.as_bytes().to_vec());
    if modulus.len() == LEGACY_MODULUS_LEN {
        encrypt_legacy(&key, &plaintext)
    } else {
        encrypt_hybrid(&key, &plaintext)
    }
}

fn decode_key_part(field: &'static str, b64: &str) -> Result<Vec<u8>, CryptoError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|e| CryptoError::KeyEncoding {
            field,
            reason: e.to_string(),
        })?;
    if bytes.is_empty() {
        return Err(CryptoError::KeyEncoding {
            field,
            reason: "it is empty".to_owned(),
        });
    }
    Ok(bytes)
}

fn public_key(modulus: &[u8], exponent: &[u8]) -> Result<PublicKey, CryptoError> {
    let n_bits = bits_of(modulus)?;
    let e_bits = bits_of(exponent)?;
    let n = BoxedUint::from_be_slice(modulus, n_bits)
        .map_err(|e| CryptoError::InvalidKey(format!("modulus: {e}")))?;
    let e = BoxedUint::from_be_slice(exponent, e_bits)
        .map_err(|e| CryptoError::InvalidKey(format!("exponent: {e}")))?;
    PublicKey::new(n, e).map_err(|e| CryptoError::InvalidKey(e.to_string()))
}

/// Bit capacity for a big-endian byte string, rejecting absurd sizes.
fn bits_of(bytes: &[u8]) -> Result<u32, CryptoError> {
    let bits = bytes.len().saturating_mul(8);
    if bits > MAX_MODULUS_BITS {
        return Err(CryptoError::InvalidKey(format!(
            "{bits}-bit values are larger than the supported {MAX_MODULUS_BITS} bits"
        )));
    }
    u32::try_from(bits).map_err(|_| CryptoError::InvalidKey("value too large".to_owned()))
}

/// Legacy scheme: RSA-OAEP-SHA1 over 85-byte segments, blocks concatenated, base64.
fn encrypt_legacy(key: &PublicKey, plaintext: &[u8]) -> Result<String, CryptoError> {
    let mut out = Vec::with_capacity(plaintext.len().div_ceil(LEGACY_SEGMENT_LEN) * 128);
    for segment in plaintext.chunks(LEGACY_SEGMENT_LEN) {
        let block = key
            .oaep_encrypt::<Sha1>(segment)
            .map_err(|e| CryptoError::Rsa(e.to_string()))?;
        out.extend_from_slice(&block);
    }
    Ok(STANDARD.encode(out))
}

/// Hybrid scheme: AES-256-CBC + HMAC-SHA256 with RSA-OAEP-SHA256-wrapped keys.
fn encrypt_hybrid(key: &PublicKey, plaintext: &[u8]) -> Result<String, CryptoError> {
    let mut aes_key = Zeroizing::new([0u8; AES_KEY_LEN]);
    let mut mac_key = Zeroizing::new([0u8; MAC_KEY_LEN]);
    let mut iv = [0u8; IV_LEN];
    random(aes_key.as_mut_slice())?;
    random(mac_key.as_mut_slice())?;
    random(&mut iv)?;

    let mut key_blob = Zeroizing::new(Vec::with_capacity(2 + AES_KEY_LEN + MAC_KEY_LEN));
    key_blob.extend_from_slice(&KEY_BLOB_PREFIX);
    key_blob.extend_from_slice(aes_key.as_slice());
    key_blob.extend_from_slice(mac_key.as_slice());
    let wrapped = key
        .oaep_encrypt::<Sha256>(&key_blob)
        .map_err(|e| CryptoError::Rsa(e.to_string()))?;

    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(aes_key.as_slice(), &iv)
        .map_err(|e| CryptoError::Rsa(format!("AES key setup: {e}")))?;
    let ciphertext = cipher.encrypt_padded_vec::<Pkcs7>(plaintext);

    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(mac_key.as_slice())
        .map_err(|e| CryptoError::Rsa(format!("HMAC key setup: {e}")))?;
    mac.update(&ALGORITHM_PREFIX);
    mac.update(&iv);
    mac.update(&ciphertext);
    let tag = mac.finalize().into_bytes();

    let mut blob = Vec::with_capacity(2 + tag.len() + IV_LEN + ciphertext.len());
    blob.extend_from_slice(&ALGORITHM_PREFIX);
    blob.extend_from_slice(&tag);
    blob.extend_from_slice(&iv);
    blob.extend_from_slice(&ciphertext);

    let mut out = STANDARD.encode(&wrapped);
    out.push_str(&STANDARD.encode(&blob));
    Ok(out)
}

fn random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_plaintext_is_refused() {
        let err = encrypt_credentials("", "AQAB", "AQAB").unwrap_err();
        assert!(matches!(err, CryptoError::EmptyPlaintext));
    }

    #[test]
    fn bad_base64_names_the_field() {
        let err = encrypt_credentials("{}", "not base64!!", "AQAB").unwrap_err();
        assert!(err.to_string().contains("modulus"), "{err}");
        let err = encrypt_credentials("{}", "AQAB", "%%").unwrap_err();
        assert!(err.to_string().contains("exponent"), "{err}");
    }

    #[test]
    fn tiny_modulus_is_rejected() {
        // 3 bytes: far below rsa's 1024-bit minimum.
        let err = encrypt_credentials("{}", "AQAB", "AQAB").unwrap_err();
        assert!(matches!(err, CryptoError::InvalidKey(_)), "{err}");
    }
}
