//! Test helpers: an in-process emulator, tokens, PBIX bytes.
#![allow(dead_code)]

use pbideploy_emulator::{EmulatorConfig, RunningEmulator, start};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use std::io::Write;

use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use pbideploy_emulator::crypto::GatewayKeyPair;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{PrivateKey, PublicKey};

#[path = "../../../../tests/it/common/shared_data.rs"]
mod shared_rule;

/// `../shared/<rel>` beside the repository, or `None` after a visible SKIP notice; fails under
/// CI (the one rule: `tests/it/common/shared_data.rs`).
pub fn shared_data(rel: &str) -> Option<std::path::PathBuf> {
    shared_rule::beside(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        rel,
    )
}

/// The public half of a gateway key, as a client would rebuild it.
pub fn public_key(pair: &GatewayKeyPair) -> PublicKey {
    PrivateKey::from_pkcs8_pem(&pair.to_pkcs8_pem())
        .unwrap()
        .to_public_key()
}

pub async fn emulator(config: EmulatorConfig) -> (RunningEmulator, Client) {
    let emu = start(config).await.unwrap();
    (emu, Client::new())
}

pub async fn token(c: &Client, url: &str, client_id: &str) -> String {
    let r = c
        .post(format!("{url}/tenant1/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", "s3cret"),
            ("scope", "https://analysis.windows.net/powerbi/api/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

pub async fn body(r: Response) -> Value {
    let t = r.text().await.unwrap();
    if t.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&t).unwrap()
    }
}

pub async fn create_group(c: &Client, url: &str, tok: &str, name: &str) -> String {
    let r = c
        .post(format!("{url}/v1.0/myorg/groups?workspaceV2=True"))
        .bearer_auth(tok)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    body(r).await["id"].as_str().unwrap().to_string()
}

/// A minimal PBIX-like ZIP (a report part and an opaque model part).
pub fn pbix_bytes(tag: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts: zip::write::SimpleFileOptions = zip::write::SimpleFileOptions::default();
        z.start_file("Version", opts).unwrap();
        z.write_all(b"1.28").unwrap();
        z.start_file("Report/Layout", opts).unwrap();
        z.write_all(format!("{{\"id\":\"{tag}\"}}").as_bytes())
            .unwrap();
        z.start_file("DataModel", opts).unwrap();
        z.write_all(b"opaque model bytes").unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

pub async fn import(
    c: &Client,
    url: &str,
    tok: &str,
    gid: &str,
    name: &str,
    mode: &str,
    bytes: Vec<u8>,
) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    c.post(format!("{url}/v1.0/myorg/groups/{gid}/imports"))
        .query(&[("datasetDisplayName", name), ("nameConflict", mode)])
        .bearer_auth(tok)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Imports and waits for the import to finish; returns the import JSON.
pub async fn import_done(
    c: &Client,
    url: &str,
    tok: &str,
    gid: &str,
    name: &str,
    mode: &str,
    bytes: Vec<u8>,
) -> Value {
    let r = import(c, url, tok, gid, name, mode, bytes).await;
    assert_eq!(r.status(), 202);
    let id = body(r).await["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let v = body(
            c.get(format!("{url}/v1.0/myorg/groups/{gid}/imports/{id}"))
                .bearer_auth(tok)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if v["importState"] != "Publishing" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("import {id} did not finish");
}

// ---- test-side credential encryptor (reference: credential-encryption.md) ----

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).unwrap();
    buf
}

/// Legacy scheme (SDK `Asymmetric1024KeyEncryptionHelper`): 85-byte segments, OAEP-SHA1.
pub fn encrypt_legacy(key: &PublicKey, plaintext: &str) -> String {
    let mut out = Vec::new();
    for segment in plaintext.as_bytes().chunks(85) {
        out.extend(key.oaep_encrypt::<sha1::Sha1>(segment).unwrap());
    }
    STANDARD.encode(out)
}

/// Hybrid scheme (SDK `AsymmetricHigherKeyEncryptionHelper` + `AuthenticatedEncryption`).
pub fn encrypt_hybrid(key: &PublicKey, plaintext: &str) -> String {
    let enc_key: [u8; 32] = random();
    let mac_key: [u8; 64] = random();
    let iv: [u8; 16] = random();
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new_from_slices(&enc_key, &iv)
        .unwrap()
        .encrypt_padded_vec::<Pkcs7>(plaintext.as_bytes());
    let algorithms = [0u8, 0u8];
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&mac_key).unwrap();
    mac.update(&algorithms);
    mac.update(&iv);
    mac.update(&ciphertext);
    let tag = mac.finalize().into_bytes();
    let mut blob = algorithms.to_vec();
    blob.extend_from_slice(&tag);
    blob.extend_from_slice(&iv);
    blob.extend_from_slice(&ciphertext);
    let mut key_blob = vec![0u8, 1u8];
    key_blob.extend_from_slice(&enc_key);
    key_blob.extend_from_slice(&mac_key);
    let wrapped = key.oaep_encrypt::<sha2::Sha256>(&key_blob).unwrap();
    STANDARD.encode(wrapped) + &STANDARD.encode(blob)
}

pub fn encrypt(pair: &GatewayKeyPair, plaintext: &str) -> String {
    let key = public_key(pair);
    if pair.bits() == 1024 {
        encrypt_legacy(&key, plaintext)
    } else {
        encrypt_hybrid(&key, plaintext)
    }
}

// ---- hand-written PBIX files ----

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, bytes) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A hand-written PBIX with a `.pbit`-style DataModelSchema: an on-premises SQL source
/// through two M parameters, a cloud SQL source with literal values, and a Web source.
pub fn sales_pbix() -> Vec<u8> {
    let model = json!({
        "tables": [
            {"name": "Sales", "partitions": [{"name": "p", "mode": "import", "source": {"type": "m",
                "expression": "let Source = Sql.Database(Server, Database), t = Source{[Schema=\"dbo\",Item=\"Sales\"]}[Data] in t"}}]},
            {"name": "Archive", "partitions": [{"name": "a", "mode": "import", "source": {"type": "m",
                "expression": "let Source = Sql.Database(\"archive.database.windows.net\", \"Archive\") in Source"}}]},
            {"name": "Rates", "partitions": [{"name": "r", "source": {"type": "m",
                "expression": "let S = Web.Contents(\"https://rates.example.com/api\") in S"}}]}
        ],
        "expressions": [
            {"name": "Server", "kind": "m", "expression": "\"sqlprod01\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"},
            {"name": "Database", "kind": "m", "expression": "\"Sales\" meta [IsParameterQuery=true, List={\"Sales\", \"SalesArchive\"}, Type=\"Text\", IsParameterQueryRequired=true]"}
        ]
    });
    let schema = json!({"name": "sales", "compatibilityLevel": 1550, "model": model});
    zip(&[("DataModelSchema", utf16le(&schema.to_string()))])
}

/// A thin report whose `Connections` part names `dataset_id` (like fixture #1).
pub fn thin_pbix(dataset_id: &str) -> Vec<u8> {
    let conn = json!({"Version": 2, "Connections": [{"Name": "EntityDataSource",
        "ConnectionString": format!("Data Source=pbiazure://api.powerbi.com;Initial Catalog={dataset_id};Integrated Security=ClaimsToken"),
        "ConnectionType": "pbiServiceLive", "PbiModelDatabaseName": dataset_id}]});
    zip(&[
        ("Connections", conn.to_string().into_bytes()),
        ("Report/Layout", utf16le("{\"sections\":[]}")),
    ])
}
