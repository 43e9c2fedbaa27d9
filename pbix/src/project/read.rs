//! An item folder (`*.SemanticModel`, `*.Report`) or a list of parts (a `getDefinition`
//! answer) into a [`Definition`]: bounded reads of regular files only, part paths checked,
//! the parts the service requires present, parts sorted into their canonical order.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{ProjectError, json};
use super::{Definition, ItemKind, Part};
use crate::Limits;

/// The local editor settings folder Desktop writes beside the definition; never uploaded.
const EDITOR_FOLDER: &str = ".pbi";

impl Definition {
    /// Reads an item folder: every regular file under it except `.pbi/`, bounded by `limits`
    /// (file count, folder depth, part and total size). Symbolic links and special files are
    /// refused rather than followed: the folder comes from a pull request.
    pub fn read_dir(dir: &Path, limits: &Limits) -> Result<Definition, ProjectError> {
        let shown = dir.display().to_string();
        let meta = std::fs::symlink_metadata(dir).map_err(|source| ProjectError::Io {
            path: shown.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ProjectError::NotRegular { path: shown });
        }
        let mut walk = Walk {
            limits,
            parts: Vec::new(),
            total: 0,
            entries: 0,
        };
        walk.dir(dir, "", 0)?;
        let kind = kind_of(dir, &walk.parts)?;
        Definition::with_limits(kind, walk.parts, limits)
    }

    /// A definition from parts already in memory (e.g. a `getDefinition` answer, base64
    /// decoded), checked like a folder read with the default [`Limits`].
    pub fn from_parts(kind: ItemKind, parts: Vec<Part>) -> Result<Definition, ProjectError> {
        Definition::with_limits(kind, parts, &Limits::default())
    }

    /// Checks paths, sizes and required parts, and sorts the parts by path.
    pub(crate) fn with_limits(
        kind: ItemKind,
        mut parts: Vec<Part>,
        limits: &Limits,
    ) -> Result<Definition, ProjectError> {
        if parts.len() > limits.max_project_files {
            return Err(ProjectError::TooManyFiles {
                limit: limits.max_project_files,
            });
        }
        let mut total = 0u64;
        for p in &parts {
            check_path(&p.path)?;
            let size = p.bytes.len() as u64;
            if size > limits.max_project_part_bytes {
                return Err(ProjectError::PartTooLarge {
                    path: p.path.clone(),
                    limit: limits.max_project_part_bytes,
                });
            }
            total += size;
        }
        if total > limits.max_project_total_bytes {
            return Err(ProjectError::TotalTooLarge {
                limit: limits.max_project_total_bytes,
            });
        }
        parts.sort_by(|a, b| a.path.cmp(&b.path));
        let mut lower: Vec<String> = parts.iter().map(|p| p.path.to_lowercase()).collect();
        lower.sort();
        if let Some(w) = lower.windows(2).find(|w| w[0] == w[1]) {
            return Err(ProjectError::DuplicatePart { path: w[0].clone() });
        }
        let def = Definition { kind, parts };
        def.check_required()?;
        Ok(def)
    }

    /// The parts the service requires: a model has `definition.pbism` and either TMDL
    /// (`definition/*.tmdl`) or `model.bim`, never both; a report has `definition.pbir`.
    fn check_required(&self) -> Result<(), ProjectError> {
        let missing = |path: &str, fix: &str| ProjectError::Parts {
            message: format!("the item has no `{path}` part; {fix}"),
        };
        match self.kind {
            ItemKind::SemanticModel => {
                if self.part("definition.pbism").is_none() {
                    return Err(missing(
                        "definition.pbism",
                        "a semantic model folder needs it (Power BI Desktop writes `{\"version\": \"4.0\"}`)",
                    ));
                }
                let tmdl = self.is_tmdl();
                let bim = self.part("model.bim").is_some();
                match (tmdl, bim) {
                    (true, true) => Err(ProjectError::Parts {
                        message: "the semantic model has both `model.bim` and `definition/*.tmdl`; keep one format (delete `model.bim` when the model is saved as TMDL)".into(),
                    }),
                    (false, false) => Err(missing(
                        "model.bim",
                        "a semantic model needs `model.bim` (TMSL) or a `definition/` folder of `.tmdl` files",
                    )),
                    _ => Ok(()),
                }
            }
            ItemKind::Report => match self.part("definition.pbir") {
                Some(_) => Ok(()),
                None => Err(missing(
                    "definition.pbir",
                    "a report folder needs it to say which semantic model it uses",
                )),
            },
        }
    }

    /// The part at `path`, if any.
    pub fn part(&self, path: &str) -> Option<&Part> {
        self.parts
            .binary_search_by(|p| p.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.parts[i])
    }

