//! Power BI Projects end to end, with the real binary on the built-in local service: PBIP
//! models and reports (the repository's hand-written items with parameters and external
//! sources, and the real fixture items of `../shared/fixtures/pbip`) apply, re-apply as a
//! no-op and plan clean; a measure edit plans exactly one update whose Markdown shows the old
//! and new DAX and nothing else; a parameter change plans a definition update; a dropped
//! column is flagged and refused before it reaches the service; a `byPath` report deploys
//! bound to the right model in each environment; PBIX and PBIP items mix both ways.

use crate::common;

use std::path::Path;

use serde_json::Value;

use crate::support::{Run, assert_cli_snapshot};

/// A work folder with the repository's PBIP items under `pbip/`, its example PBIX files
/// under `pbix/`, and `manifest` as `m.yaml`.
fn workdir(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::support::copy_dir(&repo.join("manifests/pbip"), &dir.path().join("pbip"));
    crate::support::copy_dir(&repo.join("manifests/pbix"), &dir.path().join("pbix"));
    std::fs::write(dir.path().join("m.yaml"), manifest).unwrap();
    dir
}

/// Runs pbideploy on the local service in `dir`.
fn run(dir: &Path, args: &[&str]) -> Run {
    let out = crate::support::pbideploy()
        .current_dir(dir)
        .args(args)
        .args(["--service", "local", "--color", "never"])
        .env("PBIP_E2E_SQL_PASSWORD", "sentinel-pbip-5e1f")
        .output()
        .unwrap();
    Run::from(out)
}

