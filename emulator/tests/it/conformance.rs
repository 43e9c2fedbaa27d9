//! Response shapes against the official swagger (`shared/powerbi-rest-swagger.json`): every
//! property the emulator sends must be a swagger property of the definition (case-insensitive,
//! the wire is camelCase) or a documented wire-only extra, and required properties must be there.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Properties and required names of a definition, following allOf/$ref.
fn props(sw: &Value, name: &str, out: &mut BTreeSet<String>, req: &mut BTreeSet<String>) {
    let d = &sw["definitions"][name];
    if let Some(p) = d["properties"].as_object() {
        out.extend(p.keys().map(|k| k.to_lowercase()));
    }
    if let Some(r) = d["required"].as_array() {
        req.extend(r.iter().filter_map(|x| x.as_str().map(str::to_lowercase)));
    }
    for part in d["allOf"].as_array().into_iter().flatten() {
        if let Some(r) = part["$ref"].as_str() {
            props(sw, r.trim_start_matches("#/definitions/"), out, req);
        }
        if let Some(p) = part["properties"].as_object() {
            out.extend(p.keys().map(|k| k.to_lowercase()));
        }
    }
}

fn check(sw: &Value, def: &str, item: &Value, extras: &[&str]) {
    let (mut allowed, mut required) = (BTreeSet::new(), BTreeSet::new());
    props(sw, def, &mut allowed, &mut required);
    assert!(!allowed.is_empty(), "swagger has no definition {def}");
    let obj = item
        .as_object()
        .unwrap_or_else(|| panic!("{def}: not an object: {item}"));
    for k in obj.keys() {
        let k = k.to_lowercase();
        assert!(
            allowed.contains(&k)
                || k.starts_with("@odata")
                || extras.iter().any(|e| e.eq_ignore_ascii_case(&k)),
            "{def}: property '{k}' is not in the swagger nor a documented extra"
        );
    }
    for r in &required {
        assert!(
            obj.keys().any(|k| k.eq_ignore_ascii_case(r)),
            "{def}: required '{r}' missing in {item}"
        );
    }
}

#[tokio::test]
async fn responses_match_swagger_definitions() {
    let Some(swagger) = shared_data("powerbi-rest-swagger.json") else {
        return;
    };
    let text = std::fs::read_to_string(swagger).unwrap();
    let sw: Value = serde_json::from_str(&text).unwrap();
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "W").await;
    let imp = import_done(&c, &url, &tok, &g, "Sales.pbix", "Ignore", pbix_bytes("a")).await;
    let get = |path: String| {
        let c = c.clone();
        let tok = tok.clone();
        async move { body(c.get(path).bearer_auth(tok).send().await.unwrap()).await }
    };
    let api = format!("{url}/v1.0/myorg");
    // documented extras: 0.3 and 1.1 (type), 2.2 (connectionType, source, error), 3.1 (upstreamDatasets), 4.1
    check(
        &sw,
        "Group",
        &get(format!("{api}/groups/{g}")).await,
        &["type"],
    );
    check(&sw, "Import", &imp, &["connectionType", "source", "error"]);
    let ds = get(format!("{api}/groups/{g}/datasets")).await["value"][0].clone();
    check(&sw, "Dataset", &ds, &["upstreamDatasets", "users"]);
    let id = ds["id"].as_str().unwrap().to_string();
    let rep = get(format!("{api}/groups/{g}/reports")).await["value"][0].clone();
    check(
        &sw,
        "Report",
        &rep,
        &[
            "isFromPbix",
            "isOwnedByMe",
            "datasetWorkspaceId",
            "users",
            "subscriptions",
        ],
    );
    for u in get(format!("{api}/groups/{g}/users")).await["value"]
        .as_array()
        .unwrap()
    {
        check(&sw, "GroupUser", u, &[]);
    }
    for gw in get(format!("{api}/gateways")).await["value"]
        .as_array()
        .unwrap()
    {
        check(&sw, "Gateway", gw, &[]);
        check(&sw, "GatewayPublicKey", &gw["publicKey"], &[]);
    }
    check(
        &sw,
        "RefreshSchedule",
        &get(format!("{api}/groups/{g}/datasets/{id}/refreshSchedule")).await,
        &[],
    );
    c.post(format!("{api}/groups/{g}/datasets/{id}/refreshes"))
        .bearer_auth(&tok)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    for r in get(format!("{api}/groups/{g}/datasets/{id}/refreshes")).await["value"]
        .as_array()
        .unwrap()
    {
        check(&sw, "Refresh", r, &["id"]);
    }
    let loc = body(
        c.post(format!(
            "{api}/groups/{g}/imports/createTemporaryUploadLocation"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap(),
    )
    .await;
    check(&sw, "TemporaryUploadLocation", &loc, &[]);
    emu.shutdown().await;
}
