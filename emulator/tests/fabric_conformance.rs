//! The Fabric `/v1` API against the recording `shared/reference/fabric/http_trace.json.gz`
//! (real Fabric answering fabric-cicd): the recorded requests of every operation the
//! emulator serves are replayed in order (ids mapped to the emulator's), and each answer must
//! match one recorded answer of the same operation: status, the API headers (`RequestId`,
//! `Location`, `Retry-After`, `x-ms-operation-id`) and the body's keys and value types.
//! updateDefinition, getDefinition and DELETE are not in the recording; `fabric_items.rs`
//! checks them against the reference notes.
mod common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Headers whose presence is part of the API contract (others are transport: caching, HSTS…).
const API_HEADERS: &[&str] = &["requestid", "location", "retry-after", "x-ms-operation-id"];

/// Recorded keys the emulator does not model (sensitivity labels, folders, item properties).
const UNMODELLED_KEYS: &[&str] = &["sensitivityLabel", "folderId", "properties"];

/// One recorded answer, reduced to what is compared.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    headers: BTreeSet<String>,
    body: Value,
}

/// The operation a request is, for the ones the emulator serves.
fn operation(method: &str, url: &str) -> Option<&'static str> {
    let path = url.split('?').next()?;
    let path = path.split_once("/v1/").map(|(_, p)| p)?;
    let seg: Vec<&str> = path.split('/').collect();
    Some(match (method, seg.as_slice()) {
        ("GET", ["workspaces", _]) => "get workspace",
        ("GET", ["workspaces", _, "items"]) => "list items",
        ("POST", ["workspaces", _, "items"]) => "create item",
        ("GET", ["operations", _]) => "operation state",
        ("GET", ["operations", _, "result"]) => "operation result",
        _ => return None,
    })
}

/// A value's shape: leaves become their JSON type name, arrays their first element's shape.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

/// Whether the emulator's body shape fits a recorded one: same keys (bar unmodelled ones the
/// emulator leaves out) with the same types; an empty array fits any array.
fn fits(emu: &Value, rec: &Value, at: &str) -> Result<(), String> {
    match (emu, rec) {
        (Value::Object(e), Value::Object(r)) => {
            for (k, v) in e {
                let Some(rv) = r.get(k) else {
                    return Err(format!("{at}.{k} is not in the recording"));
                };
                fits(v, rv, &format!("{at}.{k}"))?;
            }
            match r
                .keys()
                .find(|k| !e.contains_key(*k) && !UNMODELLED_KEYS.contains(&k.as_str()))
            {
                Some(k) => Err(format!("{at}.{k} is missing")),
                None => Ok(()),
            }
        }
        (Value::Array(e), Value::Array(r)) => match (e.first(), r.first()) {
            (Some(e), Some(r)) => fits(e, r, &format!("{at}[0]")),
            _ => Ok(()),
        },
        (e, r) if e == r => Ok(()),
        (e, r) => Err(format!("{at} is {e}, recorded {r}")),
    }
}

