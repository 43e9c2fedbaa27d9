//! Reading and parsing untrusted manifest text: size cap before anything else, UTF-8 check with
//! the byte offset, then the YAML parser with its limits (`yaml`) into JSON and positions.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::positions::PosMap;
use super::yaml;
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
    // Sized from the file's length (capped): growing by doubling copies a large manifest
    // several times over.
    let expected = file
        .metadata()
        .map_or(0, |m| m.len().min(MAX_MANIFEST_BYTES + 1));
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
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

/// Parses the text into the JSON document and its positions (`null` for an empty file), or
/// one diagnostic saying why not.
pub fn parse_document(source: &str) -> Result<(Value, PosMap), Diagnostic> {
    let (value, positions) = yaml::parse(source)?;
    Ok((value, PosMap::new(positions)))
}
