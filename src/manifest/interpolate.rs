//! `${name}` interpolation from manifest variables, the chosen environment and `--var`; never
//! from the process environment (a manifest from a pull request must not read the runner's
//! secrets). `$${` writes a literal `${`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::positions::PosMap;
use crate::diagnostics::Diagnostic;

/// Replaces `${name}` in `text`; unknown names are returned as errors.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(idx) = rest.find('$') {
        out.push_str(&rest[..idx]);
        let tail = &rest[idx..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err(String::new());
            };
            let name = &after[..end];
            match vars.get(name) {
                Some(value) => out.push_str(value),
                None => return Err(name.to_owned()),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves variables that refer to other variables, reporting cycles.
pub fn resolve_variables(
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (String, String)> {
    let mut done = BTreeMap::new();
    for name in raw.keys() {
        let mut stack = Vec::new();
        resolve_one(name, raw, &mut done, &mut stack)?;
    }
    Ok(done)
}

fn resolve_one(
    name: &str,
    raw: &BTreeMap<String, String>,
    done: &mut BTreeMap<String, String>,
    stack: &mut Vec<String>,
) -> Result<String, (String, String)> {
    if let Some(v) = done.get(name) {
        return Ok(v.clone());
    }
    if stack.iter().any(|s| s == name) {
        stack.push(name.to_owned());
        return Err((stack[0].clone(), stack.join(" -> ")));
    }
    let Some(text) = raw.get(name) else {
        return Ok(String::new());
    };
    stack.push(name.to_owned());
    let mut refs = Vec::new();
    collect_refs(text, &mut refs);
    let mut scope = BTreeMap::new();
    for r in refs {
        if raw.contains_key(&r) {
            let v = resolve_one(&r, raw, done, stack)?;
            scope.insert(r, v);
        }
    }
    stack.pop();
    let value = expand(text, &scope).unwrap_or_else(|_| text.to_owned());
    done.insert(name.to_owned(), value.clone());
    Ok(value)
}

fn collect_refs(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(idx) = rest.find("${") {
        if idx > 0 && rest.as_bytes()[idx - 1] == b'$' {
            rest = &rest[idx + 2..];
            continue;
        }
        let after = &rest[idx + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => return,
        }
    }
}

/// Checks that every `${name}` in a variable's value names a variable: `where_is` gives the
/// position of a variable's value (`None` for a `--var`, which is named in the message).
pub fn check_references(
    raw: &BTreeMap<String, String>,
    where_is: impl Fn(&str) -> Option<crate::diagnostics::Pos>,
    out: &mut Vec<Diagnostic>,
) {
    for (name, text) in raw {
        let Err(missing) = expand(text, raw) else {
            continue;
        };
        let diag = match where_is(name) {
            Some(at) => unresolved(&missing, raw, at),
            None => {
                let mut diag = unresolved(&missing, raw, crate::diagnostics::Pos::default());
                diag.message = format!("{} in --var {name}", diag.message);
                diag
            }
        };
        out.push(diag);
    }
}

/// Interpolates every string in `value` except under the skipped top-level keys and inside
/// secret references; returns diagnostics for unknown variables.
pub fn interpolate_tree(
    value: &mut Value,
    pointer: &str,
    vars: &BTreeMap<String, String>,
    positions: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let mut path = pointer.to_owned();
    walk(value, &mut path, vars, positions, out);
}

/// `path` is the pointer of `value`; children push their segment and pop it after.
fn walk(
    value: &mut Value,
    path: &mut String,
    vars: &BTreeMap<String, String>,
    positions: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    let len = path.len();
    match value {
        Value::String(text) if text.contains('$') => match expand(text, vars) {
            Ok(new) => *text = new,
            Err(name) => out.push(unresolved(&name, vars, positions.value(path))),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let _ = write!(path, "/{i}");
                walk(item, path, vars, positions, out);
                path.truncate(len);
            }
        }
        Value::Object(obj) => {
            for (key, item) in obj.iter_mut() {
                if path.is_empty() && matches!(key.as_str(), "variables" | "environments") {
                    continue;
                }
                if super::CredentialRule::is_secret_field(path, key) {
                    continue;
                }
                path.push('/');
                path.push_str(&super::positions::escape(key));
                walk(item, path, vars, positions, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// An unclosed `${` (empty `name`) or an unknown variable.
fn unresolved(
    name: &str,
    vars: &BTreeMap<String, String>,
    at: crate::diagnostics::Pos,
) -> Diagnostic {
    if name.is_empty() {
        return Diagnostic::new("unclosed-interpolation", "`${` without a closing `}`")
            .at(at)
            .hint("close it with `}`, or write `$${` for a literal `${`");
    }
    let known: Vec<String> = vars.keys().cloned().collect();
    let diag = Diagnostic::new(
        "unknown-variable",
        format!("unknown variable `${{{name}}}`"),
    )
    .at(at);
    match super::schema::closest(name, &known) {
        Some(best) => diag.hint(format!("did you mean `${{{best}}}`?")),
        None => diag.hint(format!(
            "define it under `variables:`, in the environment's `variables:`, or pass --var {name}=VALUE (the process environment is never read)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_and_escapes() {
        let v = vars(&[("env", "prod")]);
        assert_eq!(expand("Sales ${env}", &v).unwrap(), "Sales prod");
        assert_eq!(expand("$${env} $5", &v).unwrap(), "${env} $5");
        assert_eq!(expand("${nope}", &v).unwrap_err(), "nope");
    }

    #[test]
    fn variables_may_refer_to_each_other_but_not_in_cycles() {
        let ok = resolve_variables(&vars(&[("a", "x"), ("b", "${a}-y")])).unwrap();
        assert_eq!(ok["b"], "x-y");
        let err = resolve_variables(&vars(&[("a", "${b}"), ("b", "${a}")])).unwrap_err();
        assert_eq!(err.1, "a -> b -> a");
    }
}
