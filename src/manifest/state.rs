//! Checks of the `state:` block: its URL must name a usable backend, so that a typo fails
//! `validate` instead of the first apply.

use super::model::Manifest;
use super::positions::PosMap;
use super::state_location::BlobLocation;
use super::state_location::is_remote;
use crate::diagnostics::Diagnostic;

/// Adds a `state-url` diagnostic when `state.url` is not a valid location.
pub fn check(manifest: &Manifest, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    let Some(state) = &manifest.state else {
        return;
    };
    let url = state.url.trim();
    let problem = if is_remote(url) {
        BlobLocation::parse(url, "pbideploy-state.json").err()
    } else if url.strip_prefix("file:").unwrap_or(url).is_empty() {
        Some("the file path is empty".to_owned())
    } else if url.contains("://") {
        Some(format!(
            "`{}` is neither azblob://, https://, http:// (loopback only) nor a file path",
            crate::powerbi::retry::redact_url(url)
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        out.push(
            Diagnostic::new("state-url", problem)
                .at(pos.value("/state/url"))
                .hint("write `url: azblob://ACCOUNT/CONTAINER/PATH` (or an account URL), or `url: file:PATH`"),
        );
    }
    if state.credential.is_some() && !is_remote(url) {
        out.push(
            Diagnostic::new(
                "state-credential",
                "`state.credential` is set for a local file ledger, which needs none",
            )
            .at(pos.value("/state/credential"))
            .hint("remove `credential`, or point `url` at Azure Blob Storage"),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_environment_replaces_the_state_block_and_variables_interpolate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "apiVersion: pbideploy/v1\nvariables: {acct: contosostate}\n\
             state: {url: 'file:ledgers/m.json'}\n\
             environments:\n  prod:\n    state:\n      url: azblob://${acct}/pbideploy/prod/\n      credential: {file: conn.txt}\n      leaseSeconds: 30\n\
             workspaces: []\n",
        )
        .unwrap();
        let base = crate::manifest::load(&path, None, &[]).unwrap();
        let state = base.state.unwrap();
        assert_eq!(
            state.url,
            format!("file:{}", base.root.join("ledgers/m.json").display()),
            "file: paths are relative to the manifest's folder"
        );
        let prod = crate::manifest::load(&path, Some("prod"), &[]).unwrap();
        let state = prod.state.unwrap();
        assert_eq!(state.url, "azblob://contosostate/pbideploy/prod/");
        assert_eq!(state.lease_seconds, Some(30));
        assert_eq!(
            state.credential,
            Some(crate::domain::secret_ref::SecretRef::File(
                prod.root.join("conn.txt").to_string_lossy().into_owned()
            ))
        );
    }
}
