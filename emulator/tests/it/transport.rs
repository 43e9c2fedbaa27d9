//! Transport realism and the control API.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test]
async fn throttling_gives_429_with_retry_after() {
    let (emu, c) = emulator(EmulatorConfig {
        throttle_rps: 2.0,
        ..EmulatorConfig::default()
    })
    .await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = c
            .get(format!("{url}/v1.0/myorg/groups"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            let secs: u64 = r.headers()["Retry-After"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1);
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert!(statuses.contains(&429));
    // lifting the limit at run time
    let r = c
        .post(format!("{url}/_emulator/faults"))
        .json(&json!({"throttleRps": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.get(format!("{url}/v1.0/myorg/groups"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_are_deterministic_for_a_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (emu, c) = emulator(EmulatorConfig {
            fault_rate: 0.5,
            seed: 7,
            ..EmulatorConfig::default()
        })
        .await;
        let url = emu.url();
        let tok = token(&c, &url, "app-1").await;
        let mut outcome = Vec::new();
        for _ in 0..20 {
            match c
                .get(format!("{url}/v1.0/myorg/groups"))
                .bearer_auth(&tok)
                .send()
                .await
            {
                Ok(r) => match r.text().await {
                    Ok(_) => outcome.push("ok-or-5xx"),
                    Err(_) => outcome.push("dropped"),
                },
                Err(_) => outcome.push("dropped"),
            }
        }
        let log = body(
            c.get(format!("{url}/_emulator/requests"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let statuses: Vec<u64> = log["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert!(statuses.iter().any(|s| *s >= 500), "{statuses:?}");
        runs.push((outcome, statuses));
        emu.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn control_api_state_requests_reset() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    create_group(&c, &url, &tok, "W").await;
    let state = body(
        c.get(format!("{url}/_emulator/state"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(state["groups"][0]["name"], "W");
    assert!(
        state["gateways"][0]["privateKeyPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PRIVATE KEY")
    );
    let log = body(
        c.get(format!("{url}/_emulator/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let last = log["value"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], "/v1.0/myorg/groups");
    assert_eq!(last["query"], "workspaceV2=True");
    assert_eq!(last["principal"], "app-1");
    assert!(!log.to_string().contains("s3cret"));
    assert_eq!(
        c.post(format!("{url}/_emulator/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let state = body(
        c.get(format!("{url}/_emulator/state"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(state["groups"], json!([]));
    // tokens are gone after a reset
    assert_eq!(
        c.get(format!("{url}/v1.0/myorg/groups"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn state_file_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = EmulatorConfig {
        state_file: Some(file.clone()),
        ..EmulatorConfig::default()
    };
    let (emu, c) = emulator(config.clone()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let g = create_group(&c, &url, &tok, "Persisted").await;
    emu.shutdown().await;
    assert!(file.exists());
    let (emu, c) = emulator(config).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{g}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["name"], "Persisted");
    // A restarted emulator hands out fresh ids, not the ones already in its state.
    let g2 = create_group(&c, &url, &tok, "After restart").await;
    assert_ne!(g, g2, "an id from before the restart was handed out again");
    emu.shutdown().await;
}

#[tokio::test]
async fn binary_prints_base_url_first() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pbideploy-emulator"))
        .args(["--listen", "127.0.0.1:0", "--seed", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let r = reqwest::get(format!("{url}/v1.0/myorg/groups"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    child.kill().unwrap();
    child.wait().unwrap();
}
