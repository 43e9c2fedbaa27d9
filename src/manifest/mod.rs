//! The manifest: YAML -> typed, resolved manifest for one environment.
//!
//! Pipeline (untrusted input, see docs/manifest.md): size cap and UTF-8 check -> YAML events
//! with limits into JSON + a position tree -> JSON Schema (all errors) ->
//! environment overrides and `${var}` interpolation -> typed model -> semantic checks.

pub mod interpolate;
pub mod model;
pub mod model_rules;
pub mod names;
pub mod parse;
pub mod paths;
pub mod placeholder;
pub mod positions;
pub mod project;
pub mod schema;
pub mod secret;
pub mod semantic;
pub mod state;
pub mod state_location;
pub mod time_zones;
pub mod yaml;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::domain::secret_ref::SecretRef;
pub use model::*;
pub use positions::PosMap;
pub use secret::SecretError;

use crate::diagnostics::{Diagnostic, Diagnostics, Pos};
use positions::escape;

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
    /// Where the ledger lives, after the environment's override (`file:` paths absolute).
    pub state: Option<State>,
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
}

/// A manifest file read, parsed and checked against the schema, not yet resolved for an
/// environment: `validate` resolves one document for each environment it declares.
pub struct Document {
    path: PathBuf,
    display: String,
    source: String,
    value: Value,
    positions: PosMap,
}

impl Document {
    /// Reads and parses the manifest at `path` (the schema is checked when it is resolved).
    pub fn read(path: &Path) -> Result<Document, Diagnostics> {
        let display = path.display().to_string();
        let source = parse::read_source(path, &display)?;

        let mut doc = Document {
            path: path.to_path_buf(),
            display,
            source,
            value: Value::Null,
            positions: PosMap::default(),
        };
        let (value, positions) =
            parse::parse_document(&doc.source).map_err(|d| doc.fail(vec![d]))?;
        if value.is_null() {
            let diag = Diagnostic::new("empty-manifest", "the manifest is empty")
                .hint("start with `apiVersion: pbideploy/v1` and a `workspaces:` list");
            return Err(doc.fail(vec![diag]));
        }
        doc.value = value;
        doc.positions = positions;
        Ok(doc)
    }

