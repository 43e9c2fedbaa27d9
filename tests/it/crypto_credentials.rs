//! Gateway credential encryption: the shared vectors decrypt with a test-side decryptor, and
//! fresh encryptions round-trip through it for 1024, 2048 and 4096-bit keys.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use pbideploy::powerbi::credentials::Credential;
use pbideploy::powerbi::crypto::{CryptoError, encrypt_credentials};
use pbideploy::powerbi::types::{
    CredentialDetails, EncryptedConnection, GatewayPublicKey, PrivacyLevel, UpdateDatasourceRequest,
};
use rsa::PrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use secrecy::SecretString;
use sha1::Sha1;
use sha2::Sha256;

use crate::common;

/// Why the test decryptor refused a ciphertext.
#[derive(Debug, PartialEq)]
enum Refused {
    Mac,
    Padding,
}

fn decrypt(key: &PrivateKey, credentials: &str) -> String {
    try_decrypt(key, credentials).unwrap()
}

/// Strict decryptor written from the spec (what the gateway does), independent of the encryptor.
fn try_decrypt(key: &PrivateKey, credentials: &str) -> Result<String, Refused> {
    let k = key.size();
    let bytes = if k == 128 {
        let ct = STANDARD.decode(credentials).unwrap();
        assert_eq!(
            ct.len() % 128,
            0,
            "legacy ciphertext is whole 128-byte blocks"
        );
        let mut out = Vec::new();
        for block in ct.chunks(128) {
            out.extend(key.oaep_decrypt::<Sha1>(block).unwrap());
        }
        out
    } else {
        let split = 4 * k.div_ceil(3);
        let wrapped = STANDARD.decode(&credentials[..split]).unwrap();
        let blob = STANDARD.decode(&credentials[split..]).unwrap();
        let keys = key.oaep_decrypt::<Sha256>(&wrapped).unwrap();
        assert_eq!(keys.len(), 98);
        assert_eq!(&keys[..2], &[0, 1]);
        let (aes_key, mac_key) = (&keys[2..34], &keys[34..98]);
        assert_eq!(&blob[..2], &[0, 0], "algorithm bytes");
        let (tag, iv, ct) = (&blob[2..34], &blob[34..50], &blob[50..]);
        assert!(!ct.is_empty() && ct.len() % 16 == 0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(mac_key).unwrap();
        mac.update(&blob[..2]);
        mac.update(iv);
        mac.update(ct);
        mac.verify_slice(tag).map_err(|_| Refused::Mac)?;
        cbc::Decryptor::<Aes256>::new_from_slices(aes_key, iv)
            .unwrap()
            .decrypt_padded_vec::<Pkcs7>(ct)
            .map_err(|_| Refused::Padding)?
    };
    Ok(String::from_utf8(bytes).unwrap())
}

struct VectorKey {
    bits: u64,
    private: PrivateKey,
    modulus: String,
    exponent: String,
    cases: Vec<(String, String)>,
}

fn load_vectors() -> Option<Vec<VectorKey>> {
    let path = common::shared_data("vectors/credential-encryption.json")?;
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = doc["keys"].as_array().unwrap();
    Some(
        keys.iter()
            .map(|k| VectorKey {
                bits: k["bits"].as_u64().unwrap(),
                private: PrivateKey::from_pkcs8_pem(k["privateKeyPkcs8Pem"].as_str().unwrap())
                    .unwrap(),
                modulus: k["publicKey"]["modulus"].as_str().unwrap().to_owned(),
                exponent: k["publicKey"]["exponent"].as_str().unwrap().to_owned(),
                cases: k["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        (
                            c["plaintext"].as_str().unwrap().to_owned(),
                            c["ciphertext"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect(),
            })
            .collect(),
    )
}

fn tricky_plaintexts() -> Vec<String> {
    let mut v = Vec::new();
    for password in [
        "p\"q\\r'ü€😀".to_owned(),
        "x".repeat(84),
        "y".repeat(85),
        "z".repeat(200),
        "é".repeat(100),
    ] {
        let c = Credential::Basic {
            username: r"DOMAIN\svc".into(),
            password: SecretString::from(password),
        };
        v.push(c.to_json().to_string());
    }
    v.push("a".into());
    v.push("b".repeat(85));
    v.push("c".repeat(170));
    v.push("d".repeat(16));
    v
}

#[test]
fn every_vector_decrypts_with_the_test_decryptor() {
    let Some(keys) = load_vectors() else { return };
    let mut checked = 0;
    for key in &keys {
        assert_eq!(key.private.size() * 8, usize::try_from(key.bits).unwrap());
        for (plaintext, ciphertext) in &key.cases {
            assert_eq!(&decrypt(&key.private, ciphertext), plaintext);
            checked += 1;
        }
    }
    assert!(checked >= 3, "vectors file had only {checked} cases");
}

#[test]
fn fresh_encryptions_round_trip_for_1024_2048_4096() {
    let Some(keys) = load_vectors() else { return };
    let bits: Vec<u64> = keys.iter().map(|k| k.bits).collect();
    for wanted in [1024, 2048, 4096] {
        assert!(bits.contains(&wanted), "no {wanted}-bit key in vectors");
    }
    for key in &keys {
        for plaintext in tricky_plaintexts() {
            let a = encrypt_credentials(&plaintext, &key.modulus, &key.exponent).unwrap();
            let b = encrypt_credentials(&plaintext, &key.modulus, &key.exponent).unwrap();
            assert_ne!(a, b, "ciphertexts are randomised");
            assert_eq!(decrypt(&key.private, &a), plaintext, "{}-bit", key.bits);
            // Also the vectors' own plaintexts.
            for (p, _) in &key.cases {
                let c = encrypt_credentials(p, &key.modulus, &key.exponent).unwrap();
                assert_eq!(&decrypt(&key.private, &c), p);
            }
        }
    }
}

#[test]
fn fresh_keys_round_trip_including_3072() {
    // Independent of the shared vectors: generate keys here (1024 and 3072; 3072 has an
    // unpadded base64 key part, the other interesting split).
    let mut rng = getrandom::SysRng;
    for bits in [1024usize, 3072] {
        let private = PrivateKey::new(&mut rng, bits).unwrap();
        let public = private.to_public_key();
        let modulus = STANDARD.encode(public.n_bytes());
        let exponent = STANDARD.encode(public.e_bytes());
        for plaintext in tricky_plaintexts() {
            let c = encrypt_credentials(&plaintext, &modulus, &exponent).unwrap();
            assert_eq!(decrypt(&private, &c), plaintext, "{bits}-bit");
        }
    }
}

#[test]
fn legacy_ciphertext_is_whole_blocks_and_hybrid_has_the_documented_layout() {
    let Some(keys) = load_vectors() else { return };
    let basic = r#"{"credentialData":[{"name":"username","value":"user"},{"name":"password","value":"pass"}]}"#;
    assert_eq!(basic.len(), 90);
    for key in &keys {
        let c = encrypt_credentials(basic, &key.modulus, &key.exponent).unwrap();
        match key.bits {
            1024 => {
                let raw = STANDARD.decode(&c).unwrap();
                assert_eq!(raw.len(), 256, "90 bytes = 2 segments of 128 bytes");
                let long = encrypt_credentials(&"x".repeat(171), &key.modulus, &key.exponent);
                assert_eq!(STANDARD.decode(long.unwrap()).unwrap().len(), 3 * 128);
            }
            2048 => {
                assert_eq!(c.len(), 540, "the Java sample and the oracle give 540");
                assert_eq!(&c[342..344], "==", "wrapped-key base64 ends in == at 344");
                let blob = STANDARD.decode(&c[344..]).unwrap();
                assert_eq!(blob.len(), 50 + 96);
                assert_eq!(&blob[..2], &[0, 0]);
            }
            4096 => {
                assert_eq!(&c[683..684], "=");
                let blob = STANDARD.decode(&c[684..]).unwrap();
                assert_eq!(blob.len(), 50 + 96);
                assert_eq!(c.len(), 880);
            }
            _ => {}
        }
    }
}

#[test]
fn tampering_is_detected_by_the_decryptor() {
    let Some(keys) = load_vectors() else { return };
    let key = keys.iter().find(|k| k.bits == 2048).unwrap();
    let c = encrypt_credentials("secret", &key.modulus, &key.exponent).unwrap();
    assert_eq!(try_decrypt(&key.private, &c), Ok("secret".to_owned()));
    // The blob is algorithm (2 bytes), HMAC tag (32), IV (16), ciphertext. A flipped byte of
    // the tag, the IV or the last ciphertext block must fail the HMAC check itself (the last
    // byte would otherwise usually fail the padding).
    let blob = STANDARD.decode(&c[344..]).unwrap();
    for (what, at) in [("tag", 2), ("IV", 34), ("last ciphertext", blob.len() - 1)] {
        let mut tampered_blob = blob.clone();
        tampered_blob[at] ^= 1;
        let tampered = format!("{}{}", &c[..344], STANDARD.encode(&tampered_blob));
        assert_eq!(
            try_decrypt(&key.private, &tampered),
            Err(Refused::Mac),
            "a flipped {what} byte must fail the HMAC"
        );
    }
}

#[test]
fn gateway_credential_details_encrypt_and_say_rsa_oaep() {
    let Some(keys) = load_vectors() else { return };
    let key = keys.iter().find(|k| k.bits == 2048).unwrap();
    let gateway_key = GatewayPublicKey {
        modulus: key.modulus.clone(),
        exponent: key.exponent.clone(),
    };
    let cred = Credential::Windows {
        username: r"CONTOSO\svc".into(),
        password: SecretString::from("pä\"ss".to_owned()),
    };
    let details = CredentialDetails::gateway(
        cred.credential_type(),
        &cred.to_json(),
        &gateway_key,
        EncryptedConnection::Encrypted,
        PrivacyLevel::None,
    )
    .unwrap();
    let shown = format!("{details:?}");
    let v = serde_json::to_value(UpdateDatasourceRequest {
        credential_details: details,
    })
    .unwrap();
    let d = &v["credentialDetails"];
    assert_eq!(d["encryptionAlgorithm"], "RSA-OAEP");
    assert_eq!(d["credentialType"], "Windows");
    assert_eq!(d["encryptedConnection"], "Encrypted");
    let plain = decrypt(&key.private, d["credentials"].as_str().unwrap());
    assert_eq!(plain, cred.to_json().as_str());
    assert!(!shown.contains("pä"), "{shown}");
}

#[test]
fn unusable_keys_give_errors_not_panics() {
    let short = STANDARD.encode([0xffu8; 64]);
    let err = encrypt_credentials("{}", &short, "AQAB").unwrap_err();
    assert!(matches!(err, CryptoError::InvalidKey(_)), "{err}");
    let huge = STANDARD.encode(vec![0xffu8; 4096]);
    let err = encrypt_credentials("{}", &huge, "AQAB").unwrap_err();
    assert!(matches!(err, CryptoError::InvalidKey(_)), "{err}");
}
