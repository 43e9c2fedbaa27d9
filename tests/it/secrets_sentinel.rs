//! Sentinel secrets: distinctive values passed through every kind of secret reference
//! (`{env: ...}` and `{file: ...}`, as a Basic password sent to a cloud source, a password
//! encrypted for a gateway, a Key and an OAuth2 token read for fingerprints) and through the
//! client secret used to authenticate, then searched for in everything pbideploy writes:
//! stdout and stderr at trace level (text and JSON logs), saved plans and every plan format,
//! `show`, the ledger and `state`, the `--json` event stream and the GitHub step summary.
//! The emulator's state proves the secrets were really resolved and sent. Under GitHub
//! Actions, the only place a secret may appear is its own `::add-mask::` line, before use.

use crate::reliability;

use std::path::Path;

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

/// Rules for a Key and an OAuth2 token, only planned (plan reads the secrets to fingerprint
/// them), in a second manifest whose Sales dataset uses [`sources_pbix`], which has a Web and
/// an OData source for them to match (`validate` refuses rules that match no source).
const EXTRA_RULES: &str = r#"          - match: {type: Web}
            type: Key
            key: {file: secrets/web-key.txt}
          - match: {type: OData}
            type: OAuth2
            token: {env: SENTINEL_ODATA_TOKEN}
"#;

