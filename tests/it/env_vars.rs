//! Every environment variable pbideploy reads is named once, in the `pbideploy-env` crate
//! (`env-vars/src/lib.rs`, re-exported as `pbideploy::env_vars`), and read only through its
//! `VarSource`: no source file of pbideploy's crates reads the process environment directly
//! or spells a declared name as a string literal.

use std::path::{Path, PathBuf};

/// The sources held to the rule, relative to the workspace root: the root crate and the
/// workspace crates it is built from that may read variables (the emulator, `pbix` and
/// `windows-time-zones` read none and are separate concerns).
const SCANNED: &[&str] = &["src", "powerbi/src", "env-vars/src"];

/// The one file that declares the names.
const DECLARATIONS: &str = "env-vars/src/lib.rs";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names declared in `DECLARATIONS`, read from its `pub const NAME: &str = "NAME";` lines.
fn declared() -> Vec<String> {
    std::fs::read_to_string(root().join(DECLARATIONS))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub const ")?.split_once(':'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The non-test code of every `.rs` file under `dir` but the declarations: unit tests may
/// name variables to set them in a `VarSource` map.
fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path != root().join(DECLARATIONS)
            && !path.ends_with("tests.rs")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
            out.push((path, code));
        }
    }
}

/// What is wrong in `code`: direct reads of the process environment, and declared names
/// spelled as literals instead of `env_vars::NAME`.
fn problems_in(path: &Path, code: &str, names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let path = path.strip_prefix(root()).unwrap_or(path).display();
    for direct in ["env::var(", "env::var_os(", "env::vars("] {
        if code.contains(direct) {
            problems.push(format!("{path}: reads `{direct}` instead of a VarSource"));
        }
    }
    for name in names {
        if code.contains(&format!("\"{name}\"")) {
            problems.push(format!(
                "{path}: spells \"{name}\" instead of env_vars::{name}"
            ));
        }
    }
    problems
}

#[test]
fn every_variable_is_named_once_and_read_through_var_source() {
    let names = declared();
    assert!(names.len() > 15, "{names:?}");
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in SCANNED {
        let dir = root().join(dir);
        assert!(dir.is_dir(), "{}: absent; is SCANNED stale?", dir.display());
        sources(&dir, &mut files);
    }
    assert!(files.len() > 100, "only {} files found", files.len());
    for (path, code) in &files {
        problems.extend(problems_in(path, code, &names));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_direct_read_and_a_spelled_name() {
    let names = declared();
    let path = root().join("powerbi/src/example.rs");
    let code = "fn f() { std::env::var(\"AZURE_CLIENT_ID\"); }";
    let problems = problems_in(&path, code, &names);
    assert_eq!(
        problems,
        [
            "powerbi/src/example.rs: reads `env::var(` instead of a VarSource",
            "powerbi/src/example.rs: spells \"AZURE_CLIENT_ID\" instead of env_vars::AZURE_CLIENT_ID",
        ]
    );
}
