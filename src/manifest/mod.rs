//! The manifest: YAML -> typed, resolved manifest for one environment.
//!
//! Pipeline (untrusted input, see docs/manifest.md): size cap and UTF-8 check -> serde-saphyr
//! with budgets into a spanned tree -> JSON + pointer positions -> JSON Schema (all errors) ->
//! environment overrides and `${var}` interpolation -> typed model -> semantic checks.

pub mod interpolate;
pub mod model;
pub mod names;
pub mod parse;
pub mod paths;
pub mod schema;
pub mod secret;
pub mod semantic;
pub mod span_tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use model::*;
pub use secret::{SecretError, SecretRef};
pub use span_tree::PosMap;

use crate::diagnostics::{Diagnostic, Diagnostics};
use span_tree::escape;

/// A manifest resolved for one environment: variables interpolated, overrides applied, `pbix`
/// paths absolute and canonical, report targets resolved. Secrets stay references.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The manifest file, canonical.
    pub path: PathBuf,
    /// The manifest's folder, canonical; every PBIX lies under it.
    pub root: PathBuf,
    /// The environment chosen with `--env`, if any.
    pub environment: Option<String>,
    /// Service settings after the environment's override (public cloud when omitted).
    pub service: Service,
    /// The final variable values (manifest, environment, then `--var`).
    pub variables: BTreeMap<String, String>,
    pub workspaces: Vec<Workspace>,
    /// Positions of every value by JSON pointer, for later errors.
    pub positions: PosMap,
}

impl LoadedManifest {
    /// Counts (workspaces, datasets, reports).
    pub fn counts(&self) -> (usize, usize, usize) {
        let datasets = self.workspaces.iter().map(|w| w.datasets.len()).sum();
        let reports = self.workspaces.iter().map(|w| w.reports.len()).sum();
        (self.workspaces.len(), datasets, reports)
    }

    /// The names of the environments the manifest declares.
    pub fn environment_names(path: &Path) -> Vec<String> {
        read_env_names(path).unwrap_or_default()
    }
}

/// Reads the top-level `environments` keys from the parsed tree directly: converting the
/// whole tree to JSON with positions would double the cost of `validate` on a large manifest.
fn read_env_names(path: &Path) -> Option<Vec<String>> {
    let text = parse::read_source(path, "").ok()?;
    let tree = parse::parse_tree(&text).ok()?;
    let span_tree::Node::Map(top) = &tree.value else {
        return None;
    };
    let (_, envs) = top.iter().find(|(k, _)| k.value == "environments")?;
    let span_tree::Node::Map(envs) = &envs.value else {
        return None;
    };
    Some(envs.iter().map(|(k, _)| k.value.clone()).collect())
}

/// Loads, checks and resolves the manifest at `path` for environment `env`, with `--var`
/// values `vars`. Returns every problem found, sorted by position.
pub fn load(
    path: &Path,
    env: Option<&str>,
    vars: &[(String, String)],
) -> Result<LoadedManifest, Diagnostics> {
    let display = path.display().to_string();
    let source = parse::read_source(path, &display)?;
    let fail = |diags: Vec<Diagnostic>, source: &str| {
        let mut all = Diagnostics::new(display.clone(), Some(source.to_owned()));
        all.items = diags;
        all.sort();
        all
    };
    let tree = parse::parse_tree(&source).map_err(|d| fail(vec![d], &source))?;
    let mut positions = PosMap::default();
    let mut value = span_tree::to_json(&tree, &mut positions);
    drop(tree);
    if value.is_null() {
        let diag = Diagnostic::new("empty-manifest", "the manifest is empty")
            .hint("start with `apiVersion: pbideploy/v1` and a `workspaces:` list");
        return Err(fail(vec![diag], &source));
    }
    let errors = schema::validate(&value, &positions);
    if !errors.is_empty() {
        return Err(fail(errors, &source));
    }
    let mut diags = Vec::new();
    let variables = apply_environment(&mut value, env, vars, &mut positions, &mut diags);
    if diags.is_empty() {
        interpolate::interpolate_tree(&mut value, "", &variables, &positions, &mut diags);
    }
    if !diags.is_empty() {
        return Err(fail(diags, &source));
    }
    let mut manifest: Manifest = serde_json::from_value(value).map_err(|err| {
        fail(
            vec![Diagnostic::new(
                "schema",
                format!("the manifest does not match the model: {err}"),
            )],
            &source,
        )
    })?;
    let (canonical, root) = locate(path).map_err(|d| fail(vec![d], &source))?;
    fill_spans(&mut manifest, &positions);
    let errors = semantic::check(&mut manifest, &root, &positions);
    if !errors.is_empty() {
        return Err(fail(errors, &source));
    }
    resolve_secret_paths(&mut manifest, &root);
    Ok(LoadedManifest {
        path: canonical,
        root,
        environment: env.map(str::to_owned),
        service: manifest.service.clone().unwrap_or_default(),
        variables,
        workspaces: manifest.workspaces,
        positions,
    })
}

