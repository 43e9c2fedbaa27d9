//! Placeholders: values `pbideploy init` cannot read from the service (a data source's user
//! name) are written as `<TODO-...>`, and so may a user mark a value still to be filled in.
//! One rule recognises them everywhere: text that starts with [`PREFIX`]. `validate` and
//! `plan` refuse them with their positions, so a placeholder never reaches the service as a
//! real value (it used to be stored as a credential's user name).

use std::fmt::Write as _;

use serde_json::Value;

use super::positions::{PosMap, escape};
use crate::diagnostics::Diagnostic;

/// What every placeholder starts with.
pub const PREFIX: &str = "<TODO";

/// The placeholder `init` writes for something it could not read, e.g. `<TODO-username>`.
pub fn placeholder(what: &str) -> String {
    format!("{PREFIX}-{what}>")
}

/// True for a placeholder value.
pub fn is_placeholder(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// A diagnostic for every text value in `value` (the resolved document) that is a placeholder.
pub fn check(value: &Value, positions: &PosMap, out: &mut Vec<Diagnostic>) {
    walk(value, &mut Vec::new(), positions, out);
}

/// One step of the way to a value: the pointer is only written out for a placeholder found.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn walk<'a>(
    value: &'a Value,
    way: &mut Vec<Step<'a>>,
    positions: &PosMap,
    out: &mut Vec<Diagnostic>,
) {
    match value {
        Value::String(text) if is_placeholder(text) => {
            let mut pointer = String::new();
            for step in way.iter() {
                match step {
                    Step::Key(key) => {
                        pointer.push('/');
                        pointer.push_str(&escape(key));
                    }
                    Step::Index(i) => {
                        let _ = write!(pointer, "/{i}");
                    }
                }
            }
            out.push(
                Diagnostic::new(
                    "placeholder",
                    format!("`{}` is a placeholder, not a value", shorten(text)),
                )
                .at(positions.value(&pointer))
                .hint(format!(
                    "replace it with the real value (values starting with `{PREFIX}` mark what is still to be filled in, for example by `pbideploy init`)"
                )),
            );
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                way.push(Step::Index(i));
                walk(item, way, positions, out);
                way.pop();
            }
        }
        Value::Object(members) => {
            for (key, item) in members {
                // Variables are checked where they are used.
                if way.is_empty() && matches!(key.as_str(), "variables" | "environments") {
                    continue;
                }
                way.push(Step::Key(key));
                walk(item, way, positions, out);
                way.pop();
            }
        }
        _ => {}
    }
}

/// The placeholder as shown in a message: at most 60 characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_init_writes_is_recognised() {
        assert!(is_placeholder(&placeholder("username")));
        assert_eq!(placeholder("username"), "<TODO-username>");
        assert!(!is_placeholder("TODO list"));
        assert!(!is_placeholder("svc_reader"));
    }
}
