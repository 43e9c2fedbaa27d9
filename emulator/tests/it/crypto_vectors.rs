//! Gateway credential decryption: the shared vectors, tamper rejection, the embedded
//! default keys, and round trips through a test-side encryptor for both schemes.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{encrypt, public_key, shared_data};
use pbideploy_emulator::crypto::{
    CryptoError, GatewayKeyPair, default_gateway_keys, parse_credential_data,
};

fn plaintexts() -> Vec<String> {
    vec![
        r#"{"credentialData":[{"name":"username","value":"user"},{"name":"password","value":"pass"}]}"#.to_string(),
        r#"{"credentialData":[]}"#.to_string(),
        format!(
            r#"{{"credentialData":[{{"name":"accessToken","value":"{}"}}]}}"#,
            "é€".repeat(300)
        ),
        "x".repeat(85),
        "y".repeat(170),
        "z".repeat(16),
        "q".repeat(15),
    ]
}

#[test]
fn every_shared_vector_decrypts_to_its_plaintext() {
    let Some(vectors) = shared_data("vectors/credential-encryption.json") else {
        return;
    };
    let text = std::fs::read_to_string(vectors).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for key in doc["keys"].as_array().unwrap() {
        let pair =
            GatewayKeyPair::from_pkcs8_pem(key["privateKeyPkcs8Pem"].as_str().unwrap()).unwrap();
        assert_eq!(pair.bits() as u64, key["bits"].as_u64().unwrap());
        assert_eq!(
            pair.modulus_base64(),
            key["publicKey"]["modulus"].as_str().unwrap()
        );
        assert_eq!(
            pair.exponent_base64(),
            key["publicKey"]["exponent"].as_str().unwrap()
        );
        for case in key["cases"].as_array().unwrap() {
            let plain = pair
                .decrypt_credentials(case["ciphertext"].as_str().unwrap())
                .unwrap_or_else(|e| panic!("{} bit vector failed: {e}", pair.bits()));
            assert_eq!(plain, case["plaintext"].as_str().unwrap());
            checked += 1;
        }
    }
    assert!(
        checked >= 15,
        "expected at least 15 vectors, checked {checked}"
    );
}

#[test]
fn default_keys_load_with_expected_sizes_and_round_trip() {
    let (local, legacy) = default_gateway_keys().unwrap();
    assert_eq!(local.bits(), 2048);
    assert_eq!(legacy.bits(), 1024);
    assert_eq!(local.exponent_base64(), "AQAB");
    assert_eq!(STANDARD.decode(local.modulus_base64()).unwrap().len(), 256);
    assert_eq!(STANDARD.decode(legacy.modulus_base64()).unwrap().len(), 128);
    assert!(
        local
            .to_pkcs8_pem()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let reloaded = GatewayKeyPair::from_pkcs8_pem(&local.to_pkcs8_pem()).unwrap();
    assert_eq!(reloaded.modulus_base64(), local.modulus_base64());
    let debug = format!("{local:?}");
    assert!(debug.contains("redacted") && !debug.contains("PRIVATE"));
    for pair in [&local, &legacy] {
        for plain in plaintexts() {
            let encrypted = encrypt(pair, &plain);
            assert_eq!(pair.decrypt_credentials(&encrypted).unwrap(), plain);
        }
    }
}

#[test]
fn hybrid_ciphertext_for_2048_has_documented_shape() {
    let (local, _) = default_gateway_keys().unwrap();
    let plain = r#"{"credentialData":[{"name":"username","value":"user"},{"name":"password","value":"pass"}]}"#;
    let encrypted = encrypt(&local, plain);
    assert_eq!(encrypted.len(), 540);
    assert_eq!(&encrypted[342..344], "==");
}

fn flip_decoded(b64: &str, index: usize) -> String {
    let mut bytes = STANDARD.decode(b64).unwrap();
    bytes[index] ^= 0x01;
    STANDARD.encode(bytes)
}

#[test]
fn tampered_hybrid_ciphertexts_are_rejected() {
    let (local, _) = default_gateway_keys().unwrap();
    let encrypted = encrypt(&local, r#"{"credentialData":[{"name":"key","value":"k"}]}"#);
    let (wrapped, blob) = encrypted.split_at(344);
    // wrapped key, algorithm bytes, tag, IV, ciphertext
    let cases = [
        (flip_decoded(wrapped, 100) + blob, "wrapped key"),
        (wrapped.to_string() + &flip_decoded(blob, 1), "mac byte"),
        (wrapped.to_string() + &flip_decoded(blob, 5), "tag"),
        (wrapped.to_string() + &flip_decoded(blob, 40), "iv"),
        (wrapped.to_string() + &flip_decoded(blob, 60), "ciphertext"),
    ];
    for (bad, what) in cases {
        let err = local.decrypt_credentials(&bad).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::Oaep { .. }
                    | CryptoError::HmacMismatch
                    | CryptoError::UnsupportedAlgorithm { .. }
            ),
            "{what}: {err}"
        );
    }
    let err = local
        .decrypt_credentials(&(wrapped.to_string() + &flip_decoded(blob, 60)))
        .unwrap_err();
    assert!(matches!(err, CryptoError::HmacMismatch), "{err}");
    assert!(
        local
            .decrypt_credentials(&encrypted[..encrypted.len() - 4])
            .is_err()
    );
    assert!(local.decrypt_credentials(&encrypted[..344]).is_err());
    assert!(local.decrypt_credentials(&encrypted[..300]).is_err());
    assert!(matches!(
        local.decrypt_credentials(&format!("{wrapped}!!!{blob}")),
        Err(CryptoError::NotBase64 { .. })
    ));
    assert!(matches!(
        local.decrypt_credentials(""),
        Err(CryptoError::Empty)
    ));
    // A legacy ciphertext sent to a 2048-bit gateway does not decrypt.
    let (_, legacy) = default_gateway_keys().unwrap();
    assert!(local.decrypt_credentials(&encrypt(&legacy, "abc")).is_err());
}

