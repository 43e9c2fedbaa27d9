//! PLACEHOLDER: the real module is written by another helper and replaces this file at merge.
//! Gateway RSA keys and credential decryption.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;

/// A gateway's RSA key pair.
pub struct GatewayKeyPair {
    key: RsaPrivateKey,
}

impl GatewayKeyPair {
    /// Parses a PKCS#8 PEM private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CryptoError> {
        let key =
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| CryptoError::Key(e.to_string()))?;
        Ok(Self { key })
    }
    /// The private key as PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> String {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|p| p.to_string())
            .unwrap_or_default()
    }
    /// Big-endian modulus, standard base64.
    pub fn modulus_base64(&self) -> String {
        STANDARD.encode(self.key.n().to_be_bytes_trimmed_vartime())
    }
    /// Big-endian exponent, standard base64.
    pub fn exponent_base64(&self) -> String {
        STANDARD.encode(self.key.e().to_be_bytes_trimmed_vartime())
    }
    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }
    /// Placeholder: decryption is implemented by the crypto helper.
    pub fn decrypt_credentials(&self, encrypted: &str) -> Result<String, CryptoError> {
        let _ = encrypted;
        Err(CryptoError::Decrypt(
            "not implemented in placeholder".into(),
        ))
    }
}

const KEY_2048: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC2jk70vQmtlTH8\nrcB/iU6QSGbvmFLai4p0z0VThzrPrlLnKE5xjNu58UvNzsUG55uDca5Vff3H+CEr\n3hCXXWWQbtOqHxpf9IHKxdxeUjF2OC9zu2kc7LJ+7TN7dZP6JYyGaFYGgiutoUpm\nYh2DHKxDUNiz6G1lSKIiKHa2t5eF8jHLKHPIrT/l5EerglXSjOVn50/2dU8Ts4oE\nR4zA2d+kzw6LSrWRAaIz/OzTdhErYpEbk12qm7JyLDJzLrLu2BvFERamRRzXbSzn\neVJDEL2S1TzLi7fgVjfLAC66RxkahiFpjTwrEwFfIXE0M6dfBIgP8RmqE/Ajb1yL\nYkeAd3ctAgMBAAECggEAVOXNlkerjoxJ2Oa9FRK39KWXKWm/bl9innweE4BaO2co\nqtO111zYepra0/WK73Eag4CEwMF9GlgspQf600neB9NioEUisOk2yyRFHaA/3Gi4\nuKu5cHgrcpfBT3MYxEZeGcu/5fr3cSIHRaHvc6AMBKo+fTxkU6v5qsUCoGq1DtcQ\nZ1hM0pam4KR6y2QKOp4zlgRE9kxS8JJtuxyR1G7OctE4Q6MlKtsJ1mIC5PYO0Lv2\n184Ja0Tj0sBTvkfchJTB52Qvm8a0wUHlEeca/vg8n5cvR9BOjfbXPBTgo5ge/waJ\nyqNQW6PCxXNX/o9MpeMWpbb/ogOj40mlsyHzZDQNiQKBgQDeIeNAEmKUUNWD5lBX\n6u2FEFaWYyp8jQPWHwDMXq0eQVtFD7rLgcXvU/XvUpngdJ9ig65b+ARx3zZ4+izt\nmfPeHj61ILHvAdAdiLyq6i3VVH+uk2lzp1NXOWmKbgUDneIO7xct1eyMMj02CqnN\nX+KXFD4Q2AXA4pMEWlIM2+4SjwKBgQDSY7MiHbX0AjkWDYqkslDSjn/RH2+AQP4Z\n4t8gmYn7hCVcNvoPeIte3j91MCZTf3y2t7RYsE22vcMwXvR54jGuHqX5CES9cwxe\nEzlUDp/ZWB9N4zOZl8vZtPul7GWKqsZebv61HzUnRKlBJL1qElpUwzUQcFMtzQTJ\nx6tdC7iIgwKBgQDHkaqZ5eqrVfR+jG2ij27WHdetRWrme8r2lOQiuOzQQee+JGOu\nculiHAzY911IS37nA2ejOTDFHcXS6vFyht6SsJmmIbm7AeX4ouDerYaAI2qTbd1Q\nCwTVWL95n17h4Pc4c5Zfl9LuIjTcWLg1y+/HzGf2uh5xLR7oyjztUKqUAQKBgHJj\n9PTatKCcSM+dw0EzFtC02/gnIGfabo5ClVDTSnuvaOTPm3yn7RdCvbwI1v3VNkje\nbzc9fLOcT7FQH5rZimuCjHlvrnhXQmUwDJ6QaQcya6rcmqSrLRIM3jpj4v3XRo33\nyZNPCYZ1RZV+1WID4ottq79pY0Bm1XCkmJ65jbbjAoGAbWDCvlvBARQ3yoh/Au8n\nMUeh4d15if8RD6bnJrpp8e807me/Y48s6DHGik6A3qm4VE7YKhymTo3EJ7nCX1Pt\nhU762z+v5hAZbdoqX1kw78/gVr/rU2HSFNGRMBS2MiX3FMWfuMd9E1/C+hT5AWzk\nZ9U46wuicmqEPuPDGNXaVOI=\n-----END PRIVATE KEY-----\n";
const KEY_1024: &str = "-----BEGIN PRIVATE KEY-----\nMIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAOpdYQhArvHWkV1V\nc9O/ZdjKgq5m43qp9W101O78kriIY32VqbjVQTE8mGiqEyMp6Ftk2Dau5ZIl2i7X\nSm8erpu7QnW4wEIWG2hN5NMz92k968ozJx2pe2/tBuA3ra6RgoL68dstbfG/451B\nWVuQifEhnvuw6KD35mjJhWjCbH/vAgMBAAECgYEA3fhZKY7R4x1dCnAfxuKVXLHY\n+cNbGleUqvmnnz463GnZCR3R5Myd9Ts2ApNqkrhjaQRnP8uAhV4yeoDP79S4e9jL\nGoe5GiuUDRhwBI78pgLT4YkwCi5rZYecHW2mt6evkx3UhzmtfY/i8w0e6+gH39HY\nkeiAcB/VPWhtluaXtbkCQQD7LNt3QACs8FBt39/LkA8RqbusHoP6YgvGTRN+q3CC\ntbQe6I4m7SqYMdJxseXHRLpIL06k9e4FgxioAQaWr9jFAkEA7t3baIXJYeJGmwki\nBEGirBIhenf0hR6c4ILJDqD6QbJ6sWzpNUDVa2OIoddns69EcbmI/M92Y3NDzPTY\nAoY5IwJBAKIl/zgotUbvjLyhvhPn2BKLBIDE4maNTRSjRWaMvoFjU/hwIPS4Prsp\nzrVfJvtRPwDCqX6M1S/xxcUPhHVa6BECQQCkQxT7D+Wo1n5PZzxpSOmhAuba3Vrd\noGupSMcStEjknOQa1xaYdHlPXCc9hG/f9QtQWZKGp/R193IMo+NX+Q2ZAkBnHg37\n7zzdncF26nVlbyV9PLit5b9BbeykdGIPn/NMh5ojzUR1k+1nQ7sF//21WBF3bsib\nc6dpXTu7Y3CjmqcJ\n-----END PRIVATE KEY-----\n";

/// The default tenant's two gateway keys (2048-bit, 1024-bit).
pub fn default_gateway_keys() -> Result<(GatewayKeyPair, GatewayKeyPair), CryptoError> {
    Ok((
        GatewayKeyPair::from_pkcs8_pem(KEY_2048)?,
        GatewayKeyPair::from_pkcs8_pem(KEY_1024)?,
    ))
}

/// Errors of the crypto module.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A key could not be parsed.
    #[error("invalid gateway key: {0}")]
    Key(String),
    /// Credentials could not be decrypted.
    #[error("credentials do not decrypt: {0}")]
    Decrypt(String),
}