    /// Whether the model is held as TMDL (`definition/**/*.tmdl`).
    pub(crate) fn is_tmdl(&self) -> bool {
        self.parts.iter().any(|p| is_tmdl_path(&p.path))
    }

    /// SHA-256 (hex) over the canonical parts: for each part in path order, its path, a NUL,
    /// its length (8 bytes, little-endian) and its bytes. Equal definitions hash equal
    /// whatever folder or answer they came from; this is what the ledger records.
    pub fn sha256(&self) -> String {
        let mut hasher = Sha256::new();
        for p in &self.parts {
            hasher.update(p.path.as_bytes());
            hasher.update([0u8]);
            hasher.update((p.bytes.len() as u64).to_le_bytes());
            hasher.update(&p.bytes);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Whether a part path is a TMDL file of the model definition.
pub(crate) fn is_tmdl_path(path: &str) -> bool {
    path.starts_with("definition/") && path.ends_with(".tmdl")
}

/// Refuses part paths that could leave the item folder or that readers disagree about.
fn check_path(path: &str) -> Result<(), ProjectError> {
    let bad = |reason: &str| ProjectError::BadPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.is_empty() {
        return Err(bad("it is empty"));
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err(bad("absolute, or with a backslash or a drive"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("it has a control character"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(bad("an empty, `.` or `..` segment"));
    }
    Ok(())
}

/// A bounded walk of an item folder.
struct Walk<'l> {
    limits: &'l Limits,
    parts: Vec<Part>,
    /// Bytes read so far.
    total: u64,
    /// Files and folders seen so far (empty folders count: they cost a directory read).
    entries: usize,
}

impl Walk<'_> {
    /// Reads the regular files under `dir` (relative path `rel`) into `parts`.
    fn dir(&mut self, dir: &Path, rel: &str, depth: usize) -> Result<(), ProjectError> {
        let io = |path: &str| {
            let path = path.to_string();
            move |source| ProjectError::Io { path, source }
        };
        let shown = if rel.is_empty() { "." } else { rel };
        if depth > self.limits.max_project_dir_depth {
            return Err(ProjectError::TooDeep {
                path: shown.to_string(),
                limit: self.limits.max_project_dir_depth,
            });
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(shown))? {
            let entry = entry.map_err(io(shown))?;
            self.entries += 1;
            if self.entries > self.limits.max_project_files {
                return Err(ProjectError::TooManyFiles {
                    limit: self.limits.max_project_files,
                });
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(ProjectError::BadPath {
                    path: format!("{rel}/{}", name.to_string_lossy()),
                    reason: "the name is not UTF-8".into(),
                });
            };
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type().map_err(io(&path))?;
            entries.push((path, entry.path(), file_type));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, full, file_type) in entries {
            if file_type.is_dir() {
                if path != EDITOR_FOLDER {
                    self.dir(&full, &path, depth + 1)?;
                }
            } else if file_type.is_file() {
                let bytes = read_bounded(&full, &path, self.limits.max_project_part_bytes)?;
                self.total += bytes.len() as u64;
                if self.total > self.limits.max_project_total_bytes {
                    return Err(ProjectError::TotalTooLarge {
                        limit: self.limits.max_project_total_bytes,
                    });
                }
                self.parts.push(Part { path, bytes });
            } else {
                return Err(ProjectError::NotRegular { path });
            }
        }
        Ok(())
    }
}

/// A file's bytes, never more than `limit` read whatever its size claims.
fn read_bounded(full: &Path, path: &str, limit: u64) -> Result<Vec<u8>, ProjectError> {
    let io = |source| ProjectError::Io {
        path: path.to_string(),
        source,
    };
    let file = std::fs::File::open(full).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ProjectError::PartTooLarge {
            path: path.to_string(),
            limit,
        });
    }
    Ok(bytes)
}

/// The item's kind from its folder name (`Sales.SemanticModel`, `Sales.Report`, as Desktop
/// names them), else from `.platform` `metadata.type`.
fn kind_of(dir: &Path, parts: &[Part]) -> Result<ItemKind, ProjectError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".semanticmodel") {
        return Ok(ItemKind::SemanticModel);
    }
    if name.ends_with(".report") {
        return Ok(ItemKind::Report);
    }
    let unknown = || ProjectError::UnknownKind {
        path: dir.display().to_string(),
    };
    let platform = parts
        .iter()
        .find(|p| p.path == ".platform")
        .ok_or_else(unknown)?;
    let json = json(".platform", &platform.bytes)?;
    match json["metadata"]["type"].as_str() {
        Some("SemanticModel") => Ok(ItemKind::SemanticModel),
        Some("Report") => Ok(ItemKind::Report),
        _ => Err(unknown()),
    }
}
