//! Checks of the `state:` block: its URL must name a usable backend, so that a typo fails
//! `validate` instead of the first apply.

use super::model::Manifest;
use super::positions::PosMap;
use crate::diagnostics::Diagnostic;
use crate::ledger::azblob::BlobLocation;
use crate::ledger::backend::is_remote;

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
