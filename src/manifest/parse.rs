//! Reading and parsing untrusted manifest text: size cap before anything else, UTF-8 check with
//! the byte offset, then serde-saphyr with budgets, strict booleans, no custom tags and
//! duplicate keys rejected, into the spanned tree.

use std::io::Read;
use std::path::Path;

use serde_saphyr::Spanned;

use super::span_tree::Node;
use crate::diagnostics::{Diagnostic, Diagnostics, Pos};

/// Manifests larger than this are refused before parsing.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Reads the file with the size cap and checks it is UTF-8.
pub fn read_source(path: &Path, display: &str) -> Result<String, Diagnostics> {
    let fail = |diag: Diagnostic| Diagnostics::single(display, None, diag);
    let file = std::fs::File::open(path).map_err(|err| {
        fail(
            Diagnostic::new(
                "file-unreadable",
                format!("cannot open the manifest: {err}"),
            )
            .hint("check the path given with -f/--file"),
        )
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| {
            fail(Diagnostic::new(
                "file-unreadable",
                format!("cannot read the manifest: {err}"),
            ))
        })?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(fail(
            Diagnostic::new(
                "file-too-large",
                format!(
                    "the manifest is larger than {} MiB; refusing to parse it",
                    MAX_MANIFEST_BYTES >> 20
                ),
            )
            .hint("a manifest is a small text file; split it or remove generated content"),
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        let valid = &err.as_bytes()[..offset];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count() as u64
            + 1;
        fail(
            Diagnostic::new(
                "invalid-utf8",
                format!("the manifest is not valid UTF-8: invalid byte at offset {offset}"),
            )
            .at(Pos {
                line,
                column,
                bytes: None,
            })
            .hint("save the file as UTF-8"),
        )
    })
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            flow_nesting_limit: 32,
            max_nodes: 1_000_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_total_scalar_bytes: 8 << 20,
            max_documents: 1,
        },
        strict_booleans: true,
        reject_unsupported_tags: true,
    }
}

/// Parses the text into the spanned tree, or one diagnostic saying why not.
pub fn parse_tree(source: &str) -> Result<Spanned<Node>, Diagnostic> {
    if source.trim().is_empty() {
        return Err(Diagnostic::new("empty-manifest", "the manifest is empty")
            .hint("start with `apiVersion: pbideploy/v1` and a `workspaces:` list"));
    }
    serde_saphyr::from_str_with_options::<Spanned<Node>>(source, options()).map_err(|err| {
        let text = err.without_snippet().to_string();
        let first = text.lines().next().unwrap_or("invalid YAML").to_owned();
        let message = strip_location_prefix(&first);
        let (code, hint) = classify(&message);
        let mut diag = Diagnostic::new(code, format!("invalid YAML: {message}"));
        if let Some(hint) = hint {
            diag = diag.hint(hint);
        }
        if let Some(loc) = err.location() {
            let span = loc.span();
            let bytes = span.byte_offset().map(|start| {
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                start..start.saturating_add(1)
            });
            diag = diag.at(Pos {
                line: loc.line(),
                column: loc.column(),
                bytes,
            });
        }
        diag
    })
}

fn strip_location_prefix(message: &str) -> String {
    let text = message.strip_prefix("error: ").unwrap_or(message);
    let text = match text.rfind(" at line ") {
        Some(idx) => &text[..idx],
        None => text,
    };
    let text = text
        .strip_suffix(", set DuplicateKeyPolicy in Options if acceptable")
        .unwrap_or(text);
    if let Some(rest) = text.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
    {
        return rest[idx + 2..].to_owned();
    }
    text.to_owned()
}

fn classify(message: &str) -> (&'static str, Option<&'static str>) {
    let lower = message.to_ascii_lowercase();
    if lower.contains("documents") || lower.contains("document separator") {
        (
            "multiple-documents",
            Some("a manifest is a single YAML document; remove the `---` separators"),
        )
    } else if lower.contains("duplicate") {
        (
            "duplicate-key",
            Some("each key may appear once per mapping; remove or merge the repeated key"),
        )
    } else if lower.contains("budget")
        || lower.contains("depth")
        || lower.contains("nesting")
        || lower.contains("recursion limit")
    {
        (
            "yaml-too-complex",
            Some(
                "the YAML exceeds pbideploy's limits (nesting depth 32, 1000000 nodes, 1000 aliases); simplify it",
            ),
        )
    } else if lower.contains("tag") {
        (
            "unsupported-tag",
            Some("custom YAML tags such as `!include` are not allowed in manifests"),
        )
    } else if lower.contains("document") {
        (
            "multiple-documents",
            Some("a manifest is a single YAML document; remove the `---` separators"),
        )
    } else if lower.contains("alias") || lower.contains("anchor") {
        (
            "yaml-too-complex",
            Some("too many anchors or aliases; write the values out"),
        )
    } else {
        ("yaml-syntax", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_rejected_with_position() {
        let err = parse_tree("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.code, "duplicate-key");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn custom_tags_are_rejected() {
        let err = parse_tree("a: !include x.yaml\n").unwrap_err();
        assert_eq!(err.code, "unsupported-tag", "{err:?}");
    }
}
