//! Containment of the files a manifest points at (`pbix:` and `{file: ...}` secrets).
//!
//! Manifests arrive in pull requests, so a path in one is hostile input: `../../etc/shadow`,
//! an absolute path, or a symlink committed into the repository could make `apply` upload a
//! private file as a PBIX or send it to a data source as a password. "The repository" is the
//! manifest's folder tree (not the enclosing git root: a monorepo's other projects are not
//! this manifest's to read). A path is inside when, after `..` and every symlink are resolved,
//! it still lies under that folder.

use std::path::{Component, Path, PathBuf};

/// Where a referenced path ends up once `..` and symlinks are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the root; the canonical path (of the file, or of its deepest existing
    /// ancestor joined with the rest when the file does not exist yet).
    Inside(PathBuf),
    /// Outside the root; where it resolves to.
    Outside(PathBuf),
}

/// Resolves `path` (relative to `root`, or absolute) and says whether it stays inside `root`.
/// A file that does not exist yet (a secret the pipeline writes just
/// before `apply`) is judged by its deepest existing ancestor, so a symlinked folder cannot
/// smuggle it out either.
pub fn resolve_within(root: &Path, path: &Path) -> Resolved {
    let root = &root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let joined = root.join(path);
    let mut existing = joined.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let canonical = loop {
        if let Ok(c) = existing.canonicalize() {
            break c;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // A path ending in `..` under a folder that does not exist: no open can pass
            // through it (the missing folder fails first), so judging it lexically is safe;
            // apply checks again on the real file.
            _ => break normalize(existing),
        }
    };
    let mut full = canonical;
    for name in rest.iter().rev() {
        full.push(name);
    }
    let full = normalize(&full);
    if full.starts_with(root) {
        Resolved::Inside(full)
    } else {
        Resolved::Outside(full)
    }
}

/// A path as the plan shows it: relative to the manifest's folder with `/` separators.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Removes `.` and folds `..` lexically (used only on the part of a path that does not exist,
/// where no symlink can intervene).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_use_forward_slashes() {
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/pbix/a.pbix")),
            "pbix/a.pbix"
        );
        assert_eq!(
            relative(Path::new("/r"), &Path::new("/r").join("./s/pw")),
            "s/pw"
        );
    }

    fn root() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("secrets")).unwrap();
        std::fs::write(root.join("secrets/pw"), "x").unwrap();
        std::fs::write(tmp.path().join("outside"), "x").unwrap();
        let root = root.canonicalize().unwrap();
        (tmp, root)
    }

    #[test]
    fn files_inside_resolve_inside_whether_or_not_they_exist() {
        let (_tmp, root) = root();
        assert_eq!(
            resolve_within(&root, Path::new("secrets/pw")),
            Resolved::Inside(root.join("secrets/pw"))
        );
        assert_eq!(
            resolve_within(&root, Path::new("secrets/../secrets/later")),
            Resolved::Inside(root.join("secrets/later"))
        );
        assert_eq!(
            resolve_within(&root, Path::new("not/yet/there")),
            Resolved::Inside(root.join("not/yet/there"))
        );
    }

    #[test]
    fn traversal_and_absolute_paths_are_outside() {
        let (tmp, root) = root();
        let outside = tmp.path().canonicalize().unwrap().join("outside");
        assert_eq!(
            resolve_within(&root, Path::new("../outside")),
            Resolved::Outside(outside.clone())
        );
        assert_eq!(
            resolve_within(&root, &outside),
            Resolved::Outside(outside.clone())
        );
        assert!(matches!(
            resolve_within(&root, Path::new("missing/../../../../etc/shadow")),
            Resolved::Outside(_)
        ));
        assert!(matches!(
            resolve_within(&root, Path::new("/etc/passwd")),
            Resolved::Outside(_)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_outside_even_for_missing_files() {
        let (tmp, root) = root();
        let target = tmp.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(target.join("outside"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(&target, root.join("dir")).unwrap();
        assert_eq!(
            resolve_within(&root, Path::new("link")),
            Resolved::Outside(target.join("outside"))
        );
        assert_eq!(
            resolve_within(&root, Path::new("dir/not-yet")),
            Resolved::Outside(target.join("not-yet"))
        );
    }
}
