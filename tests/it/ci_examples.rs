//! The pipeline examples under examples/ci/ parse as YAML and call only pbideploy commands and
//! flags that exist (each command's `--help` is run and must list every flag used, and the
//! whole command line must parse); every command and subcommand's `--help` has an example;
//! the shell completion scripts know every command.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use pbideploy::cli::Cli;
use serde_json::Value;

fn example(name: &str) -> (String, Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let value: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
    (text, value)
}

/// Every shell script in the document: the values of `run`, `script` and `inlineScript`.
fn scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("run" | "script" | "inlineScript", Value::String(s)) => out.push(s.clone()),
                    _ => scripts(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| scripts(i, out)),
        _ => {}
    }
}

/// Shell words of one command (quotes removed; a word with a variable becomes `VALUE`),
/// stopping at a redirection, pipe or list operator.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, ' ' | '\t') => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, '>' | '|' | ';' | '&') => break,
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|w| {
            if w.contains('$') {
                "VALUE".to_string()
            } else {
                w
            }
        })
        .collect()
}

/// The pbideploy command lines of a script (lines that start with `pbideploy`).
fn invocations(script: &str) -> Vec<Vec<String>> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pbideploy "))
        .map(words)
        .collect()
}

/// The subcommand path of an invocation, e.g. `["state", "adopt"]`.
fn command_path(args: &[String]) -> Vec<String> {
    let mut cmd = Cli::command();
    let mut path = Vec::new();
    for a in &args[1..] {
        let Some(sub) = cmd.find_subcommand(a).cloned() else {
            break;
        };
        path.push(a.clone());
        cmd = sub;
    }
    path
}

fn help(path: &[String]) -> String {
    let out = crate::support::pbideploy()
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "pbideploy {path:?} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when `help` has an option line for `flag` (`--out <FILE>`, `-f, --file <FILE>`, ...).
fn lists_flag(help: &str, flag: &str) -> bool {
    help.lines().any(|line| {
        line.trim_start().split(", ").any(|part| {
            part.strip_prefix(flag).is_some_and(|rest| {
                !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
            })
        })
    })
}

/// The steps that use the pbideploy Action (`uses: pbideploy/pbideploy@...`).
fn action_steps(v: &Value, out: &mut Vec<serde_json::Map<String, Value>>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(uses)) = m.get("uses")
                && uses.starts_with("pbideploy/pbideploy@")
            {
                out.push(m.clone());
            }
            m.values().for_each(|v| action_steps(v, out));
        }
        Value::Array(items) => items.iter().for_each(|i| action_steps(i, out)),
        _ => {}
    }
}

/// The pbideploy command line the Action's run step (action/run.sh) runs for one example step:
/// the script is run with the step's inputs and a fake `pbideploy` that records its arguments.
fn action_call(step: &serde_json::Map<String, Value>) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let declared = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let declared: Value = serde_saphyr::from_str(&declared).unwrap();
    let with = step
        .get("with")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in with.keys() {
        assert!(
            declared["inputs"].get(key).is_some(),
            "input {key} is not in action.yml"
        );
    }
    let input = |key: &str| match with.get(key) {
        Some(Value::String(s)) if s.contains("${{") => "VALUE".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("argv");
    let fake = dir.path().join("pbideploy");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf '%s\\n' pbideploy \"$@\" > \"$RECORD\"\n",
    )
    .unwrap();
    let chmod = std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .unwrap();
    assert!(chmod.success());
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg(root.join("action/run.sh"))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("RECORD", &record)
        .env("PBIDEPLOY_COMMAND", input("command"))
        .env("PBIDEPLOY_MANIFEST", input("manifest"))
        .env("PBIDEPLOY_ENVIRONMENT", input("environment"))
        .env("PBIDEPLOY_PLAN_FILE", input("plan-file"))
        .env("PBIDEPLOY_ARGS", input("args"))
        .env("GITHUB_OUTPUT", dir.path().join("github_output"))
        .env("RUNNER_TEMP", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "action/run.sh for {step:?}: {out:?}");
    let argv = std::fs::read_to_string(&record).unwrap();
    argv.lines().map(str::to_owned).collect()
}

