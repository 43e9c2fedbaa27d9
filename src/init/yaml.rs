//! A small block-style YAML writer with comments, for the manifests `init` generates.
//!
//! serde serializers cannot write comments, and a generated manifest needs them (a header,
//! `# TODO` beside placeholder paths). Service names are arbitrary text (`:`, `#`, quotes,
//! leading spaces, non-ASCII, control characters), so every scalar that is not plainly safe
//! is written double-quoted with YAML escapes; the tests read the output back through the
//! manifest parser to prove the text survives.

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Bool(bool),
    Map(Vec<Entry>),
    Seq(Vec<Yaml>),
}

/// One key of a mapping, with optional comment lines above it and a comment after its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Yaml,
    pub above: Vec<String>,
    pub after: Option<String>,
}

impl Entry {
    /// `key: value` without comments.
    pub fn new(key: &str, value: Yaml) -> Self {
        Self {
            key: key.to_string(),
            value,
            above: Vec::new(),
            after: None,
        }
    }

    /// Adds a comment after the value (scalars) or after the key (collections).
    #[must_use]
    pub fn after(mut self, comment: impl Into<String>) -> Self {
        self.after = Some(comment.into());
        self
    }

    /// Adds a comment line above the key.
    #[must_use]
    pub fn above(mut self, comment: impl Into<String>) -> Self {
        self.above.push(comment.into());
        self
    }
}

impl Yaml {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }
}

/// The document: `header` comment lines, then `root` (a mapping).
pub fn render(header: &[String], root: &Yaml) -> String {
    let mut out = String::new();
    for line in header {
        push_comment(&mut out, 0, line);
    }
    match root {
        Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Comment text on one line (a newline inside would end the comment).
fn push_comment(out: &mut String, at: usize, text: &str) {
    indent(out, at);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_empty() {
        out.push_str("#\n");
    } else {
        out.push_str("# ");
        out.push_str(clean.trim_end());
        out.push('\n');
    }
}

fn trailing(out: &mut String, comment: Option<&String>) {
    if let Some(c) = comment {
        let mut line = String::new();
        push_comment(&mut line, 0, c);
        out.push_str("  ");
        out.push_str(&line);
    } else {
        out.push('\n');
    }
}

/// Writes `entries` at `at`; `first_inline` means the first key follows a `- ` already written.
fn write_map(out: &mut String, entries: &[Entry], at: usize, first_inline: bool) {
    for (i, e) in entries.iter().enumerate() {
        let inline_key = first_inline && i == 0;
        for c in &e.above {
            if inline_key {
                // A comment cannot sit between `- ` and its key: put it after the key instead.
                continue;
            }
            push_comment(out, at, c);
        }
        if !inline_key {
            indent(out, at);
        }
        out.push_str(&scalar(&e.key));
        out.push(':');
        let after = if inline_key && !e.above.is_empty() {
            Some(e.above.join("; "))
        } else {
            e.after.clone()
        };
        match &e.value {
            Yaml::Map(m) if !m.is_empty() => {
                trailing(out, after.as_ref());
                write_map(out, m, at + 2, false);
            }
            Yaml::Seq(s) if !s.is_empty() => {
                trailing(out, after.as_ref());
                write_seq(out, s, at + 2);
            }
            v => {
                out.push(' ');
                out.push_str(&inline(v));
                trailing(out, after.as_ref());
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Yaml], at: usize) {
    for item in items {
        indent(out, at);
        out.push_str("- ");
        match item {
            Yaml::Map(m) if !m.is_empty() => write_map(out, m, at + 2, true),
            Yaml::Seq(s) if !s.is_empty() => {
                out.push('\n');
                write_seq(out, s, at + 2);
            }
            v => {
                out.push_str(&inline(v));
                out.push('\n');
            }
        }
    }
}

fn inline(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) => scalar(s),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Map(_) => "{}".into(),
        Yaml::Seq(_) => "[]".into(),
    }
}

/// Words a YAML 1.1 or 1.2 reader may take for something other than a string.
const SPECIAL: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".nan", ".inf", "-.inf",
    ".NaN", ".Inf",
];

/// A string as a YAML scalar: plain when that is unambiguous, else double-quoted.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let body_ok = s.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/' | '(' | ')' | '@')
    });
    let looks_numeric = s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
        || s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '_' | ':' | '.' | '-' | '+'));
    body_ok
        && (first.is_ascii_alphabetic() || first == '_' || first == '/')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && !looks_numeric
        && !SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A double-quoted scalar: `\` and `"` escaped, and every character YAML does not allow raw