#[test]
fn tampered_legacy_ciphertexts_are_rejected() {
    let (_, legacy) = default_gateway_keys().unwrap();
    let encrypted = encrypt(&legacy, &"p".repeat(100));
    assert!(matches!(
        legacy.decrypt_credentials(&flip_decoded(&encrypted, 200)),
        Err(CryptoError::Oaep { .. })
    ));
    let bytes = STANDARD.decode(&encrypted).unwrap();
    let truncated = STANDARD.encode(&bytes[..bytes.len() - 1]);
    assert!(matches!(
        legacy.decrypt_credentials(&truncated),
        Err(CryptoError::WrongLength { .. })
    ));
    assert!(matches!(
        legacy.decrypt_credentials("not base64 at all!"),
        Err(CryptoError::NotBase64 { .. })
    ));
    // A hybrid ciphertext sent to the 1024-bit gateway does not decrypt.
    let (local, _) = default_gateway_keys().unwrap();
    assert!(legacy.decrypt_credentials(&encrypt(&local, "abc")).is_err());
    // A block encrypted with the wrong OAEP hash (the Python sample's SHA-256) is rejected.
    let sha256_block = public_key(&legacy)
        .oaep_encrypt::<sha2::Sha256>(b"abc")
        .unwrap();
    assert!(matches!(
        legacy.decrypt_credentials(&STANDARD.encode(sha256_block)),
        Err(CryptoError::Oaep { .. })
    ));
}

#[test]
fn bad_pem_is_rejected_with_a_clear_error() {
    let err = GatewayKeyPair::from_pkcs8_pem("not a key").unwrap_err();
    assert!(err.to_string().contains("PKCS#8"), "{err}");
}

#[test]
fn credential_json_parses_and_bad_json_is_rejected_without_echoing_values() {
    let pairs = parse_credential_data(
        r#"{"credentialData":[{"name":"username","value":"u"},{"name":"password","value":"s3cr3t"}]}"#,
    )
    .unwrap();
    assert_eq!(pairs[1], ("password".to_string(), "s3cr3t".to_string()));
    assert!(
        parse_credential_data(r#"{"credentialData":[]}"#)
            .unwrap()
            .is_empty()
    );
    assert!(
        parse_credential_data(r#"{"credentialData":""}"#)
            .unwrap()
            .is_empty()
    );
    for bad in [
        "{'credentialData':[{'name':'password','value':'s3cr3t'}]}",
        r#"{"credentialData":[{"name":"password"}]}"#,
        r#"{"credentialData":"s3cr3t"}"#,
        r#"{"other":1}"#,
    ] {
        let err = parse_credential_data(bad).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
