//! The independent baseline for apply benchmarks: the script a user writes with a plain
//! Power BI client library, one request at a time, polling every 100 ms. It shares no code
//! with pbideploy (plain `reqwest` calls built from the documented endpoints), so an
//! inefficiency in pbideploy's client or executor cannot hide in the baseline too.
//!
//! Per workspace: look it up by name, create it when missing. Per dataset: import the PBIX
//! (`CreateOrOverwrite`), poll the import every 100 ms until it succeeded, take the dataset
//! over, read its parameters and set them, read its data sources and PATCH the credentials of
//! each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Emulator;

/// What the script does for each dataset besides importing it.
#[derive(Debug, Clone, Default)]
pub struct Work {
    /// Parameter values to set (empty: no take over, no parameters, no credentials).
    pub parameters: Vec<(String, String)>,
    /// Basic credentials (user name, password) for every data source of the dataset.
    pub basic: Option<(String, String)>,
}

/// The script's targets: workspaces, each with its dataset names, all from one PBIX.
pub struct Target {
    pub workspaces: Vec<(String, Vec<String>)>,
    pub pbix: PathBuf,
    pub work: Work,
}

struct Script<'a> {
    http: &'a reqwest::Client,
    api: String,
    token: String,
    pbix: Vec<u8>,
}

/// Runs the script against the emulator; returns its wall time, or the first failure.
pub fn run(emu: &Emulator, target: &Target) -> Result<Duration, String> {
    let pbix = std::fs::read(&target.pbix)
        .map_err(|e| format!("cannot read {}: {e}", target.pbix.display()))?;
    let token = emu.token();
    let script = Script {
        http: emu.http(),
        api: format!("{}/v1.0/myorg", emu.url),
        token,
        pbix,
    };
    let start = Instant::now();
    emu.block_on(async {
        for (ws, datasets) in &target.workspaces {
            let group = script.workspace(ws).await?;
            for name in datasets {
                script.dataset(&group, name, &target.work).await?;
            }
        }
        Ok::<(), String>(())
    })?;
    Ok(start.elapsed())
}

impl Script<'_> {
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("{what}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{what}: {status} {text}"));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{what}: {e}"))
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let url = format!("{}/{path}", self.api);
        self.send(self.http.get(url), path).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let url = format!("{}/{path}", self.api);
        self.send(self.http.post(url).json(body), path).await
    }

    async fn workspace(&self, name: &str) -> Result<String, String> {
        let url = format!("{}/groups", self.api);
        let filter = format!("name eq '{}'", name.replace('\'', "''"));
        let found = self
            .send(self.http.get(url).query(&[("$filter", filter)]), "groups")
            .await?;
        if let Some(id) = found["value"][0]["id"].as_str() {
            return Ok(id.to_string());
        }
        let url = format!("{}/groups?workspaceV2=True", self.api);
        let made = self
            .send(self.http.post(url).json(&json!({ "name": name })), "create")
            .await?;
        id_of(&made, "the created workspace")
    }

    async fn dataset(&self, group: &str, name: &str, work: &Work) -> Result<(), String> {
        let id = self.import(group, name).await?;
        if work.parameters.is_empty() && work.basic.is_none() {
            return Ok(());
        }
        let ds = format!("groups/{group}/datasets/{id}");
        self.post(&format!("{ds}/Default.TakeOver"), &Value::Null)
            .await?;
        if !work.parameters.is_empty() {
            self.get(&format!("{ds}/parameters")).await?;
            let details: Vec<Value> = work
                .parameters
                .iter()
                .map(|(n, v)| json!({ "name": n, "newValue": v }))
                .collect();
            let body = json!({ "updateDetails": details });
            self.post(&format!("{ds}/Default.UpdateParameters"), &body)
                .await?;
        }
        if let Some((user, password)) = &work.basic {
            let sources = self.get(&format!("{ds}/datasources")).await?;
            for s in sources["value"].as_array().into_iter().flatten() {
                let (Some(gw), Some(sid)) = (s["gatewayId"].as_str(), s["datasourceId"].as_str())
                else {
                    return Err(format!("data source without ids in {name}: {s}"));
                };
                self.patch_basic(gw, sid, user, password).await?;
            }
        }
        Ok(())
    }

    /// Multipart import, then a poll every 100 ms; returns the dataset id.
    async fn import(&self, group: &str, name: &str) -> Result<String, String> {
        let part = reqwest::multipart::Part::bytes(self.pbix.clone())
            .file_name(format!("{name}.pbix"))
            .mime_str("application/octet-stream")
            .map_err(|e| e.to_string())?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let url = format!("{}/groups/{group}/imports", self.api);
        let query = [
            ("datasetDisplayName", format!("{name}.pbix")),
            ("nameConflict", "CreateOrOverwrite".to_string()),
        ];
        let req = self.http.post(url).query(&query).multipart(form);
        let created = self.send(req, "import").await?;
        let import = id_of(&created, "the import")?;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let state = self
                .get(&format!("groups/{group}/imports/{import}"))
                .await?;
            match state["importState"].as_str() {
                Some("Succeeded") => {
                    return id_of(&state["datasets"][0], "the imported dataset");
                }
                Some("Publishing") => {}
                other => return Err(format!("import of {name} ended {other:?}: {state}")),
            }
        }
    }

    async fn patch_basic(&self, gw: &str, id: &str, user: &str, pw: &str) -> Result<(), String> {
        let credentials = json!({ "credentialData": [
            { "name": "username", "value": user },
            { "name": "password", "value": pw },
        ]});
        let body = json!({ "credentialDetails": {
            "credentialType": "Basic",
            "credentials": credentials.to_string(),
            "encryptedConnection": "Encrypted",
            "encryptionAlgorithm": "None",
            "privacyLevel": "None",
        }});
        let url = format!("{}/gateways/{gw}/datasources/{id}", self.api);
        self.send(self.http.patch(url).json(&body), "credentials")
            .await
            .map(drop)
    }
}

fn id_of(v: &Value, what: &str) -> Result<String, String> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} has no id: {v}"))
}

/// The PBIX every generated dataset imports, inside a bench work directory.
pub fn pbix_in(dir: &Path) -> PathBuf {
    dir.join("pbix/inventory-dq.pbix")
}
