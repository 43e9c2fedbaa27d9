//! `pbideploy validate` end to end: the invalid corpus (each file's diagnostics pinned, with
//! line and column, in a `.expected` file beside it, and the code each file exists for in
//! `expected-codes.txt`), the example manifests, and hostile inputs
//! generated at test time. Update the pins with: PBIDEPLOY_UPDATE_EXPECTED=1 cargo test --test it validate::

use std::path::{Path, PathBuf};

use crate::support::{Run, assert_cli_snapshot};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `# env: NAME` first-line comment some corpus files use to pick an environment.
fn env_of(text: &str) -> Option<String> {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# env: "))
        .map(|s| s.trim().to_owned())
}

/// The diagnostics of loading a corpus file, None when it is valid.
fn diagnostics(path: &Path) -> Option<pbideploy::diagnostics::Diagnostics> {
    let text = std::fs::read_to_string(path).unwrap();
    let env = env_of(&text);
    pbideploy::manifest::load(path, env.as_deref(), &[]).err()
}

fn render(path: &Path) -> String {
    let Some(diags) = diagnostics(path) else {
        return "VALID\n".to_owned();
    };
    let mut out = String::new();
    for d in &diags.items {
        out.push_str(&format!(
            "{}:{} [{}] {}\n",
            d.line, d.column, d.code, d.message
        ));
        if let Some(hint) = &d.hint {
            out.push_str(&format!("    hint: {hint}\n"));
        }
    }
    out.replace(&root().display().to_string(), "<repo>")
}

/// The corpus's `.yaml` files, sorted.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_corpus_diagnostics_are_pinned() {
    let dir = root().join("tests/manifests/invalid");
    let update = std::env::var_os("PBIDEPLOY_UPDATE_EXPECTED").is_some();
    let files = corpus_files(&dir);
    assert!(
        files.len() >= 40,
        "the corpus should have at least 40 files"
    );
    let mut failures = Vec::new();
    for path in &files {
        let actual = render(path);
        assert_ne!(actual, "VALID\n", "{} should be invalid", path.display());
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `tests/manifests/invalid/expected-codes.txt`: corpus file stem -> the diagnostic code the
/// file exists to trigger (blank lines and `#` comments allowed).
fn expected_codes(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let table = dir.join("expected-codes.txt");
    let text = std::fs::read_to_string(&table).unwrap();
    let mut codes = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, code] = fields[..] else {
            panic!("{}:{}: expected `<file> <code>`", table.display(), i + 1);
        };
        let previous = codes.insert(name.to_owned(), code.to_owned());
        assert!(previous.is_none(), "{}: `{name}` twice", table.display());
    }
    codes
}

#[test]
fn every_corpus_file_fails_first_on_the_rule_it_exists_for() {
    let dir = root().join("tests/manifests/invalid");
    let mut codes = expected_codes(&dir);
    let mut failures = Vec::new();
    let files = corpus_files(&dir);
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(want) = codes.remove(&stem) else {
            failures.push(format!("{stem}.yaml has no line in expected-codes.txt"));
            continue;
        };
        let first = diagnostics(path).and_then(|d| d.items.first().map(|d| d.code));
        if first != Some(want.as_str()) {
            failures.push(format!(
                "{stem}.yaml: first diagnostic {first:?}, want {want}"
            ));
        }
    }
    for stem in codes.keys() {
        failures.push(format!(
            "expected-codes.txt names {stem}.yaml, which is absent"
        ));
    }
    assert!(
        files.len() >= 40,
        "the corpus should have at least 40 files"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn example_manifests_validate() {
    let dir = root().join("manifests");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../schemas/pbideploy.schema.json\n"
                ),
                "{} lacks the schema line",
                path.display()
            );
            let out = crate::support::pbideploy()
                .args(["validate", "--color", "never", "-f"])
                .arg(&path)
                .output()
                .unwrap();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert_cli_snapshot!(format!("example_{stem}"), Run::from(out));
            count += 1;
        }
    }
    assert!(count >= 4);
}

#[test]
fn environments_resolve_differently() {
    let path = root().join("manifests/environments.yaml");
    let test = pbideploy::manifest::load(&path, Some("test"), &[]).unwrap();
    let prod = pbideploy::manifest::load(&path, Some("prod"), &[]).unwrap();
    assert_eq!(test.workspaces[0].name, "Sales [Test]");
    assert_eq!(prod.workspaces[0].name, "Sales");
    assert_eq!(prod.workspaces[0].access.len(), 2);
    assert!(prod.workspaces[0].capacity.is_some() && test.workspaces[0].capacity.is_none());
    let param = |m: &pbideploy::manifest::LoadedManifest| {
        m.workspaces[0].datasets[0].parameters["Server"].to_wire()
    };
    assert_eq!(param(&test), "sql-test.contoso.com");
    assert_eq!(param(&prod), "sql-prod.contoso.com");
    assert!(
        prod.workspaces[0].datasets[0]
            .pbix
            .as_ref()
            .unwrap()
            .is_absolute()
    );
    // --var wins over the environment.
    let vars = [("server".to_owned(), "override".to_owned())];
    let over = pbideploy::manifest::load(&path, Some("test"), &vars).unwrap();
    assert_eq!(param(&over), "override");
}