fn parse_body(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn recorded_answer(resp: &Value) -> Answer {
    let headers = resp["headers"]
        .as_object()
        .map(|h| {
            h.keys()
                .map(|k| k.to_lowercase())
                .filter(|k| API_HEADERS.contains(&k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    Answer {
        status: resp["status_code"].as_u64().unwrap_or(0) as u16,
        headers,
        body: shape(&parse_body(&resp["body"])),
    }
}

fn load_trace() -> Option<Vec<Value>> {
    let path = shared_data("reference/fabric/http_trace.json.gz")?;
    let file = std::fs::File::open(path).unwrap();
    let v: Value = serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap();
    Some(v["traces"].as_array().unwrap().clone())
}

/// The recorded answers of each operation (deduplicated).
fn recorded_answers(traces: &[Value]) -> BTreeMap<&'static str, Vec<Answer>> {
    let mut out: BTreeMap<&'static str, Vec<Answer>> = BTreeMap::new();
    for t in traces {
        let (m, u) = (
            t["request"]["method"].as_str().unwrap_or(""),
            t["request"]["url"].as_str().unwrap_or(""),
        );
        if let (Some(op), Some(resp)) =
            (operation(m, u), t.get("response").filter(|r| !r.is_null()))
        {
            let a = recorded_answer(resp);
            let list = out.entry(op).or_default();
            if !list.contains(&a) {
                list.push(a);
            }
        }
    }
    out
}

/// Replays the recording against an emulator; returns how many answers were compared per
/// operation.
struct Replay {
    c: reqwest::Client,
    url: String,
    tok: String,
    ws: String,
    recorded: BTreeMap<&'static str, Vec<Answer>>,
    /// Recorded id (workspace, item, operation; lower-case) → emulator id.
    ids: BTreeMap<String, String>,
    /// Recorded operation id → the item id its result named.
    op_items: BTreeMap<String, String>,
    compared: BTreeMap<&'static str, usize>,
}

impl Replay {
    fn map(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (rec, emu) in &self.ids {
            s = s.replace(rec.as_str(), emu);
        }
        s
    }

    async fn check(&mut self, op: &'static str, resp: reqwest::Response) -> Value {
        let status = resp.status().as_u16();
        let headers: BTreeSet<String> = resp
            .headers()
            .keys()
            .map(|k| k.as_str().to_lowercase())
            .filter(|k| API_HEADERS.contains(&k.as_str()))
            .collect();
        let body = body(resp).await;
        let emu = shape(&body);
        let variants = &self.recorded[op];
        let errors: Vec<String> = variants
            .iter()
            .map(|r| {
                if r.status != status {
                    return format!("status {status}, recorded {}", r.status);
                }
                if r.headers != headers {
                    return format!("headers {headers:?}, recorded {:?}", r.headers);
                }
                fits(&emu, &r.body, "body").err().unwrap_or_default()
            })
            .collect();
        assert!(
            errors.iter().any(String::is_empty),
            "{op}: the emulator's answer matches no recorded one: {body}\n{}",
            errors.join("\n")
        );
        *self.compared.entry(op).or_default() += 1;
        body
    }

    async fn send(&self, method: &str, url: &str, body: Option<Value>) -> reqwest::Response {
        let path = url.split_once("/v1/").map(|(_, p)| p).unwrap_or("");
        let target = format!("{}/v1/{}", self.url, self.map(path));
        let mut rb = match method {
            "POST" => self.c.post(target),
            _ => self.c.get(target),
        };
        rb = rb.bearer_auth(&self.tok);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap()
    }

    /// Rewrites recorded ids inside the definition parts (a report's `definition.pbir` names
    /// the recorded model id).
    fn map_parts(&self, mut body: Value) -> Value {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(parts) = body["definition"]["parts"].as_array_mut() {
            for p in parts {
                if p["path"] == "definition.pbir"
                    && let Some(text) = p["payload"].as_str().and_then(|s| b64.decode(s).ok())
                {
                    let text = self.map(&String::from_utf8_lossy(&text));
                    p["payload"] = json!(b64.encode(text));
                }
            }
        }
        body
    }

    async fn wait_done(&self, op: &str) {
        for _ in 0..200 {
            let r = self
                .c
                .get(format!("{}/v1/operations/{op}", self.url))
                .bearer_auth(&self.tok)
                .send()
                .await
                .unwrap();
            if body(r).await["status"] != "Running" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("operation {op} never finished");
    }

    async fn run(&mut self, traces: &[Value]) {
        let mut seen = BTreeSet::new();
        for t in traces {
            let req = &t["request"];
            let (m, u) = (
                req["method"].as_str().unwrap_or(""),
                req["url"].as_str().unwrap_or(""),
            );
            let Some(op) = operation(m, u) else { continue };
            let rec_body = parse_body(&req["body"]);
            let rec_resp = t.get("response").filter(|r| !r.is_null());
            let rec_status = rec_resp
                .map(|r| r["status_code"].to_string())
                .unwrap_or_default();
            if !seen.insert(format!("{m} {u} {rec_body} {rec_status}")) {
                continue;
            }
            match op {
                "create item" => {
                    let kind = rec_body["type"].as_str().unwrap_or("");
                    if kind != "SemanticModel" && kind != "Report" {
                        continue;
                    }
                    let resp = self
                        .send(m, u, Some(self.map_parts(rec_body.clone())))
                        .await;
                    let op_id = resp
                        .headers()
                        .get("x-ms-operation-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let created = self.check(op, resp).await;
                    let rec_op = rec_resp
                        .and_then(|r| r["headers"]["x-ms-operation-id"].as_str())
                        .map(str::to_lowercase);
                    if let (Some(rec), Some(emu)) = (&rec_op, op_id) {
                        self.ids.insert(rec.clone(), emu);
                    }
                    if let (Some(rec), Some(id)) = (&rec_op, created["id"].as_str())
                        && let Some(rec_item) = self.op_items.get(rec).cloned()
                    {
                        self.ids.insert(rec_item, id.to_string());
                    }
                }
                "operation state" | "operation result" => {
                    let rec_op = u
                        .split("/operations/")
                        .nth(1)
                        .unwrap_or("")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_lowercase();
                    let Some(emu_op) = self.ids.get(&rec_op).cloned() else {
                        continue;
                    };
                    let succeeded =
                        rec_resp.is_some_and(|r| parse_body(&r["body"])["status"] != "Running");
                    if op == "operation result" || succeeded {
                        self.wait_done(&emu_op).await;
                    }
                    let resp = self.send(m, u, None).await;
                    let answer = self.check(op, resp).await;
                    if op == "operation result"
                        && let (Some(rec_item), Some(id)) =
                            (self.op_items.get(&rec_op).cloned(), answer["id"].as_str())
                    {
                        self.ids.insert(rec_item, id.to_string());
                    }
                }
                _ => {
                    let resp = self.send(m, u, None).await;
                    self.check(op, resp).await;
                }
            }
        }
    }
}

async fn replay(traces: &[Value], config: EmulatorConfig) -> BTreeMap<&'static str, usize> {
    let (emu, c) = emulator(config).await;
    let url = emu.url();
    let tok = token(&c, &url, "conformance").await;
    let ws = create_group(&c, &url, &tok, "conformance").await;
    let cap = pbideploy_emulator::config::DEFAULT_CAPACITY_ID;
    emu.with_model(|m| {
        m.groups
            .iter_mut()
            .for_each(|g| g.capacity_id = Some(cap.into()))
    });
    let mut ids = BTreeMap::new();
    let mut op_items = BTreeMap::new();
    for t in traces {
        let u = t["request"]["url"].as_str().unwrap_or("");
        if let Some(ws_rec) = u
            .split("/workspaces/")
            .nth(1)
            .and_then(|r| r.split(['/', '?']).next())
        {
            ids.insert(ws_rec.to_lowercase(), ws.clone());
        }
        if u.ends_with("/result")
            && let Some(id) = t
                .get("response")
                .map(|r| parse_body(&r["body"]))
                .and_then(|b| b["id"].as_str().map(str::to_lowercase))
        {
            let op = u
                .split("/operations/")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches("/result")
                .to_lowercase();
            op_items.insert(op, id);
        }
    }
    let mut r = Replay {
        c,
        url,
        tok,
        ws,
        recorded: recorded_answers(traces),
        ids,
        op_items,
        compared: BTreeMap::new(),
    };
    r.run(traces).await;
    let _ = &r.ws;
    emu.shutdown().await;
    r.compared
}

#[tokio::test]
async fn replayed_requests_answer_as_recorded_with_operations() {
    let Some(traces) = load_trace() else { return };
    let config = EmulatorConfig {
        lro_delay_ms: 150,
        ..EmulatorConfig::default()
    };
    let compared = replay(&traces, config).await;
    for op in [
        "get workspace",
        "list items",
        "create item",
        "operation state",
        "operation result",
    ] {
        assert!(
            compared.get(op).copied().unwrap_or(0) > 0,
            "{op} was never compared: {compared:?}"
        );
    }
}

#[tokio::test]
async fn replayed_creates_answer_as_recorded_in_synchronous_mode() {
    let Some(traces) = load_trace() else { return };
    let config = EmulatorConfig {
        lro_sync: true,
        ..EmulatorConfig::default()
    };
    let compared = replay(&traces, config).await;
    assert!(
        compared.get("create item").copied().unwrap_or(0) >= 2,
        "{compared:?}"
    );
}
