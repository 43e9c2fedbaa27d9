//! The JSON Schema: generated from the model types (`generate`), committed as
//! `schemas/pbideploy.schema.json`, and used here to validate the parsed YAML. Every schema
//! error becomes a diagnostic with a stable code, a position and, where known, a fix hint.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::model::Manifest;
use super::positions::PosMap;
use crate::diagnostics::Diagnostic;

/// The committed schema, the one editors use. A test keeps it equal to `generate()`.
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/pbideploy.schema.json");

/// Generates the schema from the Rust types (pretty JSON with a trailing newline).
pub fn generate() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Manifest>();
    let mut value = schema.to_value();
    strip_null(&mut value);
    if let Value::Object(obj) = &mut value {
        obj.insert(
            "$id".into(),
            Value::String("https://pbideploy.dev/schemas/pbideploy.schema.json".into()),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Optional fields may be left out but not written as `null`: drop schemars' null branches.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            if obj.get("default") == Some(&Value::Null) {
                obj.remove("default");
            }
            if let Some(Value::Array(types)) = obj.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let single = types.remove(0);
                    obj.insert("type".into(), single);
                }
            }
            if let Some(Value::Array(branches)) = obj.get("anyOf")
                && branches.len() == 2
                && branches
                    .iter()
                    .any(|b| b.get("type") == Some(&Value::from("null")))
            {
                let keep = branches
                    .iter()
                    .find(|b| b.get("type") != Some(&Value::from("null")))
                    .cloned();
                if let Some(Value::Object(keep)) = keep {
                    obj.remove("anyOf");
                    obj.extend(keep);
                }
            }
            obj.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

fn schema_value() -> Result<&'static Value, String> {
    static SCHEMA: OnceLock<Result<Value, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::from_str(SCHEMA_TEXT).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

fn validator() -> Result<&'static Validator, String> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema = schema_value()?;
            jsonschema::draft202012::options()
                .build(schema)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Validates the document, returning every error found (unsorted).
pub fn validate(instance: &Value, positions: &PosMap) -> Vec<Diagnostic> {
    let validator = match validator() {
        Ok(v) => v,
        Err(err) => {
            return vec![Diagnostic::new(
                "internal-schema",
                format!("the built-in schema is broken: {err}"),
            )];
        }
    };
    // Checking is several times faster than collecting errors; most manifests are valid.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        map_error(&error, instance, positions, &mut out);
    }
    out
}

fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or("")
}

fn map_error(
    error: &ValidationError<'_>,
    root: &Value,
    positions: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = error.instance_path().as_str().to_owned();
    let instance = error.instance();
    let at = positions.value(&pointer);
    let field = describe(&pointer);
    if super::CredentialRule::is_secret_pointer(&pointer) {
        // No snippet: the source line may hold the very secret that must not be echoed.
        let mut diag = secret_diag(&pointer, instance.as_ref()).at(at);
        diag.bytes = None;
        out.push(diag);
        return;
    }
    let diag = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_properties(error.schema_path().as_str());
            for key in unexpected {
                let child = format!("{pointer}/{}", super::positions::escape(key));
                let mut diag =
                    Diagnostic::new("unknown-field", format!("unknown field `{key}` in {field}"))
                        .at(positions.key(&child));
                diag = match closest(key, &allowed) {
                    Some(best) => diag.hint(format!("did you mean `{best}`?")),
                    None if !allowed.is_empty() => {
                        diag.hint(format!("allowed fields: {}", allowed.join(", ")))
                    }
                    None => diag,
                };
                out.push(diag);
            }
            return;
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            Diagnostic::new(
                "missing-field",
                format!("{field} is missing the required field `{name}`"),
            )
            .hint(missing_hint(name))
        }
        ValidationErrorKind::Enum { options }
        | ValidationErrorKind::Constant {
            expected_value: options,
        } => enum_diag(&pointer, instance.as_ref(), options, &field),
        ValidationErrorKind::Type { kind } => type_diag(instance.as_ref(), kind, &field),
        ValidationErrorKind::Pattern { .. } => {
            let mut diag = Diagnostic::new(
                "invalid-format",
                format!(
                    "{field} has an invalid format: {}",
                    short(instance.as_ref())
                ),
            );
            if pointer.contains("/times/") {
                diag =
                    diag.hint("write times as \"HH:mm\" on the hour or half hour, e.g. \"07:30\"");
            }
            diag
        }
        ValidationErrorKind::MinLength { .. } => {
            Diagnostic::new("empty-value", format!("{field} must not be empty"))
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            Diagnostic::new(
                "out-of-range",
                format!(
                    "{field} is out of range (limit {limit}): {}",
                    short(instance.as_ref())
                ),
            )
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            Diagnostic::new(
                "invalid-value",
                format!("{field} has an invalid value: {}", short(instance.as_ref())),
            )
        }
        _ => Diagnostic::new("schema", format!("{field}: {}", error.masked())),
    };
    let _ = root;
    out.push(diag.at(at));
}

