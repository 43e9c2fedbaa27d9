//! The top-level module graph, checked: each module may import only modules of lower layers,
//! so the graph has no cycle and no upward edge. `cargo test --lib module_graph -- --nocapture`
//! prints it (docs/architecture.md explains the layers). Edges are the `crate::<module>` paths
//! in each module's non-test code. Below every layer sit the workspace crates the root
//! re-exports under a module name ([`CRATES`]): the compiler keeps them from importing the root,
//! and their manifests are checked to name no crate above them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lowest first. A module may import modules of lower layers only, none of its own layer.
const LAYERS: &[&[&str]] = &[
    &["untrusted_file", "sanitize", "pbix"],
    &["diagnostics", "model_facts", "inspect"],
    &["domain"],
    &["manifest"],
    &["ledger", "live"],
    &["init", "plan"],
    &["apply"],
    &["session", "logging"],
    // The command-line edge: clap definitions, the error shown to the user, the commands.
    &["cli", "error"],
    &["commands"],
    &["module_graph"],
];

/// Upward edges that exist and are to go, listed so that no new one appears unnoticed; an
/// entry that no longer exists fails too (remove it).
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// Workspace crates re-exported by `src/lib.rs` as `pub use <crate> as <module>;`: (module
/// name, folder). Any module may import them; they may depend on no workspace crate but those
/// in [`BELOW_CRATES`] (a dev-dependency on `pbideploy` would compile, so it is checked here).
const CRATES: &[(&str, &str)] = &[("env_vars", "env-vars"), ("powerbi", "powerbi")];

/// The workspace packages a crate of [`CRATES`] may depend on: low-level ones, never
/// `pbideploy` nor the emulator.
const BELOW_CRATES: &[&str] = &["pbideploy-env", "pbix", "windows-time-zones"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Module -> the top-level modules its non-test code names as `crate::<module>`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "tests" {
                    stack.push(path);
                }
                continue;
            }
            if !name.ends_with(".rs") || name == "tests.rs" {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            if module == "main" || module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let deps = edges.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let after = &line[i + "crate::".len()..];
                    let target: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    let boundary = line[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                    if boundary && !target.is_empty() && target != module {
                        deps.insert(target);
                    }
                }
            }
        }
    }
    edges
}

#[test]
fn the_module_graph_has_no_cycle_and_no_upward_edge() {
    let edges = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut problems = Vec::new();
    let mut upward = Vec::new();
    for (module, deps) in &edges {
        println!(
            "{module} -> {}",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        let Some(from) = layer_of(module) else {
            problems.push(format!("`{module}` is in no layer of LAYERS: add it"));
            continue;
        };
        for dep in deps.iter().filter(|d| !CRATES.iter().any(|(m, _)| m == *d)) {
            match layer_of(dep) {
                None => problems.push(format!("`{dep}` (used by `{module}`) is in no layer")),
                Some(to) if to < from => {}
                Some(_) if KNOWN_UPWARD.contains(&(module.as_str(), dep.as_str())) => {
                    upward.push((module.as_str(), dep.as_str()));
                }
                Some(_) => problems.push(format!("`{module}` imports `{dep}`: not a lower layer")),
            }
        }
    }
    for known in KNOWN_UPWARD {
        if !upward.contains(known) {
            problems.push(format!("{known:?} is gone: remove it from KNOWN_UPWARD"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The package names of the workspace members (folders listed in the root manifest).
fn workspace_packages(root: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find_map(|l| l.strip_prefix("members = ["))
        .unwrap();
    members
        .split(',')
        .map(|m| m.trim().trim_end_matches(']').trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| package_name(&std::fs::read_to_string(root.join(m).join("Cargo.toml")).unwrap()))
        .collect()
}

fn package_name(manifest: &str) -> String {
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned()
}

/// The dependency names in every `[*dependencies]` table of a manifest.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.trim_matches(['[', ']']).ends_with("dependencies");
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            let key = line.split(['=', '.']).next().unwrap_or("").trim();
            out.push(key.to_owned());
        }
    }
    out
}

#[test]
fn the_reexported_crates_depend_on_nothing_above_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let members = workspace_packages(root);
    let mut problems = Vec::new();
    for (module, folder) in CRATES {
        let manifest = std::fs::read_to_string(root.join(folder).join("Cargo.toml")).unwrap();
        let package = package_name(&manifest);
        let reexport = format!("pub use {} as {module};", package.replace('-', "_"));
        if !lib.lines().any(|l| l == reexport) {
            problems.push(format!("src/lib.rs lacks `{reexport}`"));
        }
        for dep in dependencies(&manifest) {
            if members.contains(&dep) && !BELOW_CRATES.contains(&dep.as_str()) {
                problems.push(format!("{folder}/Cargo.toml depends on `{dep}`: above it"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