fn locate(path: &Path) -> Result<(PathBuf, PathBuf), Diagnostic> {
    let canonical = path.canonicalize().map_err(|e| {
        Diagnostic::new(
            "file-unreadable",
            format!("cannot resolve the manifest path: {e}"),
        )
    })?;
    let root = canonical
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok((canonical, root))
}

/// Applies the chosen environment to the JSON document and returns the variables in force.
fn apply_environment(
    value: &mut Value,
    env: Option<&str>,
    cli_vars: &[(String, String)],
    positions: &mut PosMap,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let mut raw = string_map(value.get("variables"));
    if let Some(name) = env {
        let envs = value.get("environments").and_then(Value::as_object);
        match envs.and_then(|e| e.get(name)).cloned() {
            None => {
                let known: Vec<String> = envs
                    .map(|e| e.keys().cloned().collect())
                    .unwrap_or_default();
                let hint = if known.is_empty() {
                    "the manifest declares no `environments`; drop --env".to_owned()
                } else {
                    format!("known environments: {}", known.join(", "))
                };
                diags.push(
                    Diagnostic::new(
                        "unknown-environment",
                        format!("environment `{name}` is not declared in the manifest"),
                    )
                    .at(positions.key("/environments"))
                    .hint(hint),
                );
            }
            Some(overlay) => {
                raw.extend(string_map(overlay.get("variables")));
                overlay_environment(value, name, &overlay, positions, diags);
            }
        }
    }
    raw.extend(cli_vars.iter().cloned());
    match interpolate::resolve_variables(&raw) {
        Ok(vars) => vars,
        Err((first, chain)) => {
            diags.push(
                Diagnostic::new(
                    "variable-cycle",
                    format!("variables refer to each other in a cycle: {chain}"),
                )
                .at(positions.key(&format!("/variables/{}", escape(&first))))
                .hint("break the cycle: one of these variables must be a plain value"),
            );
            raw
        }
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|obj| {
            obj.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn overlay_environment(
    value: &mut Value,
    env: &str,
    overlay: &Value,
    positions: &mut PosMap,
    diags: &mut Vec<Diagnostic>,
) {
    let env_ptr = format!("/environments/{}", escape(env));
    if let Some(service) = overlay.get("service") {
        value["service"] = service.clone();
        positions.graft(&format!("{env_ptr}/service"), "/service");
    }
    let Some(overrides) = overlay.get("workspaces").and_then(Value::as_object) else {
        return;
    };
    for (key, fields) in overrides {
        let from = format!("{env_ptr}/workspaces/{}", escape(key));
        let index = value["workspaces"].as_array().and_then(|list| {
            list.iter()
                .position(|w| w.get("name").and_then(Value::as_str) == Some(key.as_str()))
        });
        let Some(i) = index else {
            diags.push(
                Diagnostic::new("unknown-override", format!("environment `{env}` overrides workspace `{key}`, which `workspaces` does not declare"))
                    .at(positions.key(&from))
                    .hint("use the workspace `name` exactly as written under `workspaces`"),
            );
            continue;
        };
        if let Some(obj) = fields.as_object() {
            for (field, v) in obj {
                value["workspaces"][i][field] = v.clone();
                positions.graft(
                    &format!("{from}/{}", escape(field)),
                    &format!("/workspaces/{i}/{}", escape(field)),
                );
            }
        }
    }
}

fn span_at(positions: &PosMap, pointer: &str) -> Span {
    let pos = positions.value(pointer);
    Span {
        line: pos.line,
        column: pos.column,
    }
}

fn fill_spans(manifest: &mut Manifest, positions: &PosMap) {
    for (w, ws) in manifest.workspaces.iter_mut().enumerate() {
        let base = format!("/workspaces/{w}");
        ws.span = span_at(positions, &base);
        for (d, ds) in ws.datasets.iter_mut().enumerate() {
            let at = format!("{base}/datasets/{d}");
            ds.span = span_at(positions, &at);
            for (c, cred) in ds.credentials.iter_mut().enumerate() {
                cred.span = span_at(positions, &format!("{at}/credentials/{c}"));
            }
            for (r, rule) in ds.datasources.iter_mut().enumerate() {
                rule.span = span_at(positions, &format!("{at}/datasources/{r}"));
            }
        }
        for (r, report) in ws.reports.iter_mut().enumerate() {
            report.span = span_at(positions, &format!("{base}/reports/{r}"));
        }
    }
}

fn resolve_secret_paths(manifest: &mut Manifest, root: &Path) {
    for cred in manifest
        .workspaces
        .iter_mut()
        .flat_map(|w| w.datasets.iter_mut())
        .flat_map(|d| d.credentials.iter_mut())
    {
        for secret in [&mut cred.password, &mut cred.key, &mut cred.token]
            .into_iter()
            .flatten()
        {
            if let SecretRef::File(path) = secret
                && path.is_relative()
            {
                *path = root.join(&*path);
            }
        }
    }
}
