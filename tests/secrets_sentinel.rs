//! Sentinel secrets: distinctive values passed through every kind of secret reference
//! (`{env: ...}` and `{file: ...}`, as a Basic password sent to a cloud source, a password
//! encrypted for a gateway, a Key and an OAuth2 token read for fingerprints) and through the
//! client secret used to authenticate, then searched for in everything pbideploy writes:
//! stdout and stderr at trace level (text and JSON logs), saved plans and every plan format,
//! `show`, the ledger and `state`, the `--json` event stream and the GitHub step summary.
//! The emulator's state proves the secrets were really resolved and sent. Under GitHub
//! Actions, the only place a secret may appear is its own `::add-mask::` line, before use.

use std::path::{Path, PathBuf};

use pbideploy_emulator::{EmulatorConfig, start};

const ENV_PASSWORD: &str = "Sentinel-EnvPw-5d1e";
const FILE_PASSWORD: &str = "Sentinel-FilePw-a8c2";
const FILE_KEY: &str = "Sentinel-FileKey-77b4";
const ENV_TOKEN: &str = "Sentinel-EnvTok-0c9f";
const CLIENT_SECRET: &str = "Sentinel-ClientSecret-e13a";
const ROTATED: &str = "Sentinel-Rotated-4b6d";

const MANIFEST: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: Sentinel
    create: true
    datasets:
      - name: Sales
        pbix: pbix/sales.pbix
        parameters: {Server: sql-prod.contoso.com, Database: Sales}
        credentials:
          - match: {type: Sql}
            type: Basic
            username: reader
            password: {env: SENTINEL_SQL_PASSWORD}
        refresh:
          onApply: never
      - name: Inventory
        pbix: pbix/inventory-dq.pbix
        datasources:
          - match:
              type: Sql
              connectionDetails: {server: sql01, database: Inventory}
            set:
              connectionDetails: {server: sql01.corp.contoso.com, database: Inventory}
        gateway:
          name: Local Gateway
          createDatasources: true
        credentials:
          - match: {type: Sql}
            type: Basic
            username: svc
            password: {file: secrets/gateway-password.txt}
        refresh:
          onApply: never
"#;

/// Rules for a Key and an OAuth2 token. The fixtures have no Web or OData source, so these are
/// only planned (plan reads the secrets to fingerprint them), in a second manifest.
const EXTRA_RULES: &str = r#"          - match: {type: Web}
            type: Key
            key: {file: secrets/web-key.txt}
          - match: {type: OData}
            type: OAuth2
            token: {env: SENTINEL_ODATA_TOKEN}
"#;

fn sentinels() -> [&'static str; 6] {
    [
        ENV_PASSWORD,
        FILE_PASSWORD,
        FILE_KEY,
        ENV_TOKEN,
        CLIENT_SECRET,
        ROTATED,
    ]
}

fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pbix = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/pbix");
    std::fs::create_dir_all(root.join("pbix")).unwrap();
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    for name in ["sales.pbix", "inventory-dq.pbix"] {
        std::fs::copy(pbix.join(name), root.join("pbix").join(name)).unwrap();
    }
    std::fs::write(root.join("secrets/web-key.txt"), format!("{FILE_KEY}\n")).unwrap();
    std::fs::write(
        root.join("secrets/gateway-password.txt"),
        format!("{FILE_PASSWORD}\n"),
    )
    .unwrap();
    std::fs::write(root.join("m.yaml"), MANIFEST).unwrap();
    let marker = "            password: {env: SENTINEL_SQL_PASSWORD}\n";
    let extra = MANIFEST.replacen(marker, &format!("{marker}{EXTRA_RULES}"), 1);
    assert_ne!(extra, MANIFEST);
    std::fs::write(root.join("extra.yaml"), extra).unwrap();
    tmp
}