#[test]
fn shared_dataset_reports_resolve_to_the_other_workspace() {
    let m = pbideploy::manifest::load(&root().join("manifests/shared-dataset.yaml"), None, &[])
        .unwrap();
    let report = &m.workspaces[1].reports[0];
    assert_eq!(report.target.workspace, "Sales Data");
    assert_eq!(report.target.dataset, "Sales");
    assert_eq!((report.span.line, report.span.column), (35, 9));
    let cred = &m.workspaces[0].datasets[0].credentials[0];
    // Secret files are kept as the plan shows them: relative to the manifest's folder.
    assert_eq!(
        cred.password.as_ref().unwrap().to_string(),
        "file:secrets/sql-password.txt"
    );
}

#[test]
fn process_environment_is_never_interpolated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        "apiVersion: pbideploy/v1\nworkspaces:\n  - name: ${HOME}\n",
    )
    .unwrap();
    let err = pbideploy::manifest::load(&path, None, &[]).unwrap_err();
    assert_eq!(err.items[0].code, "unknown-variable");
}

#[test]
fn json_format_prints_diagnostics_on_stdout() {
    let path = root().join("tests/manifests/invalid/literal-password.yaml");
    let run = Run::from(
        crate::support::pbideploy()
            .args(["validate", "--format", "json", "-f"])
            .arg(&path)
            .output()
            .unwrap(),
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json[0]["code"], "literal-secret");
    assert_eq!(json[0]["line"], 10);
    assert_eq!(json[0]["column"], 23);
    assert!(
        !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
        "the literal secret must not be echoed"
    );
    assert_cli_snapshot!(run);
}

#[test]
fn text_format_shows_location_and_snippet_on_stderr() {
    let path = root().join("tests/manifests/invalid/unknown-field-workspace.yaml");
    let out = crate::support::pbideploy()
        .args(["validate", "--color", "never", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_cli_snapshot!(Run::from(out));
}

#[test]
fn literal_secrets_are_not_echoed_in_text_output() {
    let path = root().join("tests/manifests/invalid/literal-password.yaml");
    let run = Run::from(
        crate::support::pbideploy()
            .args(["validate", "--color", "never", "-f"])
            .arg(&path)
            .output()
            .unwrap(),
    );
    assert!(
        !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
        "the literal secret must not be echoed"
    );
    assert_cli_snapshot!(run);
}

fn validate_file(contents: &[u8]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.yaml");
    std::fs::write(&path, contents).unwrap();
    Run::from(
        crate::support::pbideploy()
            .args(["validate", "--color", "never", "--format", "json", "-f"])
            .arg(&path)
            .output()
            .unwrap(),
    )
}

#[test]
fn billion_laughs_is_rejected() {
    let mut yaml = String::from(
        "apiVersion: pbideploy/v1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let prev = i - 1;
        yaml.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    yaml.push_str("workspaces: []\n");
    assert_cli_snapshot!(validate_file(yaml.as_bytes()));
}

#[test]
fn deep_nesting_is_rejected() {
    let yaml = format!(
        "apiVersion: pbideploy/v1\nworkspaces:\n  {}x\n",
        "- ".repeat(10_000)
    );
    assert_cli_snapshot!("deep_nesting_block", validate_file(yaml.as_bytes()));
    let flow = format!(
        "apiVersion: pbideploy/v1\nworkspaces: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_cli_snapshot!("deep_nesting_flow", validate_file(flow.as_bytes()));
}

#[test]
fn fifty_megabyte_file_is_rejected_before_parsing() {
    let mut yaml = b"apiVersion: pbideploy/v1\nworkspaces: []\n# ".to_vec();
    yaml.resize(50 * 1024 * 1024, b'x');
    assert_cli_snapshot!(validate_file(&yaml));
}

#[test]
fn invalid_utf8_reports_the_byte_offset() {
    assert_cli_snapshot!(validate_file(
        b"apiVersion: pbideploy/v1\nworkspaces:\n  - name: caf\xe9\n"
    ));
}

#[test]
fn without_env_every_environment_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pbix")).unwrap();
    std::fs::copy(
        root().join("manifests/pbix/sales.pbix"),
        dir.path().join("pbix/sales.pbix"),
    )
    .unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        "apiVersion: pbideploy/v1\nenvironments:\n  test:\n    variables: {ws: T}\n  prod: {}\nworkspaces:\n  - name: ${ws}\n",
    )
    .unwrap();
    let all = crate::support::pbideploy()
        .args(["validate", "--color", "never", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_cli_snapshot!("every_environment", Run::from(all));
    let test = crate::support::pbideploy()
        .args(["validate", "--color", "never", "--env", "test", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_cli_snapshot!("environment_test", Run::from(test));
}

#[test]
fn var_and_service_are_checked_by_the_command_line_parser() {
    // A usage error (exit 2, clap's format) before any file is read.
    let var = crate::support::pbideploy()
        .args(["validate", "-f", "absent.yaml", "--var", "novalue"])
        .output()
        .unwrap();
    assert_cli_snapshot!("var_without_value", Run::from(var));
    let service = crate::support::pbideploy()
        .args(["plan", "-f", "absent.yaml", "--service", "remote"])
        .output()
        .unwrap();
    assert_cli_snapshot!("unknown_service", Run::from(service));
}
