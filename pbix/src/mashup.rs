//! The `DataMashup` part (Microsoft's open specification MS-QDEFF): the M of legacy files in
//! `Formulas/Section1.m`, and the package metadata saying which queries are loaded as
//! tables and which of them are DirectQuery (the only storage-mode record such files have
//! outside the XPress9 model).

use std::io::Cursor;

use zip::ZipArchive;

use crate::container::{decode_text, read_entry};
use crate::error::{PbixError, malformed};
use crate::limits::Limits;

/// What the mashup says.
#[derive(Debug, Default)]
pub(crate) struct Mashup {
    /// `Formulas/Section1.m` (empty when absent).
    pub section: String,
    /// Queries loaded as tables, with whether each is DirectQuery, in metadata order.
    pub loaded: Vec<(String, bool)>,
}

/// `u32 version | u32 len | package ZIP | u32 len | permissions | u32 len | metadata | ...`.
pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Mashup, PbixError> {
    let bad = |r: &str| malformed("DataMashup", r);
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let len = u32_at(4).ok_or_else(|| bad("shorter than its 8-byte header"))?;
    let inner = bytes
        .get(8..8usize.saturating_add(len))
        .ok_or_else(|| bad("the package length runs past the end of the part"))?;
    let mut zip = ZipArchive::new(Cursor::new(inner))
        .map_err(|e| bad(&format!("the inner package is not a ZIP: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(PbixError::TooManyEntries {
            count: zip.len() as u64,
            limit: limits.max_entries,
        });
    }
    let section = if zip.index_for_name("Formulas/Section1.m").is_some() {
        let m = read_entry(&mut zip, "Formulas/Section1.m", limits.max_small_part_bytes)?;
        decode_text(&m).map_err(|r| malformed("DataMashup/Formulas/Section1.m", r))?
    } else {
        String::new()
    };
    let loaded = metadata_xml(bytes, 8 + len)
        .map(|xml| loaded_queries(&xml))
        .unwrap_or_default();
    Ok(Mashup { section, loaded })
}

/// The `LocalPackageMetadataFile` XML after the package and permissions, if well formed.
fn metadata_xml(bytes: &[u8], permissions_at: usize) -> Option<String> {
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let metadata_at = permissions_at
        .checked_add(4)?
        .checked_add(u32_at(permissions_at)?)?;
    let xml_len = u32_at(metadata_at.checked_add(8)?)?;
    let start = metadata_at.checked_add(12)?;
    let xml = bytes.get(start..start.checked_add(xml_len)?)?;
    decode_text(xml).ok()
}

/// Formula items loaded to the model (`LoadedToAnalysisServices=l1`), and whether each has
/// `IsDirectQuery=l1`. Step items (`Section1/Query/Step`) are skipped.
fn loaded_queries(xml: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for item in xml.split("<Item>").skip(1) {
        if !item.contains("<ItemType>Formula</ItemType>") {
            continue;
        }
        let Some(path) = between(item, "<ItemPath>", "</ItemPath>") else {
            continue;
        };
        let Some(name) = path.strip_prefix("Section1/").filter(|n| !n.contains('/')) else {
            continue;
        };
        let flag = |t: &str| item.contains(&format!("<Entry Type=\"{t}\" Value=\"l1\" />"));
        if flag("LoadedToAnalysisServices") {
            out.push((unescape(name), flag("IsDirectQuery")));
        }
    }
    out
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// Item paths are URL-encoded inside XML (`%20`, `&amp;`).
fn unescape(s: &str) -> String {
    let s = s
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_mashup_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            &[0, 0, 0, 0, 255, 255, 255, 255][..],
            &[0; 12][..],
        ] {
            assert!(read(bytes, &Limits::default()).is_err());
        }
    }

    #[test]
    fn loaded_formulas_and_their_mode() {
        let xml = r#"<Items><Item><ItemLocation><ItemType>AllFormulas</ItemType><ItemPath /></ItemLocation></Item><Item><ItemLocation><ItemType>Formula</ItemType><ItemPath>Section1/Dim%20Date</ItemPath></ItemLocation><StableEntries><Entry Type="IsDirectQuery" Value="l1" /><Entry Type="LoadedToAnalysisServices" Value="l1" /></StableEntries></Item><Item><ItemLocation><ItemType>Formula</ItemType><ItemPath>Section1/Dim%20Date/Step</ItemPath></ItemLocation><StableEntries><Entry Type="LoadedToAnalysisServices" Value="l1" /></StableEntries></Item><Item><ItemLocation><ItemType>Formula</ItemType><ItemPath>Section1/Server</ItemPath></ItemLocation><StableEntries><Entry Type="LoadedToAnalysisServices" Value="l0" /></StableEntries></Item><Item><ItemLocation><ItemType>Formula</ItemType><ItemPath>Section1/Sales</ItemPath></ItemLocation><StableEntries><Entry Type="LoadedToAnalysisServices" Value="l1" /></StableEntries></Item></Items>"#;
        assert_eq!(
            loaded_queries(xml),
            [("Dim Date".to_string(), true), ("Sales".to_string(), false)]
        );
    }
}
