//! Test helpers: an in-process emulator, tokens, PBIX bytes.
#![allow(dead_code)]

use pbideploy_emulator::{EmulatorConfig, RunningEmulator, start};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use std::io::Write;

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
