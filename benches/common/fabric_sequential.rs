//! The independent baseline for the PBIP benchmark: the script a user writes against the
//! documented Fabric items API, one item at a time. It shares no code with pbideploy (plain
//! `reqwest` calls; its own base64 parts and `definition.pbir` rewrite), so an inefficiency
//! in pbideploy's client or executor cannot hide in the baseline too.
//!
//! Per workspace: look it up by name (Power BI Groups API), create it when missing. Per model:
//! `POST /v1/workspaces/{id}/items` with the folder's files as parts, then follow the
//! operation as documented (sleep `Retry-After`, `GET Location` until `Succeeded`, then
//! `GET …/result` for the item). Per report, after all models of its workspace: the same,
//! with `definition.pbir` bound `byConnection` to its model's id.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::Emulator;

/// The script's targets: per workspace, (model name, report name) pairs, all from the same
/// two folders.
pub struct Target {
    pub workspaces: Vec<(String, Vec<(String, String)>)>,
    pub model_dir: PathBuf,
    pub report_dir: PathBuf,
}

struct Script<'a> {
    http: &'a reqwest::Client,
    base: String,
    token: String,
    model: Vec<Value>,
    report: Vec<(String, Vec<u8>)>,
}

/// Runs the script against the emulator; returns its wall time, or the first failure.
pub fn run(emu: &Emulator, target: &Target) -> Result<Duration, String> {
    let model = files(&target.model_dir)?
        .into_iter()
        .map(|(path, bytes)| part(&path, &bytes))
        .collect();
    let script = Script {
        http: emu.http(),
        base: emu.url.clone(),
        token: emu.token(),
        model,
        report: files(&target.report_dir)?,
    };
    let start = Instant::now();
    emu.block_on(async {
        for (ws, items) in &target.workspaces {
            let group = script.workspace(ws).await?;
            let mut models = Vec::new();
            for (model, _) in items {
                let parts = script.model.clone();
                models.push(script.create(&group, model, "SemanticModel", parts).await?);
            }
            for ((_, report), model_id) in items.iter().zip(&models) {
                let parts = script.report_parts(model_id)?;
                script.create(&group, report, "Report", parts).await?;
            }
        }
        Ok::<(), String>(())
    })?;
    Ok(start.elapsed())
}

/// Every file under `dir` (paths relative, `/`-separated), as the user's script reads them.
fn files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(dir).map_err(|e| e.to_string())?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push((rel, bytes));
        }
    }
    Ok(out)
}

fn part(path: &str, bytes: &[u8]) -> Value {
    json!({
        "path": path,
        "payload": base64::engine::general_purpose::STANDARD.encode(bytes),
        "payloadType": "InlineBase64",
    })
}

impl Script<'_> {
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, String> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(format!("{what}: {status} {text}"));
        }
        Ok(resp)
    }

    async fn json(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let text = self
            .send(req, what)
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{what}: {e}"))
    }

    async fn workspace(&self, name: &str) -> Result<String, String> {
        let url = format!("{}/v1.0/myorg/groups", self.base);
        let filter = format!("name eq '{}'", name.replace('\'', "''"));
        let found = self
            .json(self.http.get(url).query(&[("$filter", filter)]), "groups")
            .await?;
        if let Some(id) = found["value"][0]["id"].as_str() {
            return Ok(id.to_string());
        }
        let url = format!("{}/v1.0/myorg/groups?workspaceV2=True", self.base);
        let made = self
            .json(
                self.http.post(url).json(&json!({ "name": name })),
                "create workspace",
            )
            .await?;
        id_of(&made)
    }

    /// The report's files with `definition.pbir` bound to `model_id`.
    fn report_parts(&self, model_id: &str) -> Result<Vec<Value>, String> {
        let pbir = json!({
            "version": "4.0",
            "datasetReference": {
                "byConnection": { "connectionString": format!("semanticmodelid={model_id}") }
            }
        });
        let pbir = serde_json::to_vec(&pbir).map_err(|e| e.to_string())?;
        Ok(self
            .report
            .iter()
            .map(|(path, bytes)| match path.as_str() {
                "definition.pbir" => part(path, &pbir),
                _ => part(path, bytes),
            })
            .collect())
    }

    /// Creates an item and follows its operation to the end; returns the item id.
    async fn create(
        &self,
        ws: &str,
        name: &str,
        kind: &str,
        parts: Vec<Value>,
    ) -> Result<String, String> {
        let url = format!("{}/v1/workspaces/{ws}/items", self.base);
        let body = json!({ "displayName": name, "type": kind, "definition": { "parts": parts } });
        let resp = self
            .send(self.http.post(url).json(&body), "create item")
            .await?;
        if resp.status() != reqwest::StatusCode::ACCEPTED {
            let item: Value = resp.json().await.map_err(|e| e.to_string())?;
            return id_of(&item);
        }
        let mut location = header(&resp, "Location")?;
        let mut wait = retry_after(&resp);
        loop {
            tokio::time::sleep(wait).await;
            let resp = self.send(self.http.get(&location), "operation").await?;
            wait = retry_after(&resp);
            let next = header(&resp, "Location").ok();
            let state: Value = resp.json().await.map_err(|e| e.to_string())?;
            match state["status"].as_str() {
                Some("Succeeded") => {
                    let result = next.unwrap_or_else(|| format!("{location}/result"));
                    let item = self.json(self.http.get(result), "operation result").await?;
                    return id_of(&item);
                }
                Some("NotStarted" | "Running") => {
                    if let Some(next) = next {
                        location = next;
                    }
                }
                other => return Err(format!("creating {name} ended {other:?}: {state}")),
            }
        }
    }
}

fn header(resp: &reqwest::Response, name: &str) -> Result<String, String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("no {name} header"))
}

/// The documented wait before the next poll (`Retry-After`, seconds; 1 s when absent).
fn retry_after(resp: &reqwest::Response) -> Duration {
    let secs = resp
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(secs)
}

fn id_of(v: &Value) -> Result<String, String> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no id in {v}"))
}