fn secret_diag(pointer: &str, instance: &Value) -> Diagnostic {
    let field = last_segment(pointer);
    let example = format!(
        "write `{field}: {{env: SQL_PASSWORD}}` (an environment variable) or `{field}: {{file: ./secrets/sql-password.txt}}`"
    );
    if instance.is_string() || instance.is_number() || instance.is_boolean() {
        Diagnostic::new(
            "literal-secret",
            format!("`{field}` holds a literal value; secrets may only be references"),
        )
        .hint(example)
    } else {
        Diagnostic::new(
            "invalid-secret-ref",
            format!("`{field}` must be exactly one of `{{env: NAME}}` or `{{file: PATH}}`"),
        )
        .hint(example)
    }
}

fn enum_diag(pointer: &str, instance: &Value, options: &Value, field: &str) -> Diagnostic {
    let choices: Vec<String> = match options {
        Value::Array(items) => items.iter().map(short).collect(),
        other => vec![short(other)],
    };
    let code = if pointer == "/apiVersion" {
        "unsupported-api-version"
    } else {
        "invalid-value"
    };
    let diag = Diagnostic::new(
        code,
        format!(
            "{field} is {}, expected one of {}",
            short(instance),
            choices.join(", ")
        ),
    );
    let plain: Vec<String> = choices
        .iter()
        .map(|c| c.trim_matches('"').to_owned())
        .collect();
    match instance.as_str().and_then(|s| closest(s, &plain)) {
        Some(best) => diag.hint(format!("did you mean `{best}`?")),
        None => diag,
    }
}

fn type_diag(instance: &Value, kind: &jsonschema::error::TypeKind, field: &str) -> Diagnostic {
    let expected = match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        jsonschema::error::TypeKind::Multiple(set) => format!("{set:?}"),
    };
    let diag = Diagnostic::new(
        "wrong-type",
        format!(
            "{field} must be {} {expected}, found {}",
            article(&expected),
            short(instance)
        ),
    );
    match instance.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("yes" | "no" | "on" | "off" | "y" | "n") if expected == "boolean" => {
            diag.hint("YAML 1.1 booleans are not accepted; write `true` or `false`")
        }
        _ if expected == "array" => diag.hint("write a list: one `- item` per line"),
        _ if expected == "string" && (instance.is_number() || instance.is_boolean()) => diag
            .hint("quote it to keep it as text exactly as written (`'01234'`): unquoted, YAML reads it as a number or boolean"),
        _ => diag,
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn missing_hint(name: &str) -> String {
    match name {
        "apiVersion" => "add `apiVersion: pbideploy/v1` at the top".to_owned(),
        "pbix" => "add `pbix: path/to/file.pbix` (relative to the manifest)".to_owned(),
        _ => format!("add `{name}:`"),
    }
}

/// A short rendering of a value for messages (strings quoted, long values cut).
fn short(value: &Value) -> String {
    let text = match value {
        Value::Object(_) => "a mapping".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Null => "empty".to_owned(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

/// A readable name for a JSON pointer: `workspaces[0].datasets[1].name`.
pub fn describe(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the manifest".to_owned();
    }
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    format!("`{out}`")
}

/// Property names allowed by the subschema an `additionalProperties` error came from.
fn allowed_properties(schema_path: &str) -> Vec<String> {
    let Ok(schema) = schema_value() else {
        return Vec::new();
    };
    let parent = schema_path
        .strip_suffix("/additionalProperties")
        .unwrap_or(schema_path);
    let sub = schema.pointer(parent).unwrap_or(&Value::Null);
    let sub = match sub.get("$ref").and_then(Value::as_str) {
        Some(reference) => schema
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or(sub),
        None => sub,
    };
    sub.get("properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_suggestions() {
        let c = vec!["workspaces".to_owned(), "variables".to_owned()];
        assert_eq!(closest("workspacs", &c).as_deref(), Some("workspaces"));
        assert_eq!(closest("zzz", &c), None);
    }

    #[test]
    fn pointers_read_as_paths() {
        assert_eq!(
            describe("/workspaces/0/datasets/1/name"),
            "`workspaces[0].datasets[1].name`"
        );
    }
}
