//! Where a secret lives, never the secret: the manifest, the plan file and the ledger all hold
//! a [`SecretRef`]. Reading it is `manifest::secret::resolve`'s job (files and environment are
//! the manifest's concern); this type is shared vocabulary, so it sits below `manifest`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a secret lives: `{env: NAME}` or `{file: path}`. The manifest, the plan file and the
/// ledger all hold this reference, never the value.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable of the process running `apply`.
    Env(#[schemars(length(min = 1))] String),
    /// A file whose whole content (one trailing newline removed) is the secret, relative to
    /// the manifest's folder.
    File(String),
}

/// Shows where the secret comes from (`env:NAME`, `file:PATH`), never its value.
impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SecretRef;

    #[test]
    fn display_names_the_source_only() {
        assert_eq!(SecretRef::Env("SQL_PW".into()).to_string(), "env:SQL_PW");
        assert_eq!(SecretRef::File("s/pw".into()).to_string(), "file:s/pw");
    }
}
