//! The one resolver of secret references ([`SecretRef`], a domain type). A manifest never
//! holds a secret, only where to find it; plan (to fingerprint) and apply (to send) both read
//! it through [`resolve`], so the bytes fingerprinted are the bytes sent. The value lives in a `SecretString` whose
//! Debug/Display redact.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::paths::{Resolved, resolve_within};
use crate::domain::secret_ref::SecretRef;
use crate::env_vars::VarSource;

/// Why a secret reference could not be resolved: names the reference and how to fix it,
/// never the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secret {reference} is not set: export the environment variable {name} before running apply"
    )]
    MissingEnv { reference: SecretRef, name: String },
    #[error("the secret {reference} cannot be read from {}: {source}; create the file or fix the path", path.display())]
    File {
        reference: SecretRef,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the secret {reference} resolves to {}, outside the manifest's folder; keep secret files in the manifest's folder tree (symlinks out of it are refused)",
        resolved.display()
    )]
    OutsideRoot {
        reference: SecretRef,
        resolved: PathBuf,
    },
    #[error("the secret {reference} is empty; give it a value")]
    Empty { reference: SecretRef },
}

/// Secret files larger than this are refused (a password, key or token is far smaller; a
/// larger file is a wrong path, and reading it whole would cost memory and time).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;

/// A secret file's content with one trailing newline (`\n` or `\r\n`) removed. The file must
/// be a regular file (a FIFO would make plan wait forever) of at most
/// [`MAX_SECRET_FILE_BYTES`].
pub(crate) fn read_secret_file(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let bytes = crate::untrusted_file::read_regular(path, MAX_SECRET_FILE_BYTES).map_err(|e| {
        if e.kind() == ErrorKind::FileTooLarge {
            Error::new(
                e.kind(),
                format!("{e}; a secret file holds one password, key or token"),
            )
        } else {
            e
        }
    })?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidData, "it is not UTF-8 text"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Reads the secret `reference` points at: a variable from `env` (an empty one counts as
/// unset), or a file under `root` (the manifest's folder). The file is checked against `root`
/// again here, as it is now: a saved plan file or a symlink planted since load could point
/// elsewhere.
pub fn resolve(
    reference: &SecretRef,
    root: &Path,
    env: &dyn VarSource,
) -> Result<SecretString, SecretError> {
    let value = match reference {
        SecretRef::Env(name) => env.var(name).ok_or_else(|| SecretError::MissingEnv {
            reference: reference.clone(),
            name: name.clone(),
        })?,
        SecretRef::File(path) => {
            let full = match resolve_within(root, Path::new(path)) {
                Resolved::Inside(full) => full,
                Resolved::Outside(resolved) => {
                    return Err(SecretError::OutsideRoot {
                        reference: reference.clone(),
                        resolved,
                    });
                }
            };
            read_secret_file(&full).map_err(|source| SecretError::File {
                reference: reference.clone(),
                path: full,
                source,
            })?
        }
    };
    if value.is_empty() {
        return Err(SecretError::Empty {
            reference: reference.clone(),
        });
    }
    Ok(SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn file(dir: &Path, name: &str) -> Result<SecretString, SecretError> {
        resolve(&SecretRef::File(name.into()), dir, &none)
    }

    #[test]
    fn file_secret_strips_one_newline_only() {
        // One trailing newline goes, the rest is the secret: apply used to strip them all,
        // so a file ending in a blank line planned a rotation after every apply.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "hunter2\n").unwrap();
        assert_eq!(file(dir.path(), "pw").unwrap().expose_secret(), "hunter2");
        std::fs::write(dir.path().join("pw"), "pw\n\r\n").unwrap();
        assert_eq!(file(dir.path(), "pw").unwrap().expose_secret(), "pw\n");
    }

    #[test]
    fn env_secrets_come_from_the_var_source_and_empty_is_unset() {
        let env = |n: &str| (n == "PW").then(|| "s3cret".to_string());
        let got = resolve(&SecretRef::Env("PW".into()), Path::new("."), &env).unwrap();
        assert_eq!(got.expose_secret(), "s3cret");
        let empty = |_: &str| Some(String::new());
        let err = resolve(&SecretRef::Env("PW".into()), Path::new("."), &empty).unwrap_err();
        assert!(matches!(err, SecretError::MissingEnv { .. }), "{err}");
    }

    #[test]
    fn oversized_secret_files_are_refused_without_echoing_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let content = "s".repeat(MAX_SECRET_FILE_BYTES as usize + 1);
        std::fs::write(&path, &content).unwrap();
        let err = file(dir.path(), "big").unwrap_err().to_string();
        assert!(
            err.contains("larger than 64 KiB") && err.contains("big"),
            "{err}"
        );
        assert!(!err.contains("sss"), "{err}");
        std::fs::write(&path, &content[1..]).unwrap();
        assert!(file(dir.path(), "big").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_secret_file_is_refused_instead_of_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo is needed here");
        let (tx, rx) = std::sync::mpsc::channel();
        let root = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(file(&root, "pw").map(|_| ()));
        });
        // Before the fix the read blocked for good; a writer is opened on timeout to free it.
        let result = rx.recv_timeout(std::time::Duration::from_secs(10));
        if result.is_err() {
            let _ = std::fs::OpenOptions::new().write(true).open(&path);
        }
        let err = result.expect("reading a FIFO secret file must not wait");
        let err = err.unwrap_err().to_string();
        assert!(err.contains("FIFO") && err.contains("pw"), "{err}");
    }

    #[test]
    fn missing_env_and_file_name_the_reference() {
        let e = resolve(&SecretRef::Env("NOPE_X".into()), Path::new("."), &none).unwrap_err();
        assert!(e.to_string().contains("env:NOPE_X"), "{e}");
        let e = file(Path::new("/nonexistent"), "no/such/file").unwrap_err();
        assert!(e.to_string().contains("file:no/such/file"), "{e}");
    }

    #[test]
    fn a_secret_file_outside_the_root_is_refused_before_reading() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("repo");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(tmp.path().join("private"), "sentinel-outside").unwrap();
        for path in ["../private", "/etc/passwd"] {
            let e = file(&base, path).unwrap_err();
            assert!(matches!(e, SecretError::OutsideRoot { .. }), "{path}: {e}");
            assert!(
                e.to_string().contains("outside the manifest's folder"),
                "{e}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("private"), base.join("link")).unwrap();
            let e = file(&base, "link").unwrap_err();
            assert!(matches!(e, SecretError::OutsideRoot { .. }), "{e}");
            assert!(!e.to_string().contains("sentinel-outside"), "{e}");
        }
        std::fs::write(base.join("inside"), "ok\n").unwrap();
        assert_eq!(file(&base, "inside").unwrap().expose_secret(), "ok");
    }
}
