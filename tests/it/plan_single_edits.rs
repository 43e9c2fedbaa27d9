//! Each single edit to a manifest the service already matches plans exactly that one item:
//! `tests/fixtures/rich.yaml` is applied to the emulator, then one field at a time is changed
//! and `plan --format json` must change only the item (workspace access entry, dataset or
//! report) the edit belongs to, with the step kinds the edit calls for; each edit then
//! applies and leaves nothing to do.

use crate::emulator_cli;

use std::collections::BTreeSet;

use emulator_cli::{emulator, json_plan, rich_workdir, run};
use serde_json::Value;

/// (what, text to replace, replacement, the items that must change, step kinds expected).
/// One item each, but for a re-pointed gateway source, which needs its gateway data source.
type Edit = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
const EDITS: &[Edit] = &[
    (
        "a role",
        "role: Admin",
        "role: Member",
        &[r#"workspace["Rich"].access["bi-admins@contoso.com"]"#],
        &["set_access"],
    ),
    (
        "a parameter value",
        "Server: sql-test.contoso.com",
        "Server: sql-other.contoso.com",
        &[r#"workspace["Rich"].dataset["Sales"]"#],
        &["update_parameters", "refresh"],
    ),
    (
        "the import schedule's times",
        r#"times: ["06:00"]"#,
        r#"times: ["06:00", "18:30"]"#,
        &[r#"workspace["Rich"].dataset["Sales"]"#],
        &["set_refresh_schedule"],
    ),
    (
        "the DirectQuery frequency",
        "frequency: 30",
        "frequency: 60",
        &[r#"workspace["Rich"].dataset["Inventory"]"#],
        &["set_refresh_schedule"],
    ),
    (
        "a credential's user name",
        "username: reader",
        "username: reader2",
        &[r#"workspace["Rich"].dataset["Sales"]"#],
        &["set_credentials", "refresh"],
    ),
    (
        "a re-pointed server",
        "set: {connectionDetails: {server: sql01.corp.contoso.com, database: Inventory}}",
        "set: {connectionDetails: {server: sql02.corp.contoso.com, database: Inventory}}",
        &[
            r#"gateway["Local Gateway"].datasource["Sql database=Inventory;server=sql02.corp.contoso.com"]"#,
            r#"workspace["Rich"].dataset["Inventory"]"#,
        ],
        &[
            "update_datasources",
            "create_gateway_datasource",
            "bind_to_gateway",
            "set_credentials",
        ],
    ),
    (
        "a report's PBIX",
        "pbix: pbix/sales-summary.pbix",
        "pbix: pbix/sales-detail.pbix",
        &[r#"workspace["Rich"].report["Sales Summary"]"#],
        &["import"],
    ),
];

/// The item an address belongs to: `workspace["W"].dataset["D"]` for
/// `workspace["W"].dataset["D"].parameters`, the workspace for its own changes.
fn item_of(address: &str) -> String {
    let parts: Vec<&str> = address.split("].").collect();
    match parts.as_slice() {
        [ws, kind, ..] if !kind.is_empty() && kind.contains('[') => {
            format!("{ws}].{kind}]").replace("]]", "]")
        }
        _ => address.to_string(),
    }
}

fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op" && c["action"] != "read")
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["operation"]["type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn item_of_takes_the_workspace_child() {
    assert_eq!(
        item_of(r#"workspace["W"].dataset["D"].parameters"#),
        r#"workspace["W"].dataset["D"]"#
    );
    assert_eq!(item_of(r#"workspace["W"]"#), r#"workspace["W"]"#);
    assert_eq!(
        item_of(r#"workspace["W"].access["a@b"]"#),
        r#"workspace["W"].access["a@b"]"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_single_edit_plans_exactly_its_item() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = rich_workdir();
    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let mut base = std::fs::read_to_string(dir.path().join("pbideploy.yaml")).unwrap();
    assert!(changes(&json_plan(&url, dir.path()).await).is_empty());

    for (what, from, to, want, kinds) in EDITS {
        assert!(
            base.contains(from),
            "{what}: {from:?} is not in the manifest"
        );
        std::fs::write(
            dir.path().join("pbideploy.yaml"),
            base.replacen(from, to, 1),
        )
        .unwrap();
        let planned = changes(&json_plan(&url, dir.path()).await);
        let items: BTreeSet<String> = planned.iter().map(|(a, _)| item_of(a)).collect();
        assert_eq!(
            items.into_iter().collect::<Vec<_>>(),
            want.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "{what}: {planned:?}"
        );
        let got: BTreeSet<&str> = planned.iter().map(|(_, k)| k.as_str()).collect();
        for kind in *kinds {
            assert!(got.contains(kind), "{what}: no {kind} step in {planned:?}");
        }
        // The edit applies, and then the service matches it (the next edit starts there).
        let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
        assert_eq!(code, 0, "{what}: {out}");
        let left = changes(&json_plan(&url, dir.path()).await);
        assert!(left.is_empty(), "{what}: after apply: {left:?}");
        base = base.replacen(from, to, 1);
    }
    emu.shutdown().await;
}

/// A service that refuses to read a managed feature fails the plan (it must not guess) with
/// the service's message, its request id and, for parameters, what to do instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_parameters_read_fails_the_plan_with_a_hint() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = rich_workdir();
    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let rule = serde_json::json!({"failNext": [
        {"method": "GET", "path": "*/datasets/*/parameters", "status": 400, "count": 1}
    ]});
    emulator_cli::reliability::set_knobs(&emu, rule).await;
    let (code, out) = run(&url, dir.path(), &["plan"]).await;
    assert_eq!(code, 1, "{out}");
    for expected in [
        "cannot read the live state (parameters of dataset",
        "request id:",
        "remove `parameters` from this dataset",
    ] {
        assert!(out.contains(expected), "missing {expected:?}:\n{out}");
    }
    emu.shutdown().await;
}
