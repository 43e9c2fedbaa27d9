//! Secret references. A manifest never holds a secret, only where to find it; `apply` resolves
//! the reference at the last moment into a `SecretString` whose Debug/Display redact.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

/// Where a secret lives: `{env: NAME}` or `{file: path}` (relative paths are made absolute,
/// against the manifest's folder, by `load`).
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable of the process running `apply`.
    Env(#[schemars(length(min = 1))] String),
    /// A file whose whole content (one trailing newline removed) is the secret.
    File(PathBuf),
}

/// Why a secret reference could not be resolved. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("environment variable `{0}` is not valid UTF-8")]
    EnvNotUnicode(String),
    #[error("cannot read secret file `{path}`: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret from {0} is empty")]
    Empty(String),
}

/// Secret files larger than this are refused (a password, key or token is far smaller; a
/// larger file is a wrong path, and reading it whole would cost memory and time).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;

/// A secret file's content with one trailing newline (`\n` or `\r\n`) removed: what plan
/// fingerprints and apply sends must be the same bytes. The file must be a regular file (a
/// FIFO would make plan wait forever) of at most [`MAX_SECRET_FILE_BYTES`].
pub fn read_secret_file(path: &std::path::Path) -> std::io::Result<String> {
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

impl SecretRef {
    /// Reads the secret. Only `apply` calls this; `validate` and `plan` never do.
    pub fn resolve(&self) -> Result<SecretString, SecretError> {
        let value = match self {
            Self::Env(name) => match std::env::var(name) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => {
                    return Err(SecretError::EnvMissing(name.clone()));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SecretError::EnvNotUnicode(name.clone()));
                }
            },
            Self::File(path) => read_secret_file(path).map_err(|source| SecretError::File {
                path: path.clone(),
                source,
            })?,
        };
        if value.is_empty() {
            return Err(SecretError::Empty(self.to_string()));
        }
        Ok(SecretString::from(value))
    }
}

/// Shows where the secret comes from (`env:NAME`, `file:PATH`), never its value.
impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn display_names_the_source_only() {
        assert_eq!(SecretRef::Env("SQL_PW".into()).to_string(), "env:SQL_PW");
        assert_eq!(
            format!("{:?}", SecretRef::File("/run/s".into())),
            "SecretRef(file:/run/s)"
        );
    }

    #[test]
    fn file_secret_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\n").unwrap();
        let secret = SecretRef::File(path).resolve().unwrap();
        assert_eq!(secret.expose_secret(), "hunter2");
    }

    #[test]
    fn oversized_secret_files_are_refused_without_echoing_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let content = "s".repeat(MAX_SECRET_FILE_BYTES as usize + 1);
        std::fs::write(&path, &content).unwrap();
        let err = SecretRef::File(path.clone())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("larger than 64 KiB") && err.contains("big"),
            "{err}"
        );
        assert!(!err.contains("sss"), "{err}");
        std::fs::write(&path, &content[1..]).unwrap();
        assert!(SecretRef::File(path).resolve().is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_secret_file_is_refused_instead_of_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo is needed here");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(SecretRef::File(reader).resolve().map(|_| ()));
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
    fn missing_env_is_an_error_naming_the_variable() {
        let err = SecretRef::Env("PBIDEPLOY_TEST_SURELY_UNSET_42".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("PBIDEPLOY_TEST_SURELY_UNSET_42"));
    }
}
