//! Request and response shapes against the swagger for every groups-form endpoint the emulator
//! serves: each call below is first matched to a swagger operation (path template + method),
//! its query names and JSON body are checked against the operation's declared parameters and
//! body definition, then the emulator's status must be a declared success code and its body
//! must conform (recursively: property names, required names, JSON types) to the declared
//! response definition. Finally every API request in the emulator's log must be a swagger
//! operation. Needs `../shared` (see `common::shared_data`).

use crate::common;

use common::{body, emulator, shared_data, token};
use pbideploy_emulator::EmulatorConfig;
use reqwest::{Client, Method};
use serde_json::{Value, json};

/// Wire-only properties the reference documents (0.3, 1.1, 2.2, 3.1, 4.1) or the emulator
/// adds on purpose, per definition.
const EXTRAS: &[(&str, &[&str])] = &[
    ("Group", &["type"]),
    ("Import", &["connectionType", "source", "error"]),
    ("Dataset", &["upstreamDatasets", "users"]),
    (
        "Report",
        &[
            "isFromPbix",
            "isOwnedByMe",
            "datasetWorkspaceId",
            "users",
            "subscriptions",
        ],
    ),
    ("Refresh", &["id"]),
];

struct Sw {
    doc: Value,
    errors: Vec<String>,
}

impl Sw {
    fn def(&self, r: &str) -> Value {
        self.doc["definitions"][r.trim_start_matches("#/definitions/")].clone()
    }

    /// The swagger operation for a concrete path (segments compared case-insensitively,
    /// `{x}` matching any one segment).
    fn op(&self, method: &str, path: &str) -> Option<(String, Value)> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.doc["paths"]
            .as_object()?
            .iter()
            .find_map(|(tpl, ops)| {
                let t: Vec<&str> = tpl.trim_matches('/').split('/').collect();
                let same = t.len() == segs.len()
                    && t.iter()
                        .zip(&segs)
                        .all(|(a, b)| a.starts_with('{') || a.eq_ignore_ascii_case(b));
                let op = ops.get(method.to_lowercase())?;
                same.then(|| (tpl.clone(), op.clone()))
            })
    }

    /// Checks `v` against `schema`, recording every mismatch under `at`.
    fn conform(&mut self, schema: &Value, v: &Value, at: &str) {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/definitions/").to_string();
            let d = self.def(r);
            if d["type"].as_str().is_some_and(|t| t != "object") {
                return self.conform(&d, v, at); // an enum definition such as PrincipalType
            }
            return self.object(&name, &d, v, at);
        }
        match schema["type"].as_str() {
            Some("array") => match v.as_array() {
                Some(items) => {
                    for (n, x) in items.iter().enumerate() {
                        self.conform(&schema["items"], x, &format!("{at}[{n}]"));
                    }
                }
                None => self
                    .errors
                    .push(format!("{at}: expected an array, got {v}")),
            },
            Some("string") if !v.is_string() => self
                .errors
                .push(format!("{at}: expected a string, got {v}")),
            Some("boolean") if !v.is_boolean() => self
                .errors
                .push(format!("{at}: expected a boolean, got {v}")),
            Some("integer" | "number") if !v.is_number() => self
                .errors
                .push(format!("{at}: expected a number, got {v}")),
            Some("object") if schema["properties"].is_object() => {
                self.object("(inline)", schema, v, at)
            }
            _ => {}
        }
    }

    fn props(&self, d: &Value, out: &mut Vec<(String, Value)>, req: &mut Vec<String>) {
        if let Some(p) = d["properties"].as_object() {
            out.extend(p.iter().map(|(k, s)| (k.clone(), s.clone())));
        }
        if let Some(r) = d["required"].as_array() {
            req.extend(r.iter().filter_map(|x| x.as_str().map(str::to_string)));
        }
        for part in d["allOf"].as_array().into_iter().flatten() {
            let part = match part["$ref"].as_str() {
                Some(r) => self.def(r),
                None => part.clone(),
            };
            self.props(&part, out, req);
        }
    }

    fn object(&mut self, name: &str, d: &Value, v: &Value, at: &str) {
        let Some(obj) = v.as_object() else {
            return self
                .errors
                .push(format!("{at}: {name} is not an object: {v}"));
        };
        let (mut props, mut req) = (Vec::new(), Vec::new());
        self.props(d, &mut props, &mut req);
        let extras = EXTRAS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, e)| e);
        for (k, x) in obj {
            let schema = props.iter().find(|(p, _)| p.eq_ignore_ascii_case(k));
            match schema {
                Some((_, s)) => self.conform(&s.clone(), x, &format!("{at}.{k}")),
                None if k.starts_with("@odata") || k.starts_with("odata") => {}
                None if extras.iter().any(|e| e.eq_ignore_ascii_case(k)) => {}
                None => self
                    .errors
                    .push(format!("{at}: '{k}' is not a property of {name}")),
            }
        }
        for r in req {
            if !obj.keys().any(|k| k.eq_ignore_ascii_case(&r)) {
                self.errors
                    .push(format!("{at}: required '{r}' of {name} is missing"));
            }
        }
    }
}

