//! Resume after a failure at each step kind: for every kind of step the first plan of
//! `tests/fixtures/rich.yaml` holds, a fresh emulator refuses that step's request once; apply fails that step (and what depends on
//! it) cleanly, and the next apply finishes the work, after which a third apply has nothing to
//! do and the service holds exactly one dataset and one report of each name.

use crate::emulator_cli;

use std::collections::BTreeSet;

use emulator_cli::{LEDGER, emulator, json_plan, reliability, rich_workdir, run};
use serde_json::{Value, json};

/// The request each operation type starts with, as (method, path glob).
fn first_request(op: &str) -> Option<(&'static str, &'static str)> {
    Some(match op {
        "create_workspace" => ("POST", "*/myorg/groups"),
        "assign_capacity" => ("POST", "*/AssignToCapacity"),
        "set_access" => ("POST", "*/groups/*/users"),
        "import" => ("POST", "*/groups/*/imports"),
        "take_over" => ("POST", "*/Default.TakeOver"),
        "update_parameters" => ("POST", "*/Default.UpdateParameters"),
        "update_datasources" => ("POST", "*/Default.UpdateDatasources"),
        "create_gateway_datasource" => ("POST", "*/gateways/*/datasources"),
        "bind_to_gateway" => ("POST", "*/Default.BindToGateway"),
        "set_credentials" => ("PATCH", "*/gateways/*/datasources/*"),
        "refresh" => ("POST", "*/refreshes"),
        "set_refresh_schedule" => ("PATCH", "*/datasets/*Schedule"),
        "rebind" => ("POST", "*/Rebind"),
        _ => return None,
    })
}

/// The operation types of the plan for the manifest against an empty tenant.
async fn planned_operations() -> BTreeSet<String> {
    let emu = emulator().await;
    let dir = rich_workdir();
    let plan = json_plan(&emu.url(), dir.path()).await;
    emu.shutdown().await;
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"]["type"].as_str().unwrap().to_string())
        .collect()
}

fn assert_no_duplicates(state: &Value, what: &str) {
    for kind in ["datasets", "reports"] {
        let mut seen = BTreeSet::new();
        for item in state[kind].as_array().into_iter().flatten() {
            let key = (item["groupId"].to_string(), item["name"].to_string());
            assert!(seen.insert(key.clone()), "{what}: duplicate {kind} {key:?}");
        }
    }
    assert_eq!(
        state["groups"].as_array().map(Vec::len),
        Some(1),
        "{what}: one workspace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_step_kind_is_recovered_by_the_next_apply() {
    let ops = planned_operations().await;
    for expected in [
        "create_workspace",
        "import",
        "update_parameters",
        "update_datasources",
        "create_gateway_datasource",
        "bind_to_gateway",
        "set_credentials",
        "refresh",
        "set_refresh_schedule",
        "set_access",
        "assign_capacity",
    ] {
        assert!(
            ops.contains(expected),
            "the plan has no {expected} step: {ops:?}"
        );
    }
    for op in &ops {
        let Some((method, path)) = first_request(op) else {
            panic!("no request known for step kind {op}: add it to first_request");
        };
        let emu = emulator().await;
        let url = emu.url();
        let dir = rich_workdir();
        let rule =
            json!({"failNext": [{"method": method, "path": path, "status": 400, "count": 1}]});
        reliability::set_knobs(&emu, rule).await;

        let apply = ["apply", "--auto-approve"];
        let (code, out) = run(&url, dir.path(), &apply).await;
        let knobs: Value = reqwest::Client::new()
            .get(format!("{url}/_emulator/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            knobs["failNext"].as_array().is_none_or(|r| r.is_empty()),
            "{op}: its request was never sent:\n{out}"
        );
        assert!(
            code == 3 || code == 1,
            "{op}: a failed step must fail the apply (exit {code}):\n{out}"
        );
        assert!(
            out.contains("Refused by an emulator fail rule"),
            "{op}: the service's message is shown:\n{out}"
        );
        assert!(
            out.contains("request id"),
            "{op}: the request id is shown:\n{out}"
        );
        let ledger = dir.path().join(LEDGER);
        if ledger.exists() {
            let text = std::fs::read_to_string(&ledger).unwrap();
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("{op}: ledger corrupt: {e}"));
        }

        let (code, out) = run(&url, dir.path(), &apply).await;
        assert_eq!(code, 0, "{op}: the re-run must finish the work:\n{out}");
        let before = emu.app().log.lock().unwrap().len();
        let (code, out) = run(&url, dir.path(), &apply).await;
        assert_eq!(code, 0, "{op}:\n{out}");
        assert!(
            out.contains("No changes."),
            "{op}: a third apply must have nothing to do:\n{out}"
        );
        let writes: Vec<String> = emu.app().log.lock().unwrap()[before..]
            .iter()
            .filter(|r| r.method != "GET" && !r.path.ends_with("/oauth2/v2.0/token"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            writes.is_empty(),
            "{op}: an apply with nothing to do sent writes: {writes:?}"
        );
        assert_no_duplicates(&emu.snapshot(), op);
        emu.shutdown().await;
    }
}
