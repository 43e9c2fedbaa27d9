//! The reference-only client and the request bodies it sends.

use crate::full_flow::common::{body, encrypt};
use pbideploy_emulator::RunningEmulator;
use pbideploy_emulator::crypto::GatewayKeyPair;
use reqwest::{Client, Response};
use serde_json::{Value, json};

pub const LOCAL_GW: &str = "1f69e798-5852-4fdd-ab01-33bb14b6e934";
pub const LEGACY_GW: &str = "7f1c4e55-544b-403f-b132-da0d3a024674";

/// A reference-only client: base URL, bearer token, workspace.
pub struct Pbi {
    pub c: Client,
    pub url: String,
    pub tok: String,
    pub gid: String,
}

impl Pbi {
    pub fn api(&self, path: &str) -> String {
        format!("{}/v1.0/myorg/{path}", self.url)
    }
    pub fn g(&self, path: &str) -> String {
        self.api(&format!("groups/{}/{path}", self.gid))
    }
    pub async fn get(&self, url: String) -> Value {
        let r = self.c.get(url).bearer_auth(&self.tok).send().await.unwrap();
        assert_eq!(r.status(), 200);
        body(r).await
    }
    pub async fn post(&self, url: String, b: Value) -> Response {
        self.c
            .post(url)
            .bearer_auth(&self.tok)
            .json(&b)
            .send()
            .await
            .unwrap()
    }
    pub async fn patch(&self, url: String, b: Value) -> Response {
        self.c
            .patch(url)
            .bearer_auth(&self.tok)
            .json(&b)
            .send()
            .await
            .unwrap()
    }
    /// Post Import In Group (2.1) then poll Get Import (2.2) until it leaves `Publishing`.
    pub async fn import(&self, display: &str, bytes: Vec<u8>) -> Result<Value, (u16, Value)> {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(display.to_string());
        let r = self
            .c
            .post(self.g("imports"))
            .query(&[
                ("datasetDisplayName", display),
                ("nameConflict", "CreateOrOverwrite"),
            ])
            .bearer_auth(&self.tok)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v = body(r).await;
        if status != 202 {
            return Err((status, v));
        }
        let id = v["id"].as_str().unwrap().to_string();
        for _ in 0..500 {
            let v = self.get(self.g(&format!("imports/{id}"))).await;
            if v["importState"] != "Publishing" {
                assert_eq!(v["importState"], "Succeeded", "{display}: {v}");
                return Ok(v);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("import of {display} never finished");
    }
    pub async fn datasources(&self, did: &str) -> Vec<Value> {
        let v = self
            .get(self.g(&format!("datasets/{did}/datasources")))
            .await;
        v["value"].as_array().unwrap().clone()
    }
    pub async fn parameters(&self, did: &str) -> Vec<Value> {
        let v = self
            .get(self.g(&format!("datasets/{did}/parameters")))
            .await;
        v["value"].as_array().unwrap().clone()
    }
}

pub fn details(v: &Value) -> (String, Value) {
    (
        v["datasourceType"].as_str().unwrap().to_string(),
        v["connectionDetails"].clone(),
    )
}

pub fn basic(user: &str) -> String {
    json!({"credentialData": [{"name": "username", "value": user}, {"name": "password", "value": "p@ss"}]})
        .to_string()
}

pub fn cred(ctype: &str, credentials: Value, alg: &str) -> Value {
    json!({"credentialDetails": {"credentialType": ctype, "credentials": credentials,
        "encryptedConnection": "Encrypted", "encryptionAlgorithm": alg, "privacyLevel": "Organizational"}})
}

pub async fn gateway_key(p: &Pbi, emu: &RunningEmulator, gw: &str, bits: u64) -> GatewayKeyPair {
    // documented: 5.1 — Get Gateway carries the public key; the private half is in the state.
    let g = p.get(p.api(&format!("gateways/{gw}"))).await;
    let pem = emu.snapshot()["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == gw)
        .unwrap()["privateKeyPem"]
        .as_str()
        .unwrap()
        .to_string();
    let pair = GatewayKeyPair::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(pair.bits() as u64, bits);
    assert_eq!(g["publicKey"]["modulus"], pair.modulus_base64());
    assert_eq!(g["publicKey"]["exponent"], pair.exponent_base64());
    pair
}

/// Create Datasource (5.5) with credentials encrypted client-side; returns its id.
pub async fn create_gateway_source(
    p: &Pbi,
    key: &GatewayKeyPair,
    gw: &str,
    kind: &str,
    conn: Value,
) -> String {
    let b = json!({"dataSourceType": kind, "connectionDetails": conn.to_string(),
        "datasourceName": format!("{kind} on {gw}"),
        "credentialDetails": {"credentialType": "Windows", "credentials": encrypt(key, &basic("CORP\\svc")),
            "encryptedConnection": "Encrypted", "encryptionAlgorithm": "RSA-OAEP", "privacyLevel": "None"}});
    let r = p
        .post(p.api(&format!("gateways/{gw}/datasources")), b)
        .await;
    assert_eq!(r.status(), 201);
    let v = body(r).await;
    assert_eq!(v["gatewayId"], gw);
    v["id"].as_str().unwrap().to_string()
}

pub async fn pbi_error(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    body(r).await
}
