//! Saved plan files (`plan --out FILE`, `show FILE`, `apply FILE`).
//!
//! A plan file is the JSON serialization of [`Plan`]. It never holds secret values, only
//! references, so it can be kept as a pipeline artifact. Reading checks that the file is a plan
//! at all and that its format major version is one this pbideploy understands, so a plan from a
//! newer release is refused with a message instead of being half-read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::plan::model::{PLAN_FORMAT_VERSION, Plan};

/// Plan files larger than this are refused rather than read into memory.
pub const MAX_PLAN_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a plan file could not be read or written; each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write plan file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plan file {} is {size} bytes, over the {MAX_PLAN_FILE_BYTES}-byte limit; is it really a plan?", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{} is not a pbideploy plan file ({reason}); create one with `pbideploy plan --out FILE`", path.display())]
    NotAPlan { path: PathBuf, reason: String },
    #[error("plan file {} has format version {found}, newer than the {PLAN_FORMAT_VERSION} this pbideploy reads; use the pbideploy release that wrote it, or upgrade", path.display())]
    NewerFormat { path: PathBuf, found: String },
    #[error("plan file {} has format version {found}, older than the {PLAN_FORMAT_VERSION} this pbideploy reads; run `pbideploy plan --out FILE` again", path.display())]
    OlderFormat { path: PathBuf, found: String },
    #[error("plan file {} is damaged or incomplete: {reason}; run `pbideploy plan --out FILE` again", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("could not serialize the plan for {}: {source}", path.display())]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Reads and checks a plan file.
pub fn read_plan(path: &Path) -> Result<Plan, PlanFileError> {
    let read_err = |source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_err)?.len();
    if size > MAX_PLAN_FILE_BYTES {
        return Err(PlanFileError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    parse_plan(&bytes, path)
}

/// Parses plan-file bytes; `path` is only used in error messages.
pub fn parse_plan(bytes: &[u8], path: &Path) -> Result<Plan, PlanFileError> {
    let not_a_plan = |reason: String| PlanFileError::NotAPlan {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_a_plan(format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(not_a_plan("the top level is not a JSON object".to_string()));
    };
    let Some(found) = object.get("format_version").and_then(|v| v.as_str()) else {
        return Err(not_a_plan("it has no `format_version`".to_string()));
    };
    let found_major = major(found).ok_or_else(|| {
        not_a_plan(format!(
            "`format_version` {found:?} is not a version number"
        ))
    })?;
    let ours = major(PLAN_FORMAT_VERSION).unwrap_or(0);
    if found_major > ours {
        return Err(PlanFileError::NewerFormat {
            path: path.to_path_buf(),
            found: found.to_string(),
        });
    }
    if found_major < ours {
        return Err(PlanFileError::OlderFormat {
            path: path.to_path_buf(),
            found: found.to_string(),
        });
    }
    serde_json::from_value(value).map_err(|e| PlanFileError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn major(version: &str) -> Option<u64> {
    version.split('.').next()?.trim().parse().ok()
}

/// Writes the plan atomically (a temporary file in the same directory, then a rename), so a
/// reader never sees half a plan.
pub fn write_plan(path: &Path, plan: &Plan) -> Result<(), PlanFileError> {
    let text = serde_json::to_string_pretty(plan).map_err(|source| PlanFileError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    // The same JSON with C1 controls and bidi overrides escaped too, so `cat plan.json` in a
    // CI log is as safe as `show --format json`.
    let text = format!("{}\n", crate::sanitize::json(&text)).into_bytes();
    let write_err = |source| PlanFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    tmp.write_all(&text).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_plans_and_other_majors_naming_the_file() {
        let p = Path::new("x/plan.json");
        let err = parse_plan(b"garbage", p).unwrap_err().to_string();
        assert!(
            err.contains("x/plan.json") && err.contains("not a pbideploy plan"),
            "{err}"
        );
        let err = parse_plan(b"[1]", p).unwrap_err().to_string();
        assert!(err.contains("not a JSON object"), "{err}");
        let err = parse_plan(b"{\"a\":1}", p).unwrap_err().to_string();
        assert!(err.contains("no `format_version`"), "{err}");
        let err = parse_plan(b"{\"format_version\":\"99.0\"}", p).unwrap_err();
        assert!(matches!(err, PlanFileError::NewerFormat { .. }), "{err}");
        let err = parse_plan(b"{\"format_version\":\"0.3\"}", p).unwrap_err();
        assert!(matches!(err, PlanFileError::OlderFormat { .. }), "{err}");
        let err = parse_plan(b"{\"format_version\":\"1.0\"}", p).unwrap_err();
        assert!(matches!(err, PlanFileError::Invalid { .. }), "{err}");
    }
}