    /// The names of the environments the manifest declares.
    pub fn environment_names(&self) -> Vec<String> {
        self.value
            .get("environments")
            .and_then(Value::as_object)
            .map(|envs| envs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Checks the document against the schema, then resolves it for each of `envs` in turn
    /// (the last one takes the document, the others a copy), handing each result to `each`.
    /// Schema errors are handed over once, with no environment.
    pub fn resolve_each(
        mut self,
        envs: &[Option<String>],
        vars: &[(String, String)],
        mut each: impl FnMut(Option<&str>, Result<LoadedManifest, Diagnostics>),
    ) {
        if matches!(envs, [None]) && !self.source.contains('$') {
            // Nothing will change the document: check the schema and look for placeholders
            // on a second thread while this one builds the model from the same value.
            let ((errors, placeholders), resolved) = std::thread::scope(|scope| {
                let checks = scope.spawn(|| {
                    let errors = schema::validate(&self.value, &self.positions);
                    let mut placeholders = Vec::new();
                    placeholder::check(&self.value, &self.positions, &mut placeholders);
                    (errors, placeholders)
                });
                let resolved =
                    self.resolve_value(Cow::Borrowed(&self.value), None, vars, Placeholders::Skip);
                let checked = checks
                    .join()
                    .unwrap_or_else(|_| (vec![schema_crashed()], Vec::new()));
                (checked, resolved)
            });
            let result = match (errors.is_empty(), placeholders.is_empty(), resolved) {
                (false, ..) => Err(self.fail(errors)),
                (true, true, resolved) => resolved,
                (true, false, Ok(_)) => Err(self.fail(placeholders)),
                (true, false, Err(mut all)) => {
                    all.items.extend(placeholders);
                    all.sort();
                    Err(all)
                }
            };
            each(None, result);
            drop_in_background(self);
            return;
        }
        let errors = schema::validate(&self.value, &self.positions);
        if !errors.is_empty() {
            return each(None, Err(self.fail(errors)));
        }
        for (i, env) in envs.iter().enumerate() {
            let value = if i + 1 == envs.len() {
                std::mem::take(&mut self.value)
            } else {
                self.value.clone()
            };
            each(
                env.as_deref(),
                self.resolve_value(Cow::Owned(value), env.as_deref(), vars, Placeholders::Check),
            );
        }
    }

    fn fail(&self, diags: Vec<Diagnostic>) -> Diagnostics {
        let mut all = Diagnostics::new(self.display.clone(), Some(self.source.clone()));
        all.items = diags;
        all.sort();
        all
    }

    /// `value` is borrowed only when nothing changes it: no environment, no `$` in the file.
    fn resolve_value(
        &self,
        mut value: Cow<'_, Value>,
        env: Option<&str>,
        vars: &[(String, String)],
        placeholders: Placeholders,
    ) -> Result<LoadedManifest, Diagnostics> {
        let mut positions = self.positions.clone();
        let mut diags = Vec::new();
        let variables = apply_environment(&mut value, env, vars, &mut positions, &mut diags);
        // Without a `$` in the file there is nothing to interpolate.
        if diags.is_empty() && self.source.contains('$') {
            interpolate::interpolate_tree(value.to_mut(), "", &variables, &positions, &mut diags);
        }
        if !diags.is_empty() {
            return Err(self.fail(diags));
        }
        if placeholders == Placeholders::Check {
            placeholder::check(&value, &positions, &mut diags);
        }
        let typed = match value {
            Cow::Owned(value) => serde_json::from_value(value),
            Cow::Borrowed(value) => Manifest::deserialize(value),
        };
        let mut manifest: Manifest = typed.map_err(|err| {
            self.fail(vec![Diagnostic::new(
                "schema",
                format!("the manifest does not match the model: {err}"),
            )])
        })?;
        let (canonical, root) = locate(&self.path).map_err(|d| self.fail(vec![d]))?;
        fill_spans(&mut manifest, &positions);
        keep_written_numbers(&mut manifest, &positions);
        let mut errors = semantic::check(&mut manifest, &root, &positions);
        errors.append(&mut diags);
        if !errors.is_empty() {
            return Err(self.fail(errors));
        }
        resolve_secret_paths(&mut manifest, &root);
        Ok(LoadedManifest {
            path: canonical,
            root,
            environment: env.map(str::to_owned),
            service: manifest.service.clone().unwrap_or_default(),
            state: manifest.state.clone(),
            variables,
            workspaces: manifest.workspaces,
            positions,
        })
    }
}

/// Loads, checks and resolves the manifest at `path` for environment `env`, with `--var`
/// values `vars`. Returns every problem found, sorted by position.
pub fn load(
    path: &Path,
    env: Option<&str>,
    vars: &[(String, String)],
) -> Result<LoadedManifest, Diagnostics> {
    let mut loaded = None;
    let envs = [env.map(str::to_owned)];
    Document::read(path)?.resolve_each(&envs, vars, |_, result| loaded = Some(result));
    loaded.unwrap_or_else(|| Err(Diagnostics::new(path.display().to_string(), None)))
}

/// Frees a large value on another thread: freeing a whole document takes milliseconds the
/// caller need not wait for (a command may even exit first, which frees everything at once).
pub fn drop_in_background<T: Send + 'static>(value: T) {
    // When no thread can be started, the closure and the value are dropped right here.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// Whether [`Document::resolve_value`] looks for placeholders, or its caller does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    Check,
    Skip,
}

fn schema_crashed() -> Diagnostic {
    Diagnostic::new("internal-schema", "the schema check stopped unexpectedly")
        .hint("this is a bug in pbideploy; please report it with the manifest")
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
    value: &mut Cow<'_, Value>,
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
                overlay_environment(value.to_mut(), name, &overlay, positions, diags);
            }
        }
    }
    raw.extend(cli_vars.iter().cloned());
    let env_vars = env.map(|e| format!("/environments/{}/variables", escape(e)));
    interpolate::check_references(
        &raw,
        |name| {
            if cli_vars.iter().any(|(n, _)| n == name) {
                return None;
            }
            let overlay = env_vars.as_ref().map(|p| format!("{p}/{}", escape(name)));
            let from_env = overlay.filter(|p| value.pointer(p).is_some_and(Value::is_string));
            Some(
                positions
                    .value(&from_env.unwrap_or_else(|| format!("/variables/{}", escape(name)))),
            )
        },
        diags,
    );
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
    for key in ["service", "state"] {
        if let Some(v) = overlay.get(key) {
            value[key] = v.clone();
            positions.graft(&format!("{env_ptr}/{key}"), &format!("/{key}"));
        }
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

/// Sets each item's span from the positions. Datasets are reached from their workspace's
/// list, not from the root: an environment may replace a workspace's `datasets`, never
/// part of one dataset.
fn fill_spans(manifest: &mut Manifest, positions: &PosMap) {
    fn fill<T>(
        items: &mut [T],
        found: Vec<(usize, Pos)>,
        span: fn(&mut T) -> &mut Span,
    ) -> Vec<usize> {
        let mut indices = Vec::with_capacity(found.len());
        for (item, (index, pos)) in items.iter_mut().zip(found) {
            *span(item) = Span {
                line: pos.line,
                column: pos.column,
            };
            indices.push(index);
        }
        indices
    }
    let found = positions.items("/workspaces");
    fill(&mut manifest.workspaces, found, |w| &mut w.span);
    for (w, ws) in manifest.workspaces.iter_mut().enumerate() {
        let base = format!("/workspaces/{w}");
        fill(
            &mut ws.reports,
            positions.items(&format!("{base}/reports")),
            |r| &mut r.span,
        );
        let found = positions.items(&format!("{base}/datasets"));
        let indices = fill(&mut ws.datasets, found, |d| &mut d.span);
        for (ds, index) in ws.datasets.iter_mut().zip(indices) {
            let found = positions.member_items(index, "credentials");
            fill(&mut ds.credentials, found, |c| &mut c.span);
            let found = positions.member_items(index, "datasources");
            fill(&mut ds.datasources, found, |r| &mut r.span);
        }
    }
}

/// M parameters are text on the wire: a number is sent as the user wrote it (`01234`,
/// `1.10`, `0x1F`), not as its canonical form (`1234`, `1.1`, `31`); an alias sends the text
/// its anchor was written as.
fn keep_written_numbers(manifest: &mut Manifest, positions: &PosMap) {
    for (w, ws) in manifest.workspaces.iter_mut().enumerate() {
        for (d, ds) in ws.datasets.iter_mut().enumerate() {
            for (name, value) in ds.parameters.iter_mut() {
                let ParameterValue::Number(number) = value else {
                    continue;
                };
                let pointer = format!("/workspaces/{w}/datasets/{d}/parameters/{}", escape(name));
                if let Some(text) = positions.written(&pointer)
                    && yaml::plain_value(text) == Value::Number(number.clone())
                {
                    *value = ParameterValue::Text(text.to_owned());
                }
            }
        }
    }
}

/// Rewrites each `{file: ...}` secret as the plan shows it and [`secret::resolve`] reads it:
/// relative to the manifest's folder, `/`-separated (`./s/pw` and `/abs/root/s/pw` both
/// become `s/pw`).
fn resolve_secret_paths(manifest: &mut Manifest, root: &Path) {
    if let Some(state) = &mut manifest.state {
        // The state credential is read by the ledger backend, not by [`secret::resolve`]:
        // it stays absolute.
        if let Some(SecretRef::File(path)) = &mut state.credential
            && Path::new(path.as_str()).is_relative()
        {
            *path = root.join(&*path).to_string_lossy().into_owned();
        }
        if let Some(rel) = state.url.strip_prefix("file:")
            && Path::new(rel).is_relative()
        {
            state.url = format!("file:{}", root.join(rel).display());
        }
    }
    for cred in manifest
        .workspaces
        .iter_mut()
        .flat_map(|w| w.datasets.iter_mut())
        .flat_map(|d| d.credentials.iter_mut())
    {
        for (_, secret) in cred.secrets_mut() {
            if let Some(SecretRef::File(path)) = secret {
                *path = paths::relative(root, &root.join(&*path));
            }
        }
    }
}