/// One CLI run: (exit code, stdout, stderr).
fn run(
    dir: &Path,
    url: &str,
    password: &str,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("pbideploy"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AZURE_TENANT_ID", "sentinel")
        .env("AZURE_CLIENT_ID", "sentinel-deployer")
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", url)
        .env("PBIDEPLOY_SERVICE_URL", url)
        .env("SENTINEL_SQL_PASSWORD", password)
        .env("SENTINEL_ODATA_TOKEN", ENV_TOKEN)
        .envs(extra_env.iter().copied())
        .args(args)
        .args(["--color", "never"])
        .args(
            if (args.contains(&"show") && !args.contains(&"state")) || args.contains(&"-f") {
                &[][..]
            } else {
                &["-f", "m.yaml"][..]
            },
        )
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Keeps a run's output for the search; returns its stdout.
fn record(
    outputs: &mut Vec<(String, String)>,
    name: &str,
    (code, out, err): (i32, String, String),
    want: i32,
) -> String {
    assert_eq!(code, want, "{name} exited {code}\n{out}\n{err}");
    outputs.push((format!("{name} stdout"), out.clone()));
    outputs.push((format!("{name} stderr"), err));
    out
}

/// Every leak of `secrets` in `text`, as "secret in what".
fn leaks(what: &str, text: &str, secrets: &[&str], found: &mut Vec<String>) {
    for s in secrets {
        if text.contains(s) {
            found.push(format!("{s} in {what}"));
        }
    }
}

#[test]
fn no_sentinel_secret_reaches_any_output_file_or_log() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(start(EmulatorConfig::default())).unwrap();
    let url = emu.url();
    let tmp = project();
    let dir = tmp.path();
    let trace = ["-vvv"];
    let mut outputs: Vec<(String, String)> = Vec::new();
    fn cmd<'a>(trace: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [trace, args].concat()
    }

    record(
        &mut outputs,
        "validate",
        run(dir, &url, ENV_PASSWORD, &[], &cmd(&trace, &["validate"])),
        0,
    );
    for format in ["text", "markdown", "json"] {
        let saved = format!("plan-{format}.json");
        let args = cmd(&trace, &["plan", "--format", format, "--out", &saved]);
        record(
            &mut outputs,
            &format!("plan --format {format}"),
            run(dir, &url, ENV_PASSWORD, &[], &args),
            0,
        );
        for show in ["text", "markdown", "json"] {
            let args = cmd(&trace, &["show", &saved, "--format", show]);
            record(
                &mut outputs,
                &format!("show --format {show}"),
                run(dir, &url, ENV_PASSWORD, &[], &args),
                0,
            );
        }
    }
    let args = cmd(
        &trace,
        &["plan", "-f", "extra.yaml", "--out", "extra-plan.json"],
    );
    record(
        &mut outputs,
        "plan (Key and OAuth2 rules)",
        run(dir, &url, ENV_PASSWORD, &[], &args),
        0,
    );
    let args = cmd(&trace, &["show", "extra-plan.json", "--format", "json"]);
    record(
        &mut outputs,
        "show (Key and OAuth2 rules)",
        run(dir, &url, ENV_PASSWORD, &[], &args),
        0,
    );
    let args = cmd(
        &trace,
        &["--log-format", "json", "apply", "--auto-approve", "--json"],
    );
    record(
        &mut outputs,
        "apply --json (JSON logs)",
        run(dir, &url, ENV_PASSWORD, &[], &args),
        0,
    );
    // Rotate the env secret: a text apply sends the new value.
    let args = cmd(&trace, &["apply", "--auto-approve"]);
    record(
        &mut outputs,
        "apply (rotated)",
        run(dir, &url, ROTATED, &[], &args),
        0,
    );
    let args = cmd(&trace, &["plan", "--detailed-exitcode"]);
    record(
        &mut outputs,
        "plan (converged)",
        run(dir, &url, ROTATED, &[], &args),
        0,
    );
    let listed = record(
        &mut outputs,
        "state list",
        run(dir, &url, ROTATED, &[], &cmd(&trace, &["state", "list"])),
        0,
    );
    for address in listed.lines().filter(|l| l.starts_with("workspace[")) {
        let args = cmd(&trace, &["state", "show", address.trim()]);
        record(
            &mut outputs,
            &format!("state show {address}"),
            run(dir, &url, ROTATED, &[], &args),
            0,
        );
    }

    // The secrets were really resolved and sent: the emulator holds them (decrypted).
    let state = emu.snapshot().to_string();
    for sent in [ROTATED, FILE_PASSWORD] {
        assert!(
            state.contains(sent),
            "{sent} never reached the service: the test would prove nothing"
        );
    }
    let token = emu
        .with_model(|m| m.tokens.keys().next().cloned())
        .expect("a token was issued");

    let secrets: Vec<&str> = sentinels().into_iter().chain([token.as_str()]).collect();
    let mut found = Vec::new();
    let mut inputs = 0;
    for (what, text) in &outputs {
        inputs += 1;
        leaks(what, text, &secrets, &mut found);
    }
    for file in files(dir) {
        if file.starts_with(dir.join("secrets")) || file.extension().is_some_and(|e| e == "pbix") {
            continue;
        }
        inputs += 1;
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        leaks(&file.display().to_string(), &text, &secrets, &mut found);
    }
    assert!(
        outputs
            .iter()
            .any(|(w, t)| w.contains("stderr") && t.contains("TRACE")),
        "trace logs were not produced"
    );
    println!(
        "secrets: {} (sentinels and the access token) searched in {inputs} outputs and files; {} leaks",
        secrets.len(),
        found.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
    rt.block_on(emu.shutdown());
}

#[test]
fn under_github_actions_secrets_appear_only_in_their_add_mask_lines_before_use() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(start(EmulatorConfig::default())).unwrap();
    let url = emu.url();
    let tmp = project();
    let dir = tmp.path();
    let summary = dir.join("step-summary.md");
    let summary_s = summary.display().to_string();
    let gh = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_s.as_str()),
    ];
    let (code, out, err) = run(
        dir,
        &url,
        ENV_PASSWORD,
        &gh,
        &["-vvv", "apply", "--auto-approve"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    let first_step = lines
        .iter()
        .position(|l| l.contains("Creating...") || l.contains("Modifying..."))
        .expect("apply printed its steps");
    for secret in [ENV_PASSWORD, FILE_PASSWORD, FILE_KEY, ENV_TOKEN] {
        let mask = format!("::add-mask::{secret}");
        let at: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(secret))
            .map(|(i, _)| i)
            .collect();
        // The secrets the apply sends are masked, each once, before the first step runs.
        if [ENV_PASSWORD, FILE_PASSWORD].contains(&secret) {
            assert_eq!(at.len(), 1, "{secret}: {at:?}\n{out}");
        }
        for i in at {
            assert_eq!(lines[i], mask, "{secret} outside its mask line");
            assert!(i < first_step, "{secret} masked only after the steps began");
        }
        assert!(!err.contains(secret), "{secret} in stderr");
    }
    if let Ok(text) = std::fs::read_to_string(&summary) {
        for s in sentinels() {
            assert!(!text.contains(s), "{s} in the step summary");
        }
    }
    rt.block_on(emu.shutdown());
}
