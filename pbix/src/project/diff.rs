//! Comparing two versions of an item: what an update would lose (tables and columns of
//! tables holding imported data, which the service refuses with
//! `Alm_InvalidRequest_PurgeRequired`), and unified text diffs of the changed parts for a
//! reviewer. JSON parts are pretty-printed first, with JSON held in strings (PBIR-Legacy
//! `report.json` keeps each visual's `config` as a string) expanded, so a visual change
//! shows as the lines that changed rather than one long line.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use similar::TextDiff;

use super::Definition;
use crate::model::{ColumnKind, Model};

/// Longest a single part's diff may compute before falling back to a coarser one.
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);
/// Deepest JSON-in-a-string nesting expanded for display.
const MAX_EXPAND_DEPTH: usize = 4;

/// Data an update would drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLoss {
    /// The table that is removed, or whose column is removed.
    pub table: String,
    /// The removed column; `None` when the whole table goes.
    pub column: Option<String>,
}

impl fmt::Display for DataLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "column `{c}` of table `{}` is removed", self.table),
            None => write!(f, "table `{}` is removed", self.table),
        }
    }
}

/// What an update from `old` to `new` loses: each removed table that holds imported data
/// (Import or Dual partitions), and each removed data column of such a table that stays.
/// Calculated columns and DirectQuery tables hold nothing that a refresh must reload, so
/// they are not listed. Renaming counts as removing.
pub fn data_loss(old: &Model, new: &Model) -> Vec<DataLoss> {
    let mut out = Vec::new();
    for table in old.tables.iter().filter(|t| t.holds_imported_data()) {
        let Some(kept) = new.tables.iter().find(|t| t.name == table.name) else {
            out.push(DataLoss {
                table: table.name.clone(),
                column: None,
            });
            continue;
        };
        for column in table.columns.iter().filter(|c| c.kind == ColumnKind::Data) {
            if !kept.columns.iter().any(|c| c.name == column.name) {
                out.push(DataLoss {
                    table: table.name.clone(),
                    column: Some(column.name.clone()),
                });
            }
        }
    }
    out
}

/// How a part differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStatus {
    /// Only in the new definition.
    Added,
    /// Only in the old definition.
    Removed,
    /// In both, with different bytes.
    Changed,
}

/// One changed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartDiff {
    /// The part's path.
    pub path: String,
    /// Added, removed or changed.
    pub status: PartStatus,
    /// A unified diff (`--- a/path`, `+++ b/path`, hunks with `context` lines around each
    /// change), or one line saying a binary part changed.
    pub diff: String,
}

/// The parts that differ between `old` and `new`, in path order, each with a unified diff
/// of `context` lines.
pub fn diff(old: &Definition, new: &Definition, context: usize) -> Vec<PartDiff> {
    let mut paths: Vec<&str> = old
        .parts
        .iter()
        .chain(&new.parts)
        .map(|p| p.path.as_str())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (a, b) = (old.part(path), new.part(path));
        let status = match (a, b) {
            (Some(a), Some(b)) if a.bytes == b.bytes => continue,
            (Some(_), Some(_)) => PartStatus::Changed,
            (None, Some(_)) => PartStatus::Added,
            (Some(_), None) => PartStatus::Removed,
            (None, None) => continue,
        };
        let empty: &[u8] = &[];
        let a_bytes = a.map_or(empty, |p| &p.bytes);
        let b_bytes = b.map_or(empty, |p| &p.bytes);
        out.push(PartDiff {
            path: path.to_string(),
            status,
            diff: unified(path, a_bytes, b_bytes, context),
        });
    }
    out
}

fn unified(path: &str, old: &[u8], new: &[u8], context: usize) -> String {
    let (Some(a), Some(b)) = (readable(path, old), readable(path, new)) else {
        return format!(
            "binary part {path} changed ({} bytes -> {} bytes)\n",
            old.len(),
            new.len()
        );
    };
    TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(&a, &b)
        .unified_diff()
        .context_radius(context)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// A part as text for reading: JSON pretty-printed (nested JSON strings expanded), other
/// UTF-8 as is; `None` for binary parts.
fn readable(path: &str, bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).ok()?;
    let json_like = [".json", ".pbir", ".pbism", ".platform", ".bim"]
        .iter()
        .any(|ext| path.ends_with(ext));
    if json_like && let Ok(mut value) = serde_json::from_str::<Value>(text) {
        expand(&mut value, 0);
        if let Ok(mut pretty) = serde_json::to_string_pretty(&value) {
            pretty.push('\n');
            return Some(pretty);
        }
    }
    Some(text.to_string())
}

/// Replaces string values holding a JSON object or array by the parsed value.
fn expand(value: &mut Value, depth: usize) {
    match value {
        Value::String(s)
            if depth < MAX_EXPAND_DEPTH && (s.starts_with('{') || s.starts_with('[')) =>
        {
            if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
                expand(&mut inner, depth + 1);
                *value = inner;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| expand(v, depth)),
        Value::Object(map) => map.values_mut().for_each(|v| expand(v, depth)),
        _ => {}
    }
}
