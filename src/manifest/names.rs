//! Item names may not hold control or invisible characters.
//!
//! A workspace, dataset or report name is shown in the Power BI portal, in logs and in
//! pull-request comments. Control characters (ESC, CR, LF, C1), bidi overrides or zero-width
//! characters (and the other invisible format characters) in one are
//! never legitimate: they would forge lines or hide text wherever the name is printed, and a
//! newline even breaks the import upload half-way through an apply. Every output escapes them
//! anyway (names also come from the service); the manifest refuses them up front.

use unicode_normalization::UnicodeNormalization;

use super::model::Manifest;
use super::positions::PosMap;
use crate::diagnostics::Diagnostic;
use crate::sanitize;

/// The longest workspace, dataset or report name, in characters. Workspaces: documented by
/// the Fabric Create Workspace API ("The display name cannot contain more than 256
/// characters"), the same workspaces Power BI serves. Datasets and reports: no limit is
/// documented for imports; the same 256 is applied (an inference), which also keeps the
/// import URL, which carries the name, far from any URL length limit.
pub const MAX_NAME_CHARS: usize = 256;

/// The identity the service gives a name: it matches workspace, dataset and report names
/// ignoring case, so two names with the same key are the same item to it. Surrounding
/// spaces and the Unicode normalization form (`Café` composed or decomposed) are ignored
/// too: names that differ only by those read the same to every person reviewing a plan.
pub fn name_key(name: &str) -> String {
    let name = name.trim();
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.nfc().collect::<String>().to_lowercase()
}

/// A diagnostic for every workspace, dataset or report name holding such a character.
pub fn check(manifest: &Manifest, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    for (w, ws) in manifest.workspaces.iter().enumerate() {
        let base = format!("/workspaces/{w}");
        check_name("workspace", &ws.name, &base, pos, out);
        for (d, ds) in ws.datasets.iter().enumerate() {
            check_name(
                "dataset",
                &ds.name,
                &format!("{base}/datasets/{d}"),
                pos,
                out,
            );
        }
        for (r, report) in ws.reports.iter().enumerate() {
            check_name(
                "report",
                &report.name,
                &format!("{base}/reports/{r}"),
                pos,
                out,
            );
        }
    }
}

fn check_name(what: &str, name: &str, base: &str, pos: &PosMap, out: &mut Vec<Diagnostic>) {
    if name.trim().is_empty() {
        out.push(
            Diagnostic::new("blank-name", format!("the {what} name is blank"))
                .at(pos.value(&format!("{base}/name")))
                .hint("give it a name with visible characters"),
        );
        return;
    }
    let length = name.chars().count();
    if length > MAX_NAME_CHARS {
        let start: String = name.chars().take(40).collect();
        out.push(
            Diagnostic::new(
                "name-too-long",
                format!(
                    "the {what} name `{}…` has {length} characters; the service takes at most {MAX_NAME_CHARS}",
                    sanitize::text(&start)
                ),
            )
            .at(pos.value(&format!("{base}/name")))
            .hint(format!("shorten it to {MAX_NAME_CHARS} characters or fewer")),
        );
        return;
    }
    let Some((at, c)) = name.char_indices().find(|(_, c)| sanitize::is_escaped(*c)) else {
        return;
    };
    out.push(
        Diagnostic::new(
            "name-control-character",
            format!(
                "{what} name `{}` contains the control or invisible character U+{:04X} at byte {at}",
                sanitize::text(name),
                c as u32
            ),
        )
        .at(pos.value(&format!("{base}/name")))
        .hint("remove it: names are printed in logs, pull-request comments and the Power BI portal"),
    );
}