fn apply(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--auto-approve", "-f", "m.yaml"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(out.code, 0, "apply failed:\n{}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// `plan --detailed-exitcode` in `format`.
fn plan(dir: &Path, format: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "plan",
        "--detailed-exitcode",
        "--format",
        format,
        "-f",
        "m.yaml",
    ];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert!(
        out.code == 0 || out.code == 2,
        "plan failed ({}):\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    out
}

/// Applies, then checks that a second apply and a plan find nothing to do.
fn converges(dir: &Path, extra: &[&str]) {
    apply(dir, extra);
    let again = apply(dir, extra);
    assert!(
        again.contains("No changes"),
        "re-apply changed something:\n{again}"
    );
    let out = plan(dir, "text", extra);
    assert_eq!(
        out.code, 0,
        "plan after apply is not clean:\n{}",
        out.stdout
    );
}

/// The local service's state file (the service's truth).
fn service(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join(".pbideploy/local/state.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn id_of(state: &Value, list: &str, name: &str, workspace: Option<&str>) -> String {
    let ws_id = workspace.map(|w| {
        state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == w)
            .map(|g| g["id"].as_str().unwrap().to_string())
            .unwrap()
    });
    let found: Vec<&Value> = state[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] == name)
        .filter(|i| ws_id.as_ref().is_none_or(|w| i["groupId"] == w.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{list} named {name}: {found:?}");
    found[0]["id"].as_str().unwrap().to_string()
}

/// The id of the dataset the report `name` (in `workspace`, if given) is bound to.
fn bound_to(state: &Value, name: &str, workspace: Option<&str>) -> String {
    let id = id_of(state, "reports", name, workspace);
    let report = state["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    report["datasetId"].as_str().unwrap_or_default().to_string()
}

const SALES: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: PBIP
    create: true
    datasets:
      - name: Sales
        project: pbip/Sales.SemanticModel
        parameters: {Server: sql02.contoso.test, Database: SalesProd}
        refresh: {onApply: never}
      - name: Web Rates
        project: pbip/Web.SemanticModel
        refresh: {onApply: never}
    reports:
      - name: Sales Overview
        project: pbip/Sales.Report
"#;

/// [`SALES`] with the Power BI API steps a dataset may ask for: the SQL source through an
/// on-premises gateway with Basic credentials, the web source with cloud credentials.
const SALES_CONNECTED: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: PBIP
    create: true
    datasets:
      - name: Sales
        project: pbip/Sales.SemanticModel
        parameters: {Server: sql02.contoso.test, Database: SalesProd}
        gateway: {name: Local Gateway, createDatasources: true}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: svc_sales
            password: {env: PBIP_E2E_SQL_PASSWORD}
        refresh: {onApply: never}
      - name: Web Rates
        project: pbip/Web.SemanticModel
        parameters: {BaseUrl: "https://rates.contoso.test/api/"}
        credentials:
          - match: {type: Web}
            type: Anonymous
            privacyLevel: Public
        refresh: {onApply: never}
    reports:
      - name: Sales Overview
        project: pbip/Sales.Report
"#;

#[test]
fn project_items_apply_reapply_as_a_no_op_and_plan_clean() {
    let dir = workdir(SALES_CONNECTED);
    let first = apply(dir.path(), &[]);
    for step in ["gateway binding", "credentials"] {
        assert!(first.contains(step), "no {step} step:\n{first}");
    }
    converges(dir.path(), &[]);
    let ledger =
        std::fs::read_to_string(dir.path().join("m.default.pbideploy-state.json")).unwrap();
    assert!(!ledger.contains("sentinel-pbip-5e1f") && !first.contains("sentinel-pbip-5e1f"));
    let state = service(dir.path());
    let model = id_of(&state, "datasets", "Sales", None);
    assert_eq!(bound_to(&state, "Sales Overview", None), model);
}

#[test]
fn the_fixture_items_the_real_service_accepted_deploy_and_converge() {
    let Some(fixtures) = common::shared_data("fixtures/pbip") else {
        return;
    };
    let dir = workdir(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: Fixtures
    create: true
    datasets:
      - name: ABC
        project: fixtures/ABC.SemanticModel
        refresh: {onApply: never}
    reports:
      - name: ABC
        project: fixtures/ABC.Report
      - name: ABCD
        project: fixtures/ABCD.Report
      - name: By Connection
        project: fixtures/ByConnection.Report
        dataset: ABC
"#,
    );
    crate::support::copy_dir(&fixtures, &dir.path().join("fixtures"));
    converges(dir.path(), &[]);
    let state = service(dir.path());
    let model = id_of(&state, "datasets", "ABC", None);
    for name in ["ABC", "ABCD", "By Connection"] {
        assert_eq!(bound_to(&state, name, None), model, "{name}");
    }
}

#[test]
fn a_measure_edit_plans_one_update_whose_markdown_shows_only_that_dax() {
    let dir = workdir(SALES);
    apply(dir.path(), &[]);
    let table = dir
        .path()
        .join("pbip/Sales.SemanticModel/definition/tables/Sales.tmdl");
    let text = std::fs::read_to_string(&table).unwrap();
    let edited = text.replace(
        "measure 'Total Amount' = SUM(Sales[Amount])",
        "measure 'Total Amount' = SUMX(Sales, Sales[Amount] * 2)",
    );
    assert_ne!(text, edited, "the fixture's measure moved");
    std::fs::write(&table, edited).unwrap();
    let run = plan(dir.path(), "markdown", &[]);
    assert_cli_snapshot!(run);
    let md = run.stdout;
    let content = &md[md
        .find("#### Definition changes")
        .expect("a definition section")..];
    let changed: Vec<&str> = content
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "only the measure's old and new line:\n{md}"
    );
    assert_eq!(
        md.matches("(changed)").count(),
        1,
        "one part changed:\n{md}"
    );
    apply(dir.path(), &[]);
    assert_eq!(plan(dir.path(), "text", &[]).code, 0);
}

#[test]
fn a_parameter_change_plans_a_definition_update() {
    let dir = workdir(SALES);
    apply(dir.path(), &[]);
    std::fs::write(
        dir.path().join("m.yaml"),
        SALES.replace("SalesProd", "SalesTest"),
    )
    .unwrap();
    let Run {
        code, stdout: json, ..
    } = plan(dir.path(), "json", &[]);
    assert_eq!(code, 2, "{json}");
    let plan: Value = serde_json::from_str(&json).unwrap();
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/plan.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::options().build(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the plan does not fit its schema: {errors:#?}"
    );
    let changes: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .collect();
    assert_eq!(changes.len(), 1, "{json}");
    assert_eq!(changes[0]["operation"]["type"], "definition", "{json}");
    let diff = plan["content"][0]["parts"][0]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-expression Database = \"SalesProd\""),
        "{diff}"
    );
    assert!(
        diff.contains("+expression Database = \"SalesTest\""),
        "{diff}"
    );
    assert!(
        !plan["changes"].to_string().contains("update_parameters"),
        "a project model's parameters are written into its definition: {json}"
    );
}

#[test]
fn a_dropped_import_column_is_flagged_in_the_plan_and_refused_by_apply() {
    let dir = workdir(SALES);
    apply(dir.path(), &[]);
    let table = dir
        .path()
        .join("pbip/Sales.SemanticModel/definition/tables/Customer.tmdl");
    let text = std::fs::read_to_string(&table).unwrap();
    let start = text.find("\tcolumn 'Customer Name'").unwrap();
    let end = text[start..].find("\tpartition").unwrap() + start;
    std::fs::write(&table, format!("{}{}", &text[..start], &text[end..])).unwrap();
    assert_cli_snapshot!("plan_data_loss", plan(dir.path(), "markdown", &[]));
    let before = service(dir.path());
    // Refused by pbideploy (`nothing was sent`), not by the service.
    let refused = run(dir.path(), &["apply", "--auto-approve", "-f", "m.yaml"]);
    assert_cli_snapshot!("apply_refused", refused);
    let definitions = |state: &Value| state["fabric"]["definitions"].clone();
    assert!(
        definitions(&before).is_object(),
        "the local service keeps definitions"
    );
    assert_eq!(
        definitions(&before),
        definitions(&service(dir.path())),
        "the refused update reached the service"
    );
    std::fs::write(
        dir.path().join("m.yaml"),
        SALES.replace(
            "        parameters: {Server",
            "        allowDataLoss: true\n        parameters: {Server",
        ),
    )
    .unwrap();
    assert_cli_snapshot!("plan_data_loss_allowed", plan(dir.path(), "markdown", &[]));
}

#[test]
fn a_by_path_report_is_bound_to_the_model_of_each_environment() {
    let manifest = r#"apiVersion: pbideploy/v1
environments:
  dev: {variables: {ws: Sales Dev}}
  prod: {variables: {ws: Sales Prod}}
workspaces:
  - name: ${ws}
    create: true
    datasets:
      - name: Sales
        project: pbip/Sales.SemanticModel
        refresh: {onApply: never}
    reports:
      - name: Sales Overview
        project: pbip/Sales.Report
"#;
    let dir = workdir(manifest);
    for env in ["dev", "prod"] {
        converges(dir.path(), &["--env", env]);
    }
    let state = service(dir.path());
    for ws in ["Sales Dev", "Sales Prod"] {
        let model = id_of(&state, "datasets", "Sales", Some(ws));
        assert_eq!(bound_to(&state, "Sales Overview", Some(ws)), model, "{ws}");
    }
}

#[test]
fn pbix_and_pbip_items_mix_both_ways() {
    let dir = workdir(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: Mixed
    create: true
    datasets:
      - name: Sales PBIX
        pbix: pbix/sales.pbix
        refresh: {onApply: never}
      - name: Sales PBIP
        project: pbip/Sales.SemanticModel
        refresh: {onApply: never}
    reports:
      - name: PBIP on PBIX
        project: pbip/Sales.Report
        dataset: Sales PBIX
      - name: PBIX on PBIP
        pbix: pbix/sales-summary.pbix
        dataset: Sales PBIP
"#,
    );
    converges(dir.path(), &[]);
    let state = service(dir.path());
    for (report, model) in [
        ("PBIP on PBIX", "Sales PBIX"),
        ("PBIX on PBIP", "Sales PBIP"),
    ] {
        let model = id_of(&state, "datasets", model, None);
        assert_eq!(bound_to(&state, report, None), model, "{report}");
    }
}

#[test]
fn refresh_only_reports_a_definition_changed_outside_pbideploy() {
    use base64::Engine as _;
    let dir = workdir(SALES);
    apply(dir.path(), &[]);
    assert_cli_snapshot!("clean", plan(dir.path(), "text", &["--refresh-only"]));
    // Someone edits the measure in the service (the local service's state is its truth).
    let path = dir.path().join(".pbideploy/local/state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let model = id_of(&state, "datasets", "Sales", None);
    let b64 = base64::engine::general_purpose::STANDARD;
    let parts = state["fabric"]["definitions"][&model]["parts"]
        .as_array_mut()
        .unwrap();
    let part = parts
        .iter_mut()
        .find(|p| p["path"] == "definition/tables/Sales.tmdl")
        .unwrap();
    let text = String::from_utf8(b64.decode(part["payload"].as_str().unwrap()).unwrap()).unwrap();
    let edited = text.replace("SUM(Sales[Amount])", "SUM(Sales[Amount]) * 0");
    assert_ne!(text, edited);
    part["payload"] = Value::String(b64.encode(edited));
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    assert_cli_snapshot!("drift", plan(dir.path(), "text", &["--refresh-only"]));
}

#[test]
fn a_saved_plan_applies_exactly_and_is_refused_once_the_project_moved() {
    let dir = workdir(SALES);
    apply(dir.path(), &[]);
    let table = dir
        .path()
        .join("pbip/Web.SemanticModel/definition/tables/Rates.tmdl");
    let text = std::fs::read_to_string(&table).unwrap();
    std::fs::write(
        &table,
        text.replace("AVERAGE(Rates[Rate])", "MAX(Rates[Rate])"),
    )
    .unwrap();
    assert_eq!(plan(dir.path(), "text", &["--out", "p.json"]).code, 2);
    std::fs::write(
        &table,
        text.replace("AVERAGE(Rates[Rate])", "MIN(Rates[Rate])"),
    )
    .unwrap();
    assert_cli_snapshot!(
        "stale",
        run(dir.path(), &["apply", "p.json", "-f", "m.yaml"])
    );
    std::fs::write(
        &table,
        text.replace("AVERAGE(Rates[Rate])", "MAX(Rates[Rate])"),
    )
    .unwrap();
    let out = run(dir.path(), &["apply", "p.json", "-f", "m.yaml"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(plan(dir.path(), "text", &[]).code, 0);
}

#[test]
fn prune_deletes_a_dropped_project_model_and_lists_it_first() {
    let pruned = SALES.replace("    create: true\n", "    create: true\n    prune: true\n");
    let dir = workdir(&pruned);
    apply(dir.path(), &[]);
    let without = pruned.replace(
        "      - name: Web Rates\n        project: pbip/Web.SemanticModel\n        refresh: {onApply: never}\n",
        "",
    );
    assert_ne!(without, pruned);
    std::fs::write(dir.path().join("m.yaml"), &without).unwrap();
    let table = dir
        .path()
        .join("pbip/Sales.SemanticModel/definition/tables/Sales.tmdl");
    let text = std::fs::read_to_string(&table).unwrap();
    std::fs::write(
        &table,
        text.replace("SUM(Sales[Amount])", "SUM(Sales[Amount]) + 0"),
    )
    .unwrap();
    let Run {
        code, stdout: json, ..
    } = plan(dir.path(), "json", &[]);
    assert_eq!(code, 2);
    let planned: Value = serde_json::from_str(&json).unwrap();
    let first = &planned["changes"][0];
    assert_eq!(first["action"], "delete", "{json}");
    assert!(
        first["address"].as_str().unwrap().contains("Web Rates"),
        "{first}"
    );
    apply(dir.path(), &[]);
    let state = service(dir.path());
    let names: Vec<&str> = state["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["Sales"]);
    assert_eq!(plan(dir.path(), "text", &[]).code, 0);
}