/// (controls, DEL, C1 controls, BOM, line and paragraph separators) as `\uXXXX`.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn awkward_strings_read_back_unchanged() {
        let names = [
            "plain name",
            "Sales: EMEA",
            "# not a comment",
            "a #b",
            " leading space",
            "trailing space ",
            "\"quoted\" and 'single'",
            "back\\slash",
            "Zürich Umsätze 売上",
            "tab\there",
            "line\nbreak",
            "bell\u{7}del\u{7f}c1\u{85}",
            "\u{feff}bom",
            "true",
            "No",
            "null",
            "~",
            "123",
            "1e3",
            "0x1F",
            "12:30",
            "-",
            "- item",
            "? key",
            "{flow}",
            "[seq]",
            "&anchor",
            "*alias",
            "!tag",
            "%directive",
            "@at",
            "`tick",
            "|",
            ">",
            "",
            "a  b",
            "${var}",
        ];
        let entries: Vec<Entry> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Entry::new(&format!("k{i}"), Yaml::str(*n)))
            .collect();
        let keyed: Vec<Entry> = names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| Entry::new(n, Yaml::Bool(true)))
            .collect();
        let root = Yaml::Map(vec![
            Entry::new("values", Yaml::Map(entries)),
            Entry::new("keys", Yaml::Map(keyed)),
        ]);
        let text = render(&["header # with hash".into()], &root);
        let v = parse(&text);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(v["values"][format!("k{i}")], serde_json::json!(n), "{text}");
            if !n.is_empty() {
                assert_eq!(v["keys"][*n], serde_json::json!(true), "{n:?} in {text}");
            }
        }
    }

    #[test]
    fn sequences_of_maps_nest_and_keep_comments() {
        let item = Yaml::Map(vec![
            Entry::new("name", Yaml::str("A")).above("first item"),
            Entry::new("pbix", Yaml::str("pbix/a.pbix")).after("TODO: put the file here"),
            Entry::new("list", Yaml::Seq(vec![Yaml::str("x"), Yaml::str("y")])),
            Entry::new("empty", Yaml::Map(vec![])),
            Entry::new(
                "nested",
                Yaml::Map(vec![Entry::new("deep", Yaml::Bool(false))]),
            )
            .above("nested map"),
        ]);
        let root = Yaml::Map(vec![Entry::new(
            "items",
            Yaml::Seq(vec![item.clone(), item]),
        )]);
        let text = render(&[], &root);
        assert!(text.contains("  - name: A  # first item\n"), "{text}");
        assert!(
            text.contains("pbix/a.pbix  # TODO: put the file here\n"),
            "{text}"
        );
        assert!(
            text.contains("    # nested map\n    nested:\n      deep: false\n"),
            "{text}"
        );
        let v = parse(&text);
        assert_eq!(v["items"][1]["pbix"], "pbix/a.pbix");
        assert_eq!(v["items"][0]["list"][1], "y");
        assert_eq!(v["items"][0]["empty"], serde_json::json!({}));
        assert_eq!(v["items"][1]["nested"]["deep"], false);
    }

    #[test]
    fn comments_cannot_break_out_of_their_line() {
        let root = Yaml::Map(vec![
            Entry::new("a", Yaml::str("x")).after("evil\nb: injected"),
        ]);
        let text = render(&["multi\nline".into()], &root);
        let v = parse(&text);
        assert_eq!(v, serde_json::json!({"a": "x"}), "{text}");
    }
}
