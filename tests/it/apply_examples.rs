//! Every example manifest in `manifests/` (each of its environments) applies to the built-in
//! local service, a second apply changes nothing, `plan --detailed-exitcode` exits 0, and the
//! service holds exactly one dataset and report of each name the manifest declares.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Values for every secret reference the examples use (sentinels, checked for leaks below).
const SECRETS: &[(&str, &str)] = &[
    ("INVENTORY_SQL_PASSWORD", "sentinel-inventory-7f3a"),
    ("SQL_ACCESS_TOKEN", "sentinel-token-91bc"),
];
const FILE_SECRET: (&str, &str) = ("secrets/sql-password.txt", "sentinel-file-44d2");

/// The examples' tree without the ledgers and caches a local run may have left.
fn copy_dir(from: &Path, to: &Path) {
    crate::support::copy_dir_filtered(from, to, &|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name == ".pbideploy" || name.ends_with("-state.json")
    });
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = crate::support::pbideploy();
    cmd.current_dir(dir).args(args);
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    crate::support::code_and_text(&out)
}

/// The example manifests and, for each, its environments (`None` when it declares none).
fn examples(root: &Path) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        match doc["environments"].as_object() {
            Some(envs) if !envs.is_empty() => {
                out.extend(envs.keys().map(|e| (name.clone(), Some(e.clone()))));
            }
            _ => out.push((name, None)),
        }
    }
    out
}

fn count_by_name(state: &Value, kind: &str) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for item in state[kind].as_array().into_iter().flatten() {
        let key = (
            item["groupId"].as_str().unwrap_or_default().to_string(),
            item["name"].as_str().unwrap_or_default().to_string(),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[test]
fn every_example_applies_and_re_applies_as_a_no_op() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let all = examples(&root);
    assert!(all.len() >= 5, "examples found: {all:?}");
    for (file, env) in all {
        let what = format!("{file} {}", env.as_deref().unwrap_or("(no environment)"));
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&root, tmp.path());
        let secret = tmp.path().join(FILE_SECRET.0);
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, FILE_SECRET.1).unwrap();

        let mut base = vec!["--service", "local", "-f", file.as_str()];
        if let Some(e) = &env {
            base.extend(["--env", e.as_str()]);
        }
        let with = |cmd: &[&'static str]| -> Vec<&str> {
            let mut v: Vec<&str> = cmd.to_vec();
            v.extend(base.iter().copied());
            v
        };

        let (code, first) = run(tmp.path(), &with(&["apply", "--auto-approve"]));
        assert_eq!(code, 0, "{what}: first apply failed:\n{first}");
        assert!(first.contains("Apply complete:"), "{what}:\n{first}");

        let (code, second) = run(tmp.path(), &with(&["apply", "--auto-approve"]));
        assert_eq!(code, 0, "{what}: second apply failed:\n{second}");
        assert!(
            second.contains("No changes. The service matches the manifest."),
            "{what}: the second apply is not a no-op:\n{second}"
        );

        let (code, plan) = run(tmp.path(), &with(&["plan", "--detailed-exitcode"]));
        assert_eq!(code, 0, "{what}: plan after apply shows changes:\n{plan}");

        for (_, value) in SECRETS.iter().chain([&FILE_SECRET]) {
            for (label, text) in [("first apply", &first), ("second apply", &second)] {
                assert!(
                    !text.contains(value),
                    "{what}: a secret reached the {label} output"
                );
            }
        }
        let ledger_name = format!(
            "{}.{}.pbideploy-state.json",
            file.trim_end_matches(".yaml"),
            env.as_deref().unwrap_or("default")
        );
        let ledger = std::fs::read_to_string(tmp.path().join(&ledger_name)).unwrap();
        for (_, value) in SECRETS.iter().chain([&FILE_SECRET]) {
            assert!(
                !ledger.contains(value),
                "{what}: a secret reached the ledger"
            );
        }

        let text = std::fs::read_to_string(tmp.path().join(".pbideploy/local/state.json")).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        for kind in ["datasets", "reports"] {
            for ((group, name), n) in count_by_name(&state, kind) {
                assert_eq!(
                    n, 1,
                    "{what}: {n} {kind} named {name:?} in workspace {group}"
                );
            }
        }
    }
}