struct Run {
    sw: Sw,
    c: Client,
    url: String,
    tok: String,
}

impl Run {
    /// One checked call: request shape, status, response shape. Returns the body.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        b: Option<Value>,
    ) -> Value {
        let full = format!("/v1.0/myorg/{path}");
        let Some((tpl, op)) = self.sw.op(method.as_str(), &full) else {
            self.sw
                .errors
                .push(format!("{method} {full}: not a swagger operation"));
            return Value::Null;
        };
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for (k, _) in query {
            if !params.iter().any(|p| p["in"] == "query" && p["name"] == *k) {
                self.sw
                    .errors
                    .push(format!("{method} {tpl}: query '{k}' is not declared"));
            }
        }
        if let Some(b) = &b {
            match params.iter().find(|p| p["in"] == "body") {
                Some(p) => {
                    self.sw
                        .conform(&p["schema"].clone(), b, &format!("{method} {tpl} request"))
                }
                None => self
                    .sw
                    .errors
                    .push(format!("{method} {tpl}: takes no body")),
            }
        }
        let mut rq = self
            .c
            .request(method.clone(), format!("{}{full}", self.url))
            .query(query)
            .bearer_auth(&self.tok);
        rq = match b {
            Some(b) => rq.json(&b),
            None => rq.header("Content-Length", "0"),
        };
        let r = rq.send().await.unwrap();
        let status = r.status().as_u16().to_string();
        let v = body(r).await;
        match op["responses"].get(&status) {
            None => self.sw.errors.push(format!(
                "{method} {tpl}: status {status} not declared ({v})"
            )),
            Some(resp) => {
                if resp["schema"].is_object() && !v.is_null() {
                    self.sw.conform(
                        &resp["schema"].clone(),
                        &v,
                        &format!("{method} {tpl} response"),
                    );
                }
            }
        }
        v
    }
}

