//! The files `init` touches: the folder the manifest goes to, the PBIX files under
//! `--pbix-dir` matched to items by name, and the atomic write of the manifest.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::CommandError;
use crate::init::PbixChoice;
use crate::init::names::file_stem;
use crate::manifest::paths::relative;

/// Folders deeper than this under `--pbix-dir` are not searched.
const MAX_DEPTH: usize = 8;
/// At most this many directory entries are looked at (a mistyped `--pbix-dir /`).
const MAX_ENTRIES: usize = 20_000;

/// The manifest's folder, canonical: PBIX paths are written relative to it.
pub fn manifest_dir(output: &Path, to_stdout: bool) -> Result<PathBuf, CommandError> {
    let dir = match output.parent() {
        Some(p) if !to_stdout && !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.canonicalize().map_err(|e| {
        CommandError::user(format!(
            "cannot use {} as the manifest's folder: {e}",
            dir.display()
        ))
        .hinted("create the folder first, or pass -o with a path in an existing folder")
    })
}

/// One PBIX found under `--pbix-dir`.
#[derive(Debug, Clone)]
struct Found {
    /// The file stem, lower case.
    stem: String,
    /// Relative to the manifest's folder.
    path: String,
}

/// The PBIX files under `--pbix-dir`, and where placeholders go.
#[derive(Debug, Clone)]
pub struct PbixIndex {
    files: Vec<Found>,
    /// The folder placeholders are put in, relative to the manifest's folder.
    placeholder_dir: String,
}

impl Default for PbixIndex {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            placeholder_dir: "pbix".into(),
        }
    }
}

impl PbixIndex {
    /// Lists the `.pbix` files under `dir`, which must lie inside `root` (the manifest's
    /// folder: the manifest may only name PBIX files under it).
    pub fn scan(root: &Path, dir: &Path) -> Result<Self, CommandError> {
        let canonical = dir.canonicalize().map_err(|e| {
            CommandError::user(format!("cannot read --pbix-dir {}: {e}", dir.display()))
        })?;
        if !canonical.starts_with(root) {
            return Err(CommandError::user(format!(
                "--pbix-dir {} is outside the manifest's folder {}",
                dir.display(),
                root.display()
            ))
            .hinted("a manifest may only name PBIX files under its own folder: move the files, or write the manifest (-o) above them"));
        }
        let mut files = Vec::new();
        let mut seen = 0usize;
        walk(root, &canonical, 0, &mut seen, &mut files)?;
        files.sort_by(|a: &Found, b| a.path.cmp(&b.path));
        let placeholder_dir = match relative(root, &canonical) {
            d if d.is_empty() => ".".to_string(),
            d => d,
        };
        Ok(Self {
            files,
            placeholder_dir,
        })
    }

    /// The PBIX of `item` in workspace `ws`: the file named like it (preferring one in a
    /// folder named like the workspace when several are), else a placeholder path
    /// (per workspace when several workspaces are described).
    pub fn choose(&self, ws: &str, item: &str, workspaces: &[String]) -> PbixChoice {
        let wanted = [item.to_lowercase(), file_stem(item).to_lowercase()];
        let hits: Vec<&Found> = self
            .files
            .iter()
            .filter(|f| wanted.contains(&f.stem))
            .collect();
        let ws_dirs = [ws.to_lowercase(), file_stem(ws).to_lowercase()];
        let in_ws: Vec<&Found> = hits
            .iter()
            .copied()
            .filter(|f| {
                f.path
                    .to_lowercase()
                    .split('/')
                    .any(|part| ws_dirs.iter().any(|w| w == part))
            })
            .collect();
        let pick = match (hits.as_slice(), in_ws.as_slice()) {
            ([one], _) | (_, [one]) => Some((*one, None)),
            ([first, ..], _) => Some((
                *first,
                Some(format!(
                    "several files match this name ({}); check that this is the right one",
                    hits.iter()
                        .map(|f| f.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            )),
            ([], _) => None,
        };
        if let Some((f, note)) = pick {
            return PbixChoice {
                path: f.path.clone(),
                found: true,
                note,
            };
        }
        let base = if self.placeholder_dir == "." {
            String::new()
        } else {
            format!("{}/", self.placeholder_dir)
        };
        let path = if workspaces.len() > 1 {
            format!("{base}{}/{}.pbix", file_stem(ws), file_stem(item))
        } else {
            format!("{base}{}.pbix", file_stem(item))
        };
        PbixChoice {
            path,
            found: false,
            note: None,
        }
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    seen: &mut usize,
    out: &mut Vec<Found>,
) -> Result<(), CommandError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CommandError::user(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        *seen += 1;
        if *seen > MAX_ENTRIES {
            return Err(CommandError::user(format!(
                "--pbix-dir holds more than {MAX_ENTRIES} entries; point it at the folder with the PBIX files"
            )));
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(root, &path, depth + 1, seen, out)?;
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pbix"))
            && let Some(stem) = path.file_stem()
        {
            out.push(Found {
                stem: stem.to_string_lossy().to_lowercase(),
                path: relative(root, &path),
            });
        }
    }
    Ok(())
}

/// Writes the manifest atomically (temporary file in the same folder, then rename), so an
/// interrupted init never leaves half a manifest.
pub fn write_output(path: &Path, text: &str) -> Result<(), CommandError> {
    let fail =
        |e: std::io::Error| CommandError::user(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pbideploy-init-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(fail)?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_match_by_name_and_the_workspace_folder_breaks_ties() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for f in [
            "pbix/Sales.pbix",
            "pbix/prod/sales.PBIX",
            "pbix/test/Sales.pbix",
            "pbix/A_B.pbix",
            "pbix/x.txt",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let index = PbixIndex::scan(&root, &root.join("pbix")).unwrap();
        let one = vec!["Prod".to_string()];
        let c = index.choose("Prod", "Sales", &one);
        assert_eq!(
            (c.path.as_str(), c.found, c.note),
            ("pbix/prod/sales.PBIX", true, None)
        );
        let c = index.choose("Dev", "Sales", &one);
        assert!(c.found && c.note.is_some(), "{c:?}");
        assert_eq!(index.choose("Prod", "A/B", &one).path, "pbix/A_B.pbix");
        let c = index.choose("Prod", "Missing: one", &one);
        assert_eq!(
            (c.path.as_str(), c.found),
            ("pbix/Missing_ one.pbix", false)
        );
        let two = vec!["Prod".to_string(), "Dev".to_string()];
        assert_eq!(index.choose("Dev", "New", &two).path, "pbix/Dev/New.pbix");
        let outside = tempfile::tempdir().unwrap();
        assert!(PbixIndex::scan(&root, outside.path()).is_err());
    }
}
