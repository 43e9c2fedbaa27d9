//! One read per fact per run (#15): apply uses the ids imports and creates return, reuses the
//! lists the plan read, knows cloud from gateway data sources from what it read (no 404 in a
//! clean apply), sends gateway credentials once, and reads a changed list again only when a
//! step changed it. Counted from the emulator's request log.

use crate::emulator_cli;

use emulator_cli::reliability::request_log;
use emulator_cli::{GATEWAY_DQ_MANIFEST, emulator, rich_workdir, run};
use serde_json::Value;

/// Three datasets with a parameter and Basic credentials on the cloud source it names.
fn cloud(database: Option<&str>) -> String {
    let mut m = String::from(
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: Reads Once\n    create: true\n    datasets:\n",
    );
    let db = database
        .map(|d| format!(", Database: {d}"))
        .unwrap_or_default();
    for name in ["Model A", "Model B", "Model C"] {
        m += &format!(
            r#"      - name: {name}
        pbix: pbix/inventory-dq.pbix
        parameters: {{Server: sql02.database.windows.net{db}}}
        credentials:
          - match: {{type: Sql, connectionDetails: {{server: sql02.database.windows.net}}}}
            type: Basic
            username: svc
            password: {{env: RESUME_SQL_PASSWORD}}
"#
        );
    }
    m
}

/// Requests of `log` (from index `from`) with this method whose path ends as `tail` says.
fn count(log: &[Value], from: usize, method: &str, tail: &[&str]) -> usize {
    log[from..]
        .iter()
        .filter(|r| r["method"] == method)
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or_default().to_ascii_lowercase();
            let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
            parts.len() >= tail.len()
                && parts[parts.len() - tail.len()..]
                    .iter()
                    .zip(tail)
                    .all(|(p, t)| *t == "*" || p == t)
        })
        .count()
}

fn statuses(log: &[Value], from: usize, status: u64) -> Vec<String> {
    log[from..]
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_cloud_apply_reads_each_fact_once_and_meets_no_404() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = rich_workdir();
    std::fs::write(dir.path().join("pbideploy.yaml"), cloud(None)).unwrap();

    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let log = request_log(&emu).await;
    assert_eq!(statuses(&log, 0, 404), Vec::<String>::new(), "no 404");
    // The workspace is new: its lists are known empty, and every id comes from a response.
    assert_eq!(count(&log, 0, "GET", &["groups", "*", "datasets"]), 0);
    assert_eq!(count(&log, 0, "GET", &["groups", "*", "imports"]), 0);
    assert_eq!(count(&log, 0, "GET", &["groups", "*", "reports"]), 0);
    // Looked up by name once, by the plan.
    assert_eq!(count(&log, 0, "GET", &["groups"]), 1);
    // The cloud gateway is never looked up; the gateway list is read once.
    assert_eq!(count(&log, 0, "GET", &["gateways", "*"]), 0);
    assert_eq!(count(&log, 0, "GET", &["gateways"]), 1);
    // Per dataset: one data-source read (after the parameters) and one credentials PATCH.
    assert_eq!(count(&log, 0, "GET", &["datasets", "*", "datasources"]), 3);
    assert_eq!(
        count(&log, 0, "PATCH", &["gateways", "*", "datasources", "*"]),
        3
    );

    // A parameter change on existing datasets: the plan's lists serve apply.
    std::fs::write(dir.path().join("pbideploy.yaml"), cloud(Some("Stock"))).unwrap();
    let mark = request_log(&emu).await.len();
    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let log = request_log(&emu).await;
    assert_eq!(statuses(&log, mark, 404), Vec::<String>::new(), "no 404");
    assert_eq!(
        count(&log, mark, "GET", &["groups", "*", "datasets"]),
        1,
        "the dataset list is read by the plan only"
    );
    assert_eq!(count(&log, mark, "GET", &["groups"]), 1);
    assert_eq!(count(&log, mark, "POST", &["default.updateparameters"]), 3);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_credentials_are_sent_once_when_apply_creates_the_source() {
    let emu = emulator().await;
    let url = emu.url();
    let dir = rich_workdir();
    std::fs::write(dir.path().join("pbideploy.yaml"), GATEWAY_DQ_MANIFEST).unwrap();

    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    let log = request_log(&emu).await;
    assert_eq!(statuses(&log, 0, 404), Vec::<String>::new(), "no 404");
    assert_eq!(count(&log, 0, "POST", &["gateways", "*", "datasources"]), 1);
    assert_eq!(
        count(&log, 0, "PATCH", &["gateways", "*", "datasources", "*"]),
        0,
        "the credentials went with Create Datasource"
    );
    assert_eq!(count(&log, 0, "GET", &["gateways"]), 1, "read by the plan");
    assert_eq!(count(&log, 0, "GET", &["gateways", "*", "datasources"]), 1);
    assert_eq!(count(&log, 0, "GET", &["groups", "*", "datasets"]), 0);

    let (code, out) = run(&url, dir.path(), &["apply", "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes."), "{out}");
    emu.shutdown().await;
}