#[tokio::test]
async fn requests_and_responses_of_every_served_operation_match_swagger() {
    let Some(swagger) = shared_data("powerbi-rest-swagger.json") else {
        return;
    };
    let text = std::fs::read_to_string(swagger).unwrap();
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "conformance-app").await;
    let mut run = Run {
        sw: Sw {
            doc: serde_json::from_str(&text).unwrap(),
            errors: Vec::new(),
        },
        c: c.clone(),
        url: url.clone(),
        tok: tok.clone(),
    };
    use Method as M;
    let g = run
        .call(
            M::POST,
            "groups",
            &[("workspaceV2", "True")],
            Some(json!({"name": "Conf"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    run.call(
        M::GET,
        "groups",
        &[
            ("$filter", "name eq 'Conf'"),
            ("$top", "10"),
            ("$skip", "0"),
        ],
        None,
    )
    .await;
    run.call(M::GET, &format!("groups/{g}"), &[], None).await;
    let user = json!({"identifier": "another-app", "principalType": "App", "groupUserAccessRight": "Member"});
    run.call(M::POST, &format!("groups/{g}/users"), &[], Some(user))
        .await;
    let user = json!({"identifier": "another-app", "principalType": "App", "groupUserAccessRight": "Viewer"});
    run.call(M::PUT, &format!("groups/{g}/users"), &[], Some(user))
        .await;
    run.call(M::GET, &format!("groups/{g}/users"), &[("$top", "5")], None)
        .await;
    run.call(
        M::DELETE,
        &format!("groups/{g}/users/another-app"),
        &[],
        None,
    )
    .await;

    // Import a synthetic PBIX (multipart body: checked by the import test, not here).
    let imp = common::import_done(
        &c,
        &url,
        &tok,
        &g,
        "Sales.pbix",
        "Ignore",
        common::sales_pbix(),
    )
    .await;
    let iid = imp["id"].as_str().unwrap().to_string();
    run.call(M::GET, &format!("groups/{g}/imports"), &[], None)
        .await;
    run.call(M::GET, &format!("groups/{g}/imports/{iid}"), &[], None)
        .await;
    run.call(
        M::POST,
        &format!("groups/{g}/imports/createTemporaryUploadLocation"),
        &[],
        None,
    )
    .await;
    let d = imp["datasets"][0]["id"].as_str().unwrap().to_string();
    let rid = imp["reports"][0]["id"].as_str().unwrap().to_string();
    let ds = format!("groups/{g}/datasets/{d}");
    run.call(M::GET, &format!("groups/{g}/datasets"), &[], None)
        .await;
    run.call(M::GET, &ds, &[], None).await;
    run.call(M::POST, &format!("{ds}/Default.TakeOver"), &[], None)
        .await;
    run.call(M::GET, &format!("{ds}/parameters"), &[], None)
        .await;
    let up = json!({"updateDetails": [{"name": "Database", "newValue": "SalesArchive"}]});
    run.call(
        M::POST,
        &format!("{ds}/Default.UpdateParameters"),
        &[],
        Some(up),
    )
    .await;
    let sources = run
        .call(M::GET, &format!("{ds}/datasources"), &[], None)
        .await;
    let upd = json!({"updateDetails": [{"datasourceSelector": {"datasourceType": "Sql",
        "connectionDetails": {"server": "archive.database.windows.net", "database": "Archive"}},
        "connectionDetails": {"server": "archive2.database.windows.net", "database": "Archive"}}]});
    run.call(
        M::POST,
        &format!("{ds}/Default.UpdateDatasources"),
        &[],
        Some(upd),
    )
    .await;
    run.call(M::GET, &format!("{ds}/Default.DiscoverGateways"), &[], None)
        .await;
    run.call(
        M::GET,
        &format!("{ds}/Default.GetBoundGatewayDatasources"),
        &[],
        None,
    )
    .await;
    run.call(M::GET, &format!("{ds}/refreshSchedule"), &[], None)
        .await;
    let sched = json!({"value": {"days": ["Monday"], "times": ["07:00"], "enabled": true, "localTimeZoneId": "UTC", "notifyOption": "NoNotification"}});
    run.call(M::PATCH, &format!("{ds}/refreshSchedule"), &[], Some(sched))
        .await;
    run.call(
        M::POST,
        &format!("{ds}/refreshes"),
        &[],
        Some(json!({"notifyOption": "NoNotification"})),
    )
    .await;
    run.call(M::GET, &format!("{ds}/refreshes"), &[("$top", "5")], None)
        .await;

    // Gateways and the cloud source's credentials.
    let gws = run.call(M::GET, "gateways", &[], None).await;
    let gw = gws["value"][0]["id"].as_str().unwrap().to_string();
    run.call(M::GET, &format!("gateways/{gw}"), &[], None).await;
    run.call(M::GET, &format!("gateways/{gw}/datasources"), &[], None)
        .await;
    let web = sources["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["datasourceType"] == "Web")
        .unwrap()
        .clone();
    let (cgw, cds) = (
        web["gatewayId"].as_str().unwrap(),
        web["datasourceId"].as_str().unwrap(),
    );
    let cred = json!({"credentialDetails": {"credentialType": "Anonymous", "credentials": "{\"credentialData\":\"\"}",
        "encryptedConnection": "NotEncrypted", "encryptionAlgorithm": "None", "privacyLevel": "Public"}});
    run.call(
        M::PATCH,
        &format!("gateways/{cgw}/datasources/{cds}"),
        &[],
        Some(cred),
    )
    .await;
    run.call(
        M::GET,
        &format!("gateways/{cgw}/datasources/{cds}/status"),
        &[],
        None,
    )
    .await;

    // An on-premises datasource with credentials encrypted for the gateway key; the
    // Database parameter set above re-pointed the dataset's source to SalesArchive.
    let pem = emu.snapshot()["gateways"][0]["privateKeyPem"]
        .as_str()
        .unwrap()
        .to_string();
    let key = pbideploy_emulator::crypto::GatewayKeyPair::from_pkcs8_pem(&pem).unwrap();
    let plain = r#"{"credentialData":[{"name":"username","value":"CORP\\svc"},{"name":"password","value":"p"}]}"#;
    let create = json!({"dataSourceType": "Sql", "connectionDetails": "{\"server\":\"sqlprod01\",\"database\":\"SalesArchive\"}",
        "dataSourceName": "conf", "credentialDetails": {"credentialType": "Windows", "credentials": common::encrypt(&key, plain),
        "encryptedConnection": "Encrypted", "encryptionAlgorithm": "RSA-OAEP", "privacyLevel": "None"}});
    let created = run
        .call(
            M::POST,
            &format!("gateways/{gw}/datasources"),
            &[],
            Some(create),
        )
        .await;
    let gds = created["id"].as_str().unwrap_or_default().to_string();
    run.call(
        M::GET,
        &format!("gateways/{gw}/datasources/{gds}"),
        &[],
        None,
    )
    .await;
    run.call(
        M::GET,
        &format!("gateways/{gw}/datasources/{gds}/users"),
        &[],
        None,
    )
    .await;
    let du = json!({"identifier": "another-app", "principalType": "App", "datasourceAccessRight": "Read"});
    run.call(
        M::POST,
        &format!("gateways/{gw}/datasources/{gds}/users"),
        &[],
        Some(du),
    )
    .await;
    let bind = json!({"gatewayObjectId": gw});
    run.call(
        M::POST,
        &format!("{ds}/Default.BindToGateway"),
        &[],
        Some(bind),
    )
    .await;
    run.call(
        M::GET,
        &format!("{ds}/Default.GetBoundGatewayDatasources"),
        &[],
        None,
    )
    .await;
    run.call(
        M::GET,
        &format!("gateways/{gw}/datasources/{gds}/status"),
        &[],
        None,
    )
    .await;
    run.call(M::GET, "capacities", &[], None).await;

    run.call(M::GET, &format!("groups/{g}/reports"), &[], None)
        .await;
    run.call(M::GET, &format!("groups/{g}/reports/{rid}"), &[], None)
        .await;
    run.call(
        M::POST,
        &format!("groups/{g}/reports/{rid}/Rebind"),
        &[],
        Some(json!({"datasetId": d})),
    )
    .await;
    run.call(M::DELETE, &format!("groups/{g}/reports/{rid}"), &[], None)
        .await;
    run.call(M::DELETE, &ds, &[], None).await;

    // Every API request the emulator logged is a swagger operation.
    let log = body(
        c.get(format!("{url}/_emulator/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for r in log["value"].as_array().unwrap() {
        let (m, p) = (r["method"].as_str().unwrap(), r["path"].as_str().unwrap());
        if p.starts_with("/v1.0/") && run.sw.op(m, p).is_none() {
            run.sw
                .errors
                .push(format!("logged {m} {p}: not a swagger operation"));
        }
    }
    emu.shutdown().await;
    assert!(
        run.sw.errors.is_empty(),
        "swagger mismatches:\n{}",
        run.sw.errors.join("\n")
    );
}