/// Checks one example's pbideploy calls (its scripts' and its pbideploy Action steps');
/// returns them for further checks.
fn check_calls(name: &str) -> (String, Vec<Vec<String>>) {
    let (text, value) = example(name);
    let mut all = Vec::new();
    scripts(&value, &mut all);
    let mut calls: Vec<Vec<String>> = all.iter().flat_map(|s| invocations(s)).collect();
    let mut steps = Vec::new();
    action_steps(&value, &mut steps);
    calls.extend(steps.iter().map(action_call));
    assert!(calls.len() >= 2, "{name}: {calls:?}");
    for call in &calls {
        let path = command_path(call);
        assert!(!path.is_empty(), "{name}: no pbideploy command in {call:?}");
        let text = help(&path);
        assert!(
            text.contains("Example: pbideploy"),
            "{path:?} --help has no example"
        );
        for flag in call.iter().filter(|w| w.starts_with('-')) {
            let flag = flag.split('=').next().unwrap_or(flag);
            assert!(
                lists_flag(&text, flag),
                "{name}: `pbideploy {}` uses {flag}, which its --help does not list:\n{text}",
                path.join(" ")
            );
        }
        if let Err(e) = Cli::try_parse_from(call) {
            panic!("{name}: {call:?} does not parse: {e}");
        }
    }
    (text, calls)
}

fn has(calls: &[Vec<String>], command: &str, flags: &[&str]) -> bool {
    calls.iter().any(|c| {
        c.get(1).map(String::as_str) == Some(command)
            && flags.iter().all(|f| c.iter().any(|w| w == f))
    })
}

#[test]
fn github_actions_example_plans_comments_and_applies_a_saved_plan_with_oidc() {
    let (text, calls) = check_calls("github-actions.yml");
    assert!(has(
        &calls,
        "plan",
        &["--detailed-exitcode", "--out", "--format", "markdown"]
    ));
    assert!(
        has(&calls, "apply", &["plan.json", "--auto-approve"]),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| !c.contains(&"--auth".to_string()) || c.contains(&"github-oidc".to_string()))
    );
    assert!(text.contains("id-token: write"));
    assert!(text.contains("uses: pbideploy/pbideploy@v1") && text.contains("comment: true"));
    assert!(
        !text.contains("cargo install"),
        "the example installs a release binary"
    );
    let action =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
            .unwrap();
    assert!(action.contains("updateComment") && action.contains("<!-- pbideploy-plan -->"));
    assert!(
        !text.contains("AZURE_CLIENT_SECRET"),
        "OIDC needs no client secret"
    );
}

#[test]
fn azure_devops_example_has_plan_approval_and_apply_stages() {
    let (text, calls) = check_calls("azure-pipelines.yml");
    let (_, v) = example("azure-pipelines.yml");
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert_eq!(stages, ["Plan", "Apply"]);
    assert_eq!(
        v["stages"][1]["jobs"][0]["environment"], "powerbi-prod",
        "the apply stage waits on the environment's approval"
    );
    assert!(has(
        &calls,
        "plan",
        &[
            "--detailed-exitcode",
            "--out",
            "--auth",
            "workload-identity"
        ]
    ));
    assert!(
        has(&calls, "apply", &["--auto-approve", "workload-identity"]),
        "{calls:?}"
    );
    assert!(text.contains("addSpnToEnvironment: true"));
    assert!(!text.contains("AZURE_CLIENT_SECRET"));
}

/// Every command and subcommand, e.g. `["state", "adopt"]`.
fn all_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        out.push(path.clone());
        all_paths(sub, &path, out);
    }
}

#[test]
fn every_command_help_has_an_example_of_itself() {
    Cli::command().debug_assert();
    let mut paths = Vec::new();
    all_paths(&Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 11, "{paths:?}");
    for path in paths {
        let text = help(&path);
        let want = format!("Example: pbideploy {}", path.join(" "));
        assert!(
            text.contains(&want),
            "`pbideploy {} --help` lacks `{want}`:\n{text}",
            path.join(" ")
        );
    }
}

#[test]
fn completion_scripts_cover_every_shell_and_the_new_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = crate::support::pbideploy()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for word in ["init", "adopt", "pbix-dir", "detailed-exitcode"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
}