/// A model PBIX (TMSL) with the Sales parameters and a Sql, a Web and an OData source.
fn sources_pbix() -> Vec<u8> {
    use std::io::Write;
    let param =
        r#"\"x\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"#;
    let part = |name: &str, m: &str| {
        format!(
            r#"{{"name":"{name}","partitions":[{{"name":"{name}","mode":"import","source":{{"type":"m","expression":"{m}"}}}}]}}"#
        )
    };
    let schema = format!(
        r#"{{"name":"s","model":{{"expressions":[{{"name":"Server","kind":"m","expression":"{param}"}},{{"name":"Database","kind":"m","expression":"{param}"}}],"tables":[{},{},{}]}}}}"#,
        part("Orders", "Sql.Database(Server, Database)"),
        part("Web", r#"Web.Contents(\"https://example.com/api\")"#),
        part("Feed", r#"OData.Feed(\"https://example.com/odata\")"#),
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(schema.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

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
    std::fs::write(root.join("pbix/sources.pbix"), sources_pbix()).unwrap();
    let extra = MANIFEST
        .replacen(marker, &format!("{marker}{EXTRA_RULES}"), 1)
        .replacen("pbix/sales.pbix", "pbix/sources.pbix", 1);
    assert_ne!(extra, MANIFEST);
    std::fs::write(root.join("extra.yaml"), extra).unwrap();
    tmp
}

/// One CLI run with the SQL password variable set to `password`: (exit code, stdout,
/// stderr). `-f m.yaml` is added unless the command names its own file or is `show`.
fn run(
    dir: &Path,
    url: &str,
    password: &str,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let own_file = (args.contains(&"show") && !args.contains(&"state")) || args.contains(&"-f");
    let out = reliability::cli(dir, url, CLIENT_SECRET)
        .env("SENTINEL_SQL_PASSWORD", password)
        .env("SENTINEL_ODATA_TOKEN", ENV_TOKEN)
        .envs(extra_env.iter().copied())
        .args(args)
        .args(["--color", "never"])
        .args(if own_file {
            &[][..]
        } else {
            &["-f", "m.yaml"][..]
        })
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let rt = reliability::runtime();
    let emu = rt.block_on(start(EmulatorConfig::default())).unwrap();
    let url = emu.url();
    let tmp = project();
    let dir = tmp.path();
    // (name, arguments after -vvv, SQL password), in order: plans and shows before the first
    // apply, then apply with JSON events and JSON logs, a rotation applied as text, plan.
    let mut steps: Vec<(String, Vec<String>, &str)> = Vec::new();
    let mut step = |name: &str, args: &[&str], password| {
        let args = args.iter().map(|a| a.to_string()).collect();
        steps.push((name.to_string(), args, password));
    };
    step("validate", &["validate"], ENV_PASSWORD);
    for format in ["text", "markdown", "json"] {
        let saved = format!("plan-{format}.json");
        let plan = ["plan", "--format", format, "--out", &saved];
        step(&format!("plan --format {format}"), &plan, ENV_PASSWORD);
        for show in ["text", "markdown", "json"] {
            let args = ["show", &saved, "--format", show];
            step(
                &format!("show {saved} --format {show}"),
                &args,
                ENV_PASSWORD,
            );
        }
    }
    let extra = ["plan", "-f", "extra.yaml", "--out", "extra-plan.json"];
    step("plan (Key and OAuth2 rules)", &extra, ENV_PASSWORD);
    let show_extra = ["show", "extra-plan.json", "--format", "json"];
    step("show (Key and OAuth2 rules)", &show_extra, ENV_PASSWORD);
    let apply_json = ["--log-format", "json", "apply", "--auto-approve", "--json"];
    step("apply --json (JSON logs)", &apply_json, ENV_PASSWORD);
    step("apply (rotated)", &["apply", "--auto-approve"], ROTATED);
    step(
        "plan (converged)",
        &["plan", "--detailed-exitcode"],
        ROTATED,
    );
    step("state list", &["state", "list"], ROTATED);
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut listed = String::new();
    for (name, args, password) in &steps {
        let args: Vec<&str> = ["-vvv"]
            .into_iter()
            .chain(args.iter().map(String::as_str))
            .collect();
        listed = record(&mut outputs, name, run(dir, &url, password, &[], &args), 0);
    }
    for address in listed.lines().filter(|l| l.starts_with("workspace[")) {
        let args = ["-vvv", "state", "show", address.trim()];
        let name = format!("state show {address}");
        record(&mut outputs, &name, run(dir, &url, ROTATED, &[], &args), 0);
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
    for file in reliability::files(dir) {
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
    let rt = reliability::runtime();
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
    assert!(
        !summary.exists(),
        "apply wrote the step summary: search it here"
    );
    // `plan` writes the step summary; the extra rules make it read all four file and env
    // secrets (for fingerprints).
    let plan = ["-vvv", "plan", "-f", "extra.yaml", "--format", "markdown"];
    let (code, out, err) = run(dir, &url, ENV_PASSWORD, &gh, &plan);
    assert_eq!(code, 0, "{out}\n{err}");
    let text = std::fs::read_to_string(&summary).expect("plan wrote $GITHUB_STEP_SUMMARY");
    let markdown = out
        .lines()
        .filter(|l| !l.starts_with("::"))
        .collect::<Vec<_>>();
    assert!(
        markdown.len() > 3 && text.contains(&markdown.join("\n")),
        "the step summary holds the plan's Markdown\n{text}\n---\n{out}"
    );
    for s in sentinels() {
        assert!(!text.contains(s), "{s} in the step summary");
    }
    rt.block_on(emu.shutdown());
}

/// `pbideploy apply ... | head -0` under GitHub Actions: the `::add-mask::` lines meet a
/// closed stdout. The apply goes on and ends as any apply with a closed stdout does (exit 0,
/// nothing on stderr), never with a panic; the emulator shows the secret was still sent.
#[test]
fn under_github_actions_a_closed_stdout_does_not_stop_apply() {
    let rt = reliability::runtime();
    let emu = rt.block_on(start(EmulatorConfig::default())).unwrap();
    let tmp = project();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = reliability::cli(tmp.path(), &emu.url(), CLIENT_SECRET)
        .env("SENTINEL_SQL_PASSWORD", ENV_PASSWORD)
        .env("GITHUB_ACTIONS", "true")
        .args(["apply", "--auto-approve", "-f", "m.yaml"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        emu.snapshot().to_string().contains(ENV_PASSWORD),
        "the apply did not set the credentials"
    );
    rt.block_on(emu.shutdown());
}
